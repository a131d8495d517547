// The engine-neutral pieces of one wasm sandbox: how the engine runs (options), the limits it
// applies (derived from the host context), the fuel meter, usage, and the guest memory view.
#pragma once

#include <cordon/detail/bytes.hpp>
#include <cordon/errors.hpp>
#include <cordon/policy/limit.hpp>
#include <cordon/result.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

/// Usage of one call, or summed over all calls.
struct usage {
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds cpu{0};
    std::uint64_t fuel = 0;
    std::uint64_t peak_memory_bytes = 0;
    std::map<std::string, std::uint64_t, std::less<>> host_calls;

    void add(const usage& call) {
        wall += call.wall;
        cpu += call.cpu;
        fuel += call.fuel;
        peak_memory_bytes = std::max(peak_memory_bytes, call.peak_memory_bytes);
        for (const auto& [name, count] : call.host_calls) host_calls[name] += count;
    }
};

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
    /// `cpu_now` is the thread CPU clock at the start, needed only when there is a cpu limit.
    std::int64_t start(const engine_limits& limits, std::uint64_t fuel_slice, std::chrono::steady_clock::time_point wall_now,
                       std::chrono::nanoseconds cpu_now) {
        budget_ = limits.fuel;
        slice_ = fuel_slice;
        wall_deadline_ = limits.wall_time ? std::optional{wall_now + *limits.wall_time} : std::nullopt;
        wall_limit_ = limits.wall_time.value_or(std::chrono::nanoseconds{0});
        cpu_limit_ = limits.cpu_time;
        cpu_start_ = cpu_now;
        handed_out_ = 0;
        return static_cast<std::int64_t>(next_slice());
    }

    /// Called when the fuel global went negative. Returns the new global value, or the limit hit.
    result<std::int64_t> refill(std::int64_t global) {
        if (cancel_requested_.exchange(false, std::memory_order_relaxed))
            return fail(error_kind::timeout, "call cancelled by the host");
        if (budget_ && used(global) > *budget_) return limit_exceeded(limit::kind::fuel, *budget_, used(global));
        if (wall_deadline_) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= *wall_deadline_) {
                const auto spent = now - (*wall_deadline_ - wall_limit_);
                return limit_exceeded(limit::kind::wall_time_ms, milliseconds_of(wall_limit_), milliseconds_of(spent));
            }
        }
        if (cpu_limit_) {
            const auto spent = detail::thread_cpu_now() - cpu_start_;
            if (spent >= *cpu_limit_)
                return limit_exceeded(limit::kind::cpu_time_ms, milliseconds_of(*cpu_limit_), milliseconds_of(spent));
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
    std::optional<std::chrono::steady_clock::time_point> wall_deadline_{};
    std::chrono::nanoseconds wall_limit_{0};
    std::optional<std::chrono::nanoseconds> cpu_limit_{};
    std::chrono::nanoseconds cpu_start_{0};
    std::atomic<bool> cancel_requested_{false};
};

/// Bounds-checked access to a guest's linear memory. Every guest pointer and length goes through
/// here; the sum is checked for overflow before the comparison.
class guest_memory {
public:
    guest_memory() = default;
    guest_memory(std::uint8_t* data, std::uint64_t size) : data_{data}, size_{size} {}

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    [[nodiscard]] bool valid(std::uint64_t offset, std::uint64_t length) const noexcept {
        return data_ != nullptr && offset <= size_ && length <= size_ - offset;
    }
    /// The guest's bytes [offset, offset+length); the caller copies before checking contents.
    result<std::span<std::uint8_t>> bytes(std::uint64_t offset, std::uint64_t length) const {
        if (!valid(offset, length))
            return fail(error_kind::trap, "out of bounds memory access by the host on behalf of the guest: [" +
                                              std::to_string(offset) + ", +" + std::to_string(length) +
                                              ") outside " + std::to_string(size_) + " bytes");
        return std::span<std::uint8_t>{data_ + offset, static_cast<std::size_t>(length)};
    }
    result<std::string> copy_string(std::uint64_t offset, std::uint64_t length, std::uint64_t cap) const {
        if (length > cap)
            return fail(error_kind::invalid_argument, "string of " + std::to_string(length) +
                                                          " bytes is longer than the limit of " + std::to_string(cap));
        auto view = bytes(offset, length);
        if (!view) return view.error();
        return std::string(reinterpret_cast<const char*>(view->data()), view->size());
    }
    result<std::uint32_t> load_u32(std::uint64_t offset) const {
        auto view = bytes(offset, 4);
        if (!view) return view.error();
        std::uint32_t v;
        std::memcpy(&v, view->data(), 4);
        return v;
    }
    result<void> store_u32(std::uint64_t offset, std::uint32_t v) const {
        auto view = bytes(offset, 4);
        if (!view) return view.error();
        std::memcpy(view->data(), &v, 4);
        return {};
    }
    result<void> store_u64(std::uint64_t offset, std::uint64_t v) const {
        auto view = bytes(offset, 8);
        if (!view) return view.error();
        std::memcpy(view->data(), &v, 8);
        return {};
    }
    result<void> store(std::uint64_t offset, std::span<const std::uint8_t> from) const {
        auto view = bytes(offset, from.size());
        if (!view) return view.error();
        cordon::detail::copy_bytes(view->data(), from.data(), from.size());
        return {};
    }

private:
    std::uint8_t* data_ = nullptr;
    std::uint64_t size_ = 0;
};

} // namespace cordon::wasm
