// What a sandbox used: per call and cumulative wall time, CPU time, fuel, peak memory, host calls
// by name, violations, restarts. Backends fill it; the facade hands out copies.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <time.h>

namespace cordon {

/// Usage of one call, or the sum over many.
struct usage {
    std::uint64_t calls = 0;
    std::uint64_t wall_ns = 0;
    std::uint64_t cpu_ns = 0;
    std::uint64_t fuel = 0;                 // instructions counted by metering (wasm)
    std::uint64_t peak_memory_bytes = 0;    // the maximum over the calls, not a sum
    std::uint64_t host_calls = 0;
    std::uint64_t violations = 0;
    std::uint64_t errors = 0;               // calls that returned an error of any kind
    std::map<std::string, std::uint64_t, std::less<>> host_calls_by_name{};

    /// Adds one call's usage into a running total.
    usage& operator+=(const usage& call);
};

/// One of usage's counters: the member, and whether a total keeps the maximum over the calls
/// (peak memory) rather than the sum.
struct usage_counter {
    std::uint64_t usage::*member;
    bool is_maximum = false;

    /// The counter's total after adding `call` to `total`.
    [[nodiscard]] constexpr std::uint64_t combine(std::uint64_t total, std::uint64_t call) const noexcept {
        return is_maximum ? (total > call ? total : call) : total + call;
    }
};

/// Every counter of usage (all but the map by name), the one list code walks over them with.
inline constexpr std::array<usage_counter, 8> usage_counters{{
    {&usage::calls},
    {&usage::wall_ns},
    {&usage::cpu_ns},
    {&usage::fuel},
    {&usage::peak_memory_bytes, true},
    {&usage::host_calls},
    {&usage::violations},
    {&usage::errors},
}};

inline usage& usage::operator+=(const usage& call) {
    for (const auto& c : usage_counters) this->*c.member = c.combine(this->*c.member, call.*c.member);
    for (const auto& [name, count] : call.host_calls_by_name) host_calls_by_name[name] += count;
    return *this;
}

/// A sandbox's telemetry: the last call and the total since creation.
struct telemetry {
    usage last_call;
    usage total;
    std::uint64_t restarts = 0;  // guest processes replaced after a crash (process backend)
};

/// The clocks a call is timed with.
namespace clocks {

/// The coarse monotonic clock: about 8 ns a read on this project's VMs against about 40 ns for
/// the precise one, at the kernel tick's resolution (4 ms here). A call shorter than a tick
/// reads as 0 or one tick; since where a call starts within a tick is uniform, the expected
/// reading is its true duration, so totals over many calls stay right.
inline std::uint64_t wall_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// The calling thread's CPU time: a system call (no vDSO), about 400 ns, read only where a cpu
/// limit needs it.
inline std::uint64_t thread_cpu_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace clocks

} // namespace cordon
