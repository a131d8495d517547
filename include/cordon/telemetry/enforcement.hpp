// The enforcement report: for each policy element, the mechanism that enforces it on this machine
// ("memory: cgroup v1 memory.limit_in_bytes"), or that nothing does and why.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace cordon {

enum class enforcement_level : std::uint8_t {
    enforced,      // a mechanism stops the guest at the limit
    best_effort,   // a weaker mechanism than the level asks for, accepted by best_effort
    not_enforced,  // nothing enforces it (the none backend, or a limit without a mechanism)
};

constexpr std::string_view to_string(enforcement_level l) noexcept {
    switch (l) {
    case enforcement_level::enforced: return "enforced";
    case enforcement_level::best_effort: return "best effort";
    case enforcement_level::not_enforced: return "not enforced";
    }
    return "unknown";
}

struct enforcement_entry {
    std::string element;    // "memory", "cpu_time", "fs", "net", "syscalls", "permissions", ...
    std::string mechanism;  // "cgroup v1 memory.limit_in_bytes", "landlock ABI 7", "fuel slices"
    enforcement_level level = enforcement_level::enforced;
};

struct enforcement_report {
    std::string backend;
    std::vector<enforcement_entry> entries;

    void add(std::string element, std::string mechanism, enforcement_level level = enforcement_level::enforced) {
        entries.push_back({std::move(element), std::move(mechanism), level});
    }
    [[nodiscard]] const enforcement_entry* find(std::string_view element) const noexcept {
        auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.element == element; });
        return it == entries.end() ? nullptr : &*it;
    }
};

} // namespace cordon
