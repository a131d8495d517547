// What a payload kind of the conformance suite can express, one flag per case family, with the
// reason when it cannot: the suite skips by these flags, never by a test's name.
#pragma once

#include <cordon/sandbox.hpp>

#include <string>
#include <string_view>

namespace cordon::conformance {

/// Whether a kind can express a family of cases. A known gap is behaviour the contract promises
/// and this kind does not deliver yet: the case is written with the real expectation, and
/// flipping the flag is all the fix must do.
struct capability {
    bool supported = true;
    std::string_view reason{};
    bool known_gap = false;
};

inline constexpr capability yes{};
constexpr capability cannot(std::string_view why) { return {false, why, false}; }
// Built with CORDON_CONFORMANCE_RUN_KNOWN_GAPS, the known gaps run: a fix shows which it closed.
#ifdef CORDON_CONFORMANCE_RUN_KNOWN_GAPS
constexpr capability known_gap(std::string_view why) { return {true, why, true}; }
#else
constexpr capability known_gap(std::string_view why) { return {false, why, true}; }
#endif

inline std::string skip_reason(std::string_view kind, const capability& c) {
    return std::string(c.known_gap ? "known gap on " : "not expressible on ") + std::string(kind) + ": " +
           std::string(c.reason);
}

/// Which of its payloads a case needs: a wasm module's imports must link under the case's
/// policy, so the behaviours that import more live in modules of their own.
enum class part {
    main,           // calls, limits, the cordon host API
    environment,    // reads GREETING from the environment (wasm: WASI's environ calls)
    host_functions, // calls the host's app.mix and app.beep
    bus,            // calls plugin "echo" and emits "seen" on the plugin bus
};

/// Every flag a kind may turn off; a kind derives from this and shadows what differs.
struct expressible {
    static constexpr capability typed_calls = yes; // call<Sig>, function<Sig>
    static constexpr capability call_values = yes; // the facade's call_values
    static constexpr capability interrupts = yes;  // stops a running guest (cpu, wall)
    static constexpr capability cancel = yes;      // cancel() ends a running call as timeout
    static constexpr capability memory_limit = yes;
    static constexpr capability fuel = yes;
    static constexpr capability open_files = yes;
    static constexpr capability call_depth = yes;
    static constexpr capability processes = yes;
    static constexpr capability host_api = yes; // clock, random, config, log, output through cordon's host API
    static constexpr capability environment = yes;
    static constexpr capability files = yes; // fs_read / fs_write scopes
    static constexpr capability system = yes;
    static constexpr capability host_functions = yes; // host::function<P> through sandbox_options
    static constexpr capability bus = yes;            // cordon_bus_call / cordon_bus_emit to an attached host::bus
    static constexpr capability open_ceiling = yes; // a preset's open ceiling admits unlisted custom kinds at run time
    static constexpr capability refuses_reentry = yes;   // a host function cannot call back into its sandbox
    static constexpr capability trap_stops_guest = yes;  // violation_action::trap stops the guest at once
    static constexpr capability record_keeps_call = yes; // violation_action::record leaves the call's result alone
};

} // namespace cordon::conformance
