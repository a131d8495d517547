// The fuel meter of one wasm sandbox: slices handed to the metered module, and at each slice's
// end the checks of cancel(), the wall and CPU deadlines and the exact fuel budget. The thread
// CPU clock is a system call; it is read only when the wall time since its last reading could
// have used up what is left of the CPU budget, a few times per limited call, not once per slice.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/engine_config.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <algorithm>
#include <optional>

namespace cordon::wasm {

namespace detail {

inline std::chrono::nanoseconds thread_cpu_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

} // namespace detail

/// The fuel meter of one sandbox. The metered module decrements a fuel global; when it goes
/// negative the engine calls refill(), which checks cancel, deadlines and the budget and hands
/// out the next slice.
class fuel_meter {
public:
    /// Arms the meter for a new call; returns the value to store in the fuel global.
    /// `wall_now` is the steady clock at the start, needed only with a wall or cpu limit;
    /// `cpu_now` the thread CPU clock, if the caller read it. Under a cpu limit without it, the
    /// meter reads that clock (a system call) first when a slice runs out: a call that ends
    /// within its first slice never pays for it.
    std::int64_t start(const engine_limits& limits, std::uint64_t fuel_slice, std::chrono::steady_clock::time_point wall_now,
                       std::optional<std::chrono::nanoseconds> cpu_now) {
        budget_ = limits.fuel;
        slice_ = fuel_slice;
        wall_start_ = wall_now;
        wall_deadline_ = limits.wall_time ? std::optional{wall_now + *limits.wall_time} : std::nullopt;
        wall_limit_ = limits.wall_time.value_or(std::chrono::nanoseconds{0});
        cpu_limit_ = limits.cpu_time;
        cpu_start_ = cpu_now;
        // One thread uses at most the wall time that passes: with the start known, nothing can
        // have reached the limit before wall_now + limit.
        next_cpu_reading_ = cpu_now && cpu_limit_ ? wall_now + *cpu_limit_ : wall_now;
        cpu_readings_ = 0;
        handed_out_ = 0;
        return static_cast<std::int64_t>(next_slice());
    }

    /// The thread CPU clock's reading at the call's start, where the meter knows it (read by the
    /// caller, or estimated at the first slice's end).
    [[nodiscard]] std::optional<std::chrono::nanoseconds> cpu_start() const noexcept { return cpu_start_; }

    /// Called when the fuel global went negative. Returns the new global value, or the limit hit.
    result<std::int64_t> refill(std::int64_t global) {
        if (cancel_requested_.exchange(false, std::memory_order_relaxed))
            return fail(error_kind::timeout, "call cancelled by the host");
        if (budget_ && used(global) > *budget_) return limit_exceeded(limit::kind::fuel, *budget_, used(global));
        if (wall_deadline_ || cpu_limit_) {
            const auto now = std::chrono::steady_clock::now();  // no system call (vDSO)
            if (wall_deadline_ && now >= *wall_deadline_) {
                const auto spent = now - (*wall_deadline_ - wall_limit_);
                return limit_exceeded(limit::kind::wall_time_ms, milliseconds_of(wall_limit_), milliseconds_of(spent));
            }
            if (cpu_limit_ && now >= next_cpu_reading_) {
                const auto cpu_now = detail::thread_cpu_now();
                ++cpu_readings_;
                // First read in this call: until now the thread used at most the wall time that
                // passed, so counting that much holds the limit (and errs towards stopping sooner).
                if (!cpu_start_) cpu_start_ = cpu_now - std::min(cpu_now, std::chrono::nanoseconds{now - wall_start_});
                const auto spent = cpu_now - *cpu_start_;
                if (spent >= *cpu_limit_)
                    return limit_exceeded(limit::kind::cpu_time_ms, milliseconds_of(*cpu_limit_), milliseconds_of(spent));
                // The rest of the budget takes at least as long again in wall time.
                next_cpu_reading_ = now + (*cpu_limit_ - spent);
            }
        }
        // A budget is exact: the last slice is only as large as what is left of it.
        const std::uint64_t slice = next_slice_after(global);
        if (slice == 0) return limit_exceeded(limit::kind::fuel, *budget_, used(global) + 1);  // used == budget, more asked
        return global + static_cast<std::int64_t>(slice);
    }

    /// Fuel used by the current call, given the global's value now.
    [[nodiscard]] std::uint64_t used(std::int64_t global) const noexcept {
        return handed_out_ - static_cast<std::uint64_t>(global);
    }

    /// How often the current (or last) call read the thread CPU clock for its cpu limit.
    [[nodiscard]] std::uint32_t cpu_readings() const noexcept { return cpu_readings_; }

    /// Thread-safe: the running call stops at its next metering point with `timeout`.
    void cancel() noexcept { cancel_requested_.store(true, std::memory_order_relaxed); }
    void clear_cancel() noexcept { cancel_requested_.store(false, std::memory_order_relaxed); }

private:
    static std::uint64_t milliseconds_of(std::chrono::nanoseconds d) noexcept {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    }
    std::uint64_t next_slice() {
        std::uint64_t slice = slice_;
        if (budget_) slice = std::min(slice, *budget_ - std::min(*budget_, handed_out_));
        handed_out_ += slice;
        return slice;
    }
    std::uint64_t next_slice_after(std::int64_t global) {
        // A negative global is fuel already spent past the slice; it stays on the account.
        std::uint64_t slice = slice_;
        if (budget_) {
            const std::uint64_t spent = used(global);
            slice = spent >= *budget_ ? 0 : std::min(slice, *budget_ - spent);
        }
        handed_out_ += slice;
        return slice;
    }

    std::optional<std::uint64_t> budget_{};
    std::uint64_t slice_ = 1u << 16;
    std::uint64_t handed_out_ = 0;
    std::chrono::steady_clock::time_point wall_start_{};
    std::optional<std::chrono::steady_clock::time_point> wall_deadline_{};
    std::chrono::nanoseconds wall_limit_{0};
    std::optional<std::chrono::nanoseconds> cpu_limit_{};
    std::optional<std::chrono::nanoseconds> cpu_start_{};
    std::chrono::steady_clock::time_point next_cpu_reading_{};  // no CPU clock reading before this
    std::uint32_t cpu_readings_ = 0;
    std::atomic<bool> cancel_requested_{false};
};

} // namespace cordon::wasm
