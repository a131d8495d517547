// What every wasm engine does around a guest call, written once: the call's usage reset in
// place, the clocks a limit or telemetry needs, the fuel meter armed; afterwards the call
// accounted and its end decided (a clean return, proc_exit, a limit the guest ran into, a host
// function's error, a memory limit behind a refused grow, or the trap itself). And the calling
// conventions built on an engine's typed call: bytes in/bytes out and WASI's _start.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/trap.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon::wasm {

namespace detail {

/// The error for a call whose values do not match the export's signature.
inline error arguments_mismatch(std::string_view name, const signature& sig, std::span<const value> args) {
    signature given;
    for (const auto& a : args) given.params.push_back(a.type);
    given.results = sig.results;
    return signature_mismatch(name, to_string(sig), to_string(given));
}

/// The error for a typed call whose C++ signature is not the export's.
inline error called_as_mismatch(std::string_view name, const signature& sig, const signature& expected) {
    return signature_mismatch(name, to_string(sig), to_string(expected));
}

} // namespace detail

/// The engine-neutral bookkeeping of one call at a time.
class call_accounting {
public:
    /// Starts a call; returns the value the engine stores in the fuel global. `timed`: read the
    /// clocks telemetry asks for (limits read theirs regardless).
    /// Brings the engine's limits and scopes up to date first (a refresh after the first never
    /// fails: a scope that cannot be opened leaves the old set, see sandbox_state::refresh).
    std::int64_t begin(sandbox_state& state, bool timed = true) {
        (void)state.refresh();
        // Reset in place: the last call's containers keep their storage for the next one.
        usage& u = state.current;
        u.wall = u.cpu = std::chrono::nanoseconds{0};
        u.fuel = u.peak_memory_bytes = 0;
        if (!u.host_calls.empty()) u.host_calls.clear();
        state.pending.reset();
        state.limit_hit.reset();
        state.exit_code.reset();
        grow_failed = false;
        // Clocks only where telemetry asks for them or a limit needs them: under a cpu limit the
        // meter reads the thread CPU clock (a system call) when a slice runs out, not here.
        const engine_limits& limits = state.limits();
        measuring_wall_ = timed && state.options.measure_wall;
        measuring_cpu_ = timed && state.options.measure_cpu;
        const bool deadline = limits.wall_time.has_value() || limits.cpu_time.has_value();
        wall_start_ = measuring_wall_ || deadline ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        cpu_start_ = measuring_cpu_ ? detail::thread_cpu_now() : std::chrono::nanoseconds{0};
        return state.meter.start(limits, state.options.fuel_slice, wall_start_,
                                 measuring_cpu_ ? std::optional{cpu_start_} : std::nullopt);
    }

    /// Accounts the finished call; `fuel_global` is the fuel global's value now.
    void end(sandbox_state& state, std::int64_t fuel_global, std::uint64_t memory_bytes) {
        usage& u = state.current;
        u.wall = measuring_wall_ ? std::chrono::steady_clock::now() - wall_start_ : std::chrono::nanoseconds{0};
        // Without the thread CPU clock, a call is charged its wall time (the none backend does the
        // same): one thread cannot use more CPU than the time that passed. A call the meter read
        // the clock for (a cpu limit and at least one slice) has its CPU time measured.
        const auto metered_cpu = state.meter.cpu_start();
        u.cpu_measured = measuring_cpu_ || metered_cpu.has_value();
        u.cpu = measuring_cpu_ ? detail::thread_cpu_now() - cpu_start_
                : metered_cpu ? detail::thread_cpu_now() - *metered_cpu
                              : u.wall;
        u.fuel = state.meter.used(fuel_global);
        u.peak_memory_bytes = memory_bytes;
        state.total.add(u);
        state.meter.clear_cancel();
    }

    /// How the call ended. `trapped`: the guest unwound (`reason` says why, `engine_detail` is
    /// the engine's own words for a reason cordon does not know); `fault(kind, info)` makes the
    /// error with the engine's backtrace.
    template <class Fault>
    result<void> outcome(sandbox_state& state, const module& source, std::string_view name, bool trapped,
                         trap_reason reason, std::string_view engine_detail, std::uint64_t memory_bytes,
                         Fault&& fault) const {
        if (!trapped) {
            // The guest got an error code and went on; the call still ends as the limit it hit.
            if (state.limit_hit)
                return detail::make_call_error(state.limit_hit->kind(), state.limit_hit->info(), source, std::nullopt, name);
            return {};
        }
        if (state.exit_code) return {};  // proc_exit: a clean end, not a fault
        if (state.pending) {
            const error pending = *std::exchange(state.pending, std::nullopt);
            return fault(pending.kind(), pending.info());
        }
        if (grow_failed) {
            // The guest asked for memory past the limit, was refused, and then faulted.
            const error e = limit_exceeded(limit::kind::memory, state.limits().memory_bytes, memory_bytes,
                                           "(memory.grow refused), then: " + std::string(to_string(reason)));
            return fault(e.kind(), e.info());
        }
        error_info info{std::string(to_string(reason)) +
                        (reason == trap_reason::other && !engine_detail.empty() ? " (" + std::string(engine_detail) + ")" : "")};
        return fault(error_kind::trap, std::move(info));
    }

    /// Set by the engine when the guest's memory.grow was refused during this call.
    bool grow_failed = false;

private:
    std::chrono::steady_clock::time_point wall_start_{};
    std::chrono::nanoseconds cpu_start_{0};
    bool measuring_cpu_ = true;
    bool measuring_wall_ = true;
};

/// The calling conventions every engine offers on top of its typed call, and the accessors of
/// its sandbox state. `Engine` provides `call<Fn>(name, args...)` and `state()`.
template <class Engine> class guest_conventions {
public:
    /// Bytes in, bytes out: the input is readable with cordon_input_read (or stdin), the output
    /// is what the guest writes with cordon_output_write. The export has type () -> i32 and
    /// returns 0 on success.
    result<std::vector<std::uint8_t>> call_bytes(std::string_view name, std::span<const std::uint8_t> input) {
        sandbox_state& state = self().state();
        state.call_input.assign(input.begin(), input.end());
        state.call_output.clear();
        auto status = self().template call<std::int32_t()>(name);
        state.call_input.clear();
        if (!status) return status.error();
        if (*status != 0)
            return fail(error_kind::trap, "export " + std::string(name) + " returned status " + std::to_string(*status));
        return std::exchange(state.call_output, {});
    }

    /// Runs a WASI command's `_start`; a proc_exit gives its code, returning normally gives 0.
    result<int> run_start(std::span<const std::uint8_t> stdin_bytes = {}) {
        sandbox_state& state = self().state();
        state.call_input.assign(stdin_bytes.begin(), stdin_bytes.end());
        auto done = self().template call<void()>("_start");
        state.call_input.clear();
        if (!done) return done.error();
        return state.exit_code.value_or(0);
    }

    /// Thread-safe: the running call stops at its next metering point with `timeout`.
    void cancel() noexcept { self().state().meter.cancel(); }

    [[nodiscard]] const usage& last_call() const noexcept { return self().state().current; }
    [[nodiscard]] const usage& total() const noexcept { return self().state().total; }

private:
    Engine& self() noexcept { return static_cast<Engine&>(*this); }
    const Engine& self() const noexcept { return static_cast<const Engine&>(*this); }
};

} // namespace cordon::wasm
