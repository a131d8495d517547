// What a sandbox used: per call and cumulative wall time, CPU time, fuel, peak memory, host calls
// by name, violations, restarts. Backends fill it; the facade hands out copies.
#pragma once

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
    usage& operator+=(const usage& call) {
        calls += call.calls;
        wall_ns += call.wall_ns;
        cpu_ns += call.cpu_ns;
        fuel += call.fuel;
        peak_memory_bytes = peak_memory_bytes > call.peak_memory_bytes ? peak_memory_bytes : call.peak_memory_bytes;
        host_calls += call.host_calls;
        violations += call.violations;
        errors += call.errors;
        for (const auto& [name, count] : call.host_calls_by_name) host_calls_by_name[name] += count;
        return *this;
    }
};

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
