// The contract every backend meets: a C++20 concept plus the documentation of each member.
// cordon/none/backend.hpp is the smallest complete backend and the living example of it.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace cordon {

/// What one call through a backend used, as far as the backend measured it. The facade times
/// the call itself; a backend fills in only what it gets from its mechanism.
struct call_usage {
    std::optional<std::uint64_t> wall_ns{};  // when the backend timed the call itself (a child's run)
    std::optional<std::uint64_t> cpu_ns{};   // when the backend read it (its cpu limit, or for free)
    std::uint64_t fuel = 0;                  // instructions counted by metering
    std::uint64_t peak_memory_bytes = 0;
};

/// What a backend returns for one call: the guest's result or fault, and the call's usage.
template <class T> struct call_outcome {
    result<T> value;
    call_usage used{};
};

/// A backend B is a plain class with these members:
///
///  - `static constexpr std::string_view name`: how reports and errors name it ("none",
///    "wasm interpreter", "process").
///  - `static constexpr bool stops_running_calls`: whether the backend's mechanism interrupts a
///    call at its deadline and at cancel() (fuel slices, killing a child). When false, the
///    facade checks the time limits after the call and the guest sees cancel() only by polling
///    `host::context::cancelled()`.
///  - `using payload = ...`: what a sandbox of this backend runs (a wasm module, a native
///    plugin, a host function, a set of C++ callables for `none`). Copyable or cheap to move;
///    one payload may serve many sandboxes.
///  - `static constexpr std::array<capability, N> capabilities`: what the backend enforces,
///    one row per element (see cordon/backend/capabilities.hpp): the mechanism's wording, the
///    level, when the report shows it, and for an element it cannot enforce what to use
///    instead. Every limit kind has a row. The facade derives from it both the compile-time
///    rejection (a refused element set explicitly by the policy fails to compile, naming the
///    element, the backend and the alternative) and the enforcement report. Elements a preset
///    sets by default are not rejected: the report shows them as not enforced (or creation
///    fails when the level requires them).
///  - `template <class Policy> class instance`: one live sandbox. Only the code paths for
///    permissions inside Policy's ceiling need be instantiated. Members:
///      * `static result<instance> create(const payload&, host::context&, const host::functions&)`:
///        load, link and instantiate. Imports needing a permission outside the ceiling fail with
///        `denied`; malformed payloads with `load_error`; a mechanism the level requires that
///        this machine lacks with `unsupported` (unless the policy is best_effort). The context
///        outlives the instance; its runtime policy holds the grants and limits to apply.
///      * `template <class Sig> result<bound_function<Sig>> bind(std::string_view export_name)`:
///        resolves an export once and checks it against Sig (a C++ function type over int32_t,
///        uint32_t, int64_t, uint64_t, float, double, bool). A mismatch is `invalid_argument`
///        naming both signatures. The bound function is callable as
///        `call_outcome<R> operator()(Args...)` until the instance is destroyed, and stays
///        valid when the instance is moved.
///      * `call_outcome<std::vector<std::byte>> call_bytes(std::string_view export_name,
///        std::span<const std::byte> input)`: the bytes-in/bytes-out convention.
///      * optional: `call_outcome<std::vector<value>> call_values(std::string_view export_name,
///        std::span<const value> args)`: a call whose signature is known only at run time; the
///        facade offers `call_values` when the backend has it. Likewise `run_main(...)` returning
///        `call_outcome<int>`: a program's main, offered as `sandbox::run_main`.
///      * optional: `std::vector<enforcement_entry> enforcement_facts() const`: what only the
///        live instance knows (a landlock ABI, a cgroup version, a clamp it applied); each fact
///        replaces its element's row in the report (a fact without wording keeps the row's).
///      * `void cancel() noexcept`: stops a running call from another thread, if the mechanism
///        can; the facade ends a call during which cancel() was called as `timeout` either way.
///    A call does only the backend's mechanism: it runs the guest, turns guest faults into error
///    values, leaves the host intact whatever the guest did, and hands guest requests (host
///    calls, output, violations) to the context. The facade does the rest of the protocol
///    around every call, bound functions included: begin_call, the clocks, cancel, time limits
///    a backend cannot interrupt, pending errors (violations, output floods) and end_call.
template <class B, class Policy = policy<isolation::minimal>>
concept backend = requires {
    { B::name } -> std::convertible_to<std::string_view>;
    { B::stops_running_calls } -> std::convertible_to<bool>;
    typename B::payload;
    typename B::template instance<Policy>;
    { B::capabilities[0] } -> std::convertible_to<capability>;
} && requires(typename B::template instance<Policy>& inst,
              const typename B::payload& payload, host::context& ctx, const host::functions& functions,
              std::string_view name, std::span<const std::byte> bytes) {
    {
        B::template instance<Policy>::create(payload, ctx, functions)
    } -> std::same_as<result<typename B::template instance<Policy>>>;
    { inst.template bind<std::int32_t(std::int32_t)>(name) };
    { (*inst.template bind<std::int32_t(std::int32_t)>(name))(std::int32_t{}) } -> std::same_as<call_outcome<std::int32_t>>;
    { inst.call_bytes(name, bytes) } -> std::same_as<call_outcome<std::vector<std::byte>>>;
    { inst.cancel() } noexcept;
};

} // namespace cordon
