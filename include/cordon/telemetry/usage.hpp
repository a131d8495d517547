// What a sandbox used: per call and cumulative wall time, CPU time, fuel, peak memory, host calls
// by name, violations, restarts. Backends fill it; the facade hands out copies.
#pragma once

#include <chrono>
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

/// Wall and thread-CPU stopwatch for in-process backends. Each clock is read only if asked for:
/// the thread CPU clock is a system call, far dearer than a small guest call.
class stopwatch {
public:
    explicit stopwatch(bool wall = true, bool cpu = true) noexcept
        : wall_{wall}, cpu_{cpu}, wall_start_{wall ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}},
          cpu_start_{cpu ? thread_cpu_ns() : 0} {}

    /// Nanoseconds since start, or 0 when the wall clock is not read.
    [[nodiscard]] std::uint64_t wall_ns() const noexcept {
        if (!wall_) return 0;
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wall_start_).count());
    }
    /// Thread CPU nanoseconds since start, or 0 when the CPU clock is not read.
    [[nodiscard]] std::uint64_t cpu_ns() const noexcept { return cpu_ ? thread_cpu_ns() - cpu_start_ : 0; }

    static std::uint64_t thread_cpu_ns() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
    }

private:
    bool wall_;
    bool cpu_;
    std::chrono::steady_clock::time_point wall_start_;
    std::uint64_t cpu_start_;
};

} // namespace cordon
