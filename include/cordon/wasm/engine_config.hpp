// How a wasm engine runs (engine_options), the limits it applies in its own units (derived
// from the host context, never set by hand), the directories a guest reaches, and usage.
#pragma once

#include <cordon/policy/limit.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon::wasm {

/// A directory the guest may reach through WASI, from an fs.read or fs.write grant's scope.
/// The guest sees it under its host path, so messages and configuration agree.
struct preopen {
    std::filesystem::path host_path;
    std::string guest_path;  // what the guest sees
    bool writable = false;

    friend bool operator==(const preopen&, const preopen&) = default;
};

/// How an engine runs, as opposed to what it allows (which the host context holds and the
/// engine only reads, see host::policy_view).
struct engine_options {
    std::vector<std::string> args;                // argv for WASI programs; args[0] is the program name
    std::uint32_t max_table_elements = 100'000;
    std::uint64_t fuel_slice = 1u << 16;          // instructions between host checks
    /// Measure each call's thread CPU time for telemetry. Reading that clock is a system call
    /// (no vDSO), which dominates a short call; hosts that make millions of tiny calls may turn
    /// it off, and the call is then charged its wall time as CPU time. A cpu_time limit reads
    /// the clock regardless.
    bool measure_cpu = true;
    /// The same for the wall clock (cheaper, about 35-75 ns a read here); a wall_time limit reads it regardless.
    bool measure_wall = true;
};

/// The limits in force, in the units the engines apply them. Derived from the host context's
/// runtime policy whenever its generation changes; never set by hand.
struct engine_limits {
    std::uint64_t memory_bytes = std::uint64_t{64} << 20;
    std::optional<std::uint64_t> fuel{};                      // total budget per call, exact
    std::optional<std::chrono::nanoseconds> cpu_time{};       // per call, thread CPU clock
    std::optional<std::chrono::nanoseconds> wall_time{};      // per call
    /// Nested guest calls; none: bounded by the engine's own stack only (WABT's call stack, or
    /// the thread's stack for compiled code, whose overflow traps as `call stack exhausted`).
    std::optional<std::uint32_t> call_depth{};
    std::uint32_t open_files = 16;

    static engine_limits from(const limit_set& limits) {
        using limit::kind;
        engine_limits out;
        auto ms = [&](kind k) -> std::optional<std::chrono::nanoseconds> {
            if (auto v = limits.get(k)) return std::chrono::milliseconds{*v};
            return std::nullopt;
        };
        if (auto v = limits.get(kind::memory)) out.memory_bytes = *v;
        out.fuel = limits.get(kind::fuel);
        out.cpu_time = ms(kind::cpu_time_ms);
        out.wall_time = ms(kind::wall_time_ms);
        if (auto v = limits.get(kind::call_depth)) out.call_depth = static_cast<std::uint32_t>(std::min<std::uint64_t>(*v, 1u << 30));
        if (auto v = limits.get(kind::open_files)) out.open_files = static_cast<std::uint32_t>(std::min<std::uint64_t>(*v, 1u << 20));
        return out;
    }
    /// The depth counter's limit: call_depth, or no limit a 32-bit counter can reach.
    [[nodiscard]] std::int32_t depth_limit() const noexcept {
        return static_cast<std::int32_t>(std::min<std::uint32_t>(call_depth.value_or(0x7fff'ffff), 0x7fff'ffff));
    }
};

/// How often each host function a module imports was called: one counter per import slot, so
/// counting a host call is an increment, with no name compared or allocated on the call path.
/// Names (string views into the linked host functions) are read only when the counts are.
class call_counts {
public:
    /// One slot per function import, in import order (link_plan's).
    void name_slots(std::vector<std::string_view> names) {
        names_ = std::move(names);
        by_slot_.assign(names_.size(), 0);
        touched_.clear();
    }
    void count(std::size_t slot, std::uint64_t times = 1) {
        if (by_slot_[slot] == 0) touched_.push_back(static_cast<std::uint32_t>(slot));
        by_slot_[slot] += times;
    }
    /// Adds another call's counts (of the same module's slots).
    void add(const call_counts& other) {
        for (const auto slot : other.touched_) count(slot, other.by_slot_[slot]);
    }
    void clear() noexcept {
        for (const auto slot : touched_) by_slot_[slot] = 0;
        touched_.clear();
    }
    [[nodiscard]] bool empty() const noexcept { return touched_.empty(); }
    /// Calls of the functions named `name` (a module may import one twice).
    [[nodiscard]] std::uint64_t of(std::string_view name) const noexcept {
        std::uint64_t n = 0;
        for (const auto slot : touched_)
            if (names_[slot] == name) n += by_slot_[slot];
        return n;
    }
    [[nodiscard]] bool contains(std::string_view name) const noexcept { return of(name) != 0; }
    /// As std::map::at: throws std::out_of_range for a function not called.
    [[nodiscard]] std::uint64_t at(std::string_view name) const {
        if (!contains(name)) throw std::out_of_range("no calls of host function " + std::string(name));
        return of(name);
    }
    /// Calls `f(name, count)` for every function called, in the order first called.
    template <class F> void for_each(F&& f) const {
        for (const auto slot : touched_) f(names_[slot], by_slot_[slot]);
    }

private:
    std::vector<std::string_view> names_;
    std::vector<std::uint64_t> by_slot_;
    std::vector<std::uint32_t> touched_;
};

/// Usage of one call, or summed over all calls.
struct usage {
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds cpu{0};
    std::uint64_t fuel = 0;
    std::uint64_t peak_memory_bytes = 0;
    bool cpu_measured = false;  // cpu is from the thread CPU clock, not the wall time charged as CPU
    call_counts host_calls;

    void add(const usage& call) {
        wall += call.wall;
        cpu += call.cpu;
        fuel += call.fuel;
        peak_memory_bytes = std::max(peak_memory_bytes, call.peak_memory_bytes);
        host_calls.add(call.host_calls);
    }
};

} // namespace cordon::wasm
