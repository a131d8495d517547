// The enforcement report: for each policy element, the mechanism that enforces it on this machine
// ("memory: cgroup v1 memory.limit_in_bytes"), or that nothing does and why.
#pragma once

#include <cordon/policy/limit.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
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

/// What a report speaks of: the policy's permission kinds and limits, and the mechanisms that
/// stand between the guest and the host. The keys of a backend's capability table.
enum class element : std::uint8_t {
    // how the guest is separated from the host
    isolation,
    permissions,  // grant checks in general, user-defined permissions and host functions
    syscalls,
    namespaces,
    root,
    ipc,
    stack,
    two_layers,
    // permission kinds (fs stands for fs.read and fs.write)
    fs,
    net,
    process,
    clock,
    random,
    env,
    system,
    plugin,
    // limits, one per limit::kind
    memory,
    cpu_time,
    wall_time,
    fuel,
    open_files,
    processes,
    net_connections,
    output_bytes,
    call_depth,
};

/// The name reports, the CLI's JSON and its text output use.
constexpr std::string_view to_string(element e) noexcept {
    switch (e) {
    case element::isolation: return "isolation";
    case element::permissions: return "permissions";
    case element::syscalls: return "syscalls";
    case element::namespaces: return "namespaces";
    case element::root: return "root";
    case element::ipc: return "ipc";
    case element::stack: return "stack";
    case element::two_layers: return "two_layers";
    case element::fs: return "fs";
    case element::net: return "net";
    case element::process: return "process";
    case element::clock: return "clock";
    case element::random: return "random";
    case element::env: return "env";
    case element::system: return "system";
    case element::plugin: return "plugin";
    case element::memory: return limit::name(limit::kind::memory);
    case element::cpu_time: return limit::name(limit::kind::cpu_time_ms);
    case element::wall_time: return limit::name(limit::kind::wall_time_ms);
    case element::fuel: return limit::name(limit::kind::fuel);
    case element::open_files: return limit::name(limit::kind::open_files);
    case element::processes: return limit::name(limit::kind::processes);
    case element::net_connections: return limit::name(limit::kind::net_connections);
    case element::output_bytes: return limit::name(limit::kind::output_bytes);
    case element::call_depth: return limit::name(limit::kind::call_depth);
    }
    return "unknown";
}

/// The element that stands for a limit in reports and capability tables.
constexpr element element_of(limit::kind k) noexcept {
    switch (k) {
    case limit::kind::memory: return element::memory;
    case limit::kind::cpu_time_ms: return element::cpu_time;
    case limit::kind::wall_time_ms: return element::wall_time;
    case limit::kind::fuel: return element::fuel;
    case limit::kind::open_files: return element::open_files;
    case limit::kind::processes: return element::processes;
    case limit::kind::net_connections: return element::net_connections;
    case limit::kind::output_bytes: return element::output_bytes;
    case limit::kind::call_depth: return element::call_depth;
    }
    return element::memory;
}

/// The limit an element stands for, if it is one.
constexpr std::optional<limit::kind> limit_kind_of(element e) noexcept {
    for (auto k : limit::all_kinds)
        if (element_of(k) == e) return k;
    return std::nullopt;
}

struct enforcement_entry {
    cordon::element element = element::isolation;
    std::string mechanism;  // "cgroup v1 memory.limit_in_bytes", "landlock ABI 7", "fuel slices"
    enforcement_level level = enforcement_level::enforced;
};

struct enforcement_report {
    std::string backend;
    std::vector<enforcement_entry> entries;

    void add(cordon::element e, std::string mechanism, enforcement_level level = enforcement_level::enforced) {
        entries.push_back({e, std::move(mechanism), level});
    }
    [[nodiscard]] const enforcement_entry* find(cordon::element e) const noexcept {
        auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& x) { return x.element == e; });
        return it == entries.end() ? nullptr : &*it;
    }
    /// By the element's printed name ("memory", "fs"), for reports read back from text or JSON.
    [[nodiscard]] const enforcement_entry* find(std::string_view name) const noexcept {
        auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& x) { return to_string(x.element) == name; });
        return it == entries.end() ? nullptr : &*it;
    }
};

} // namespace cordon
