// The contract every backend meets: a C++20 concept plus the documentation of each member.
// cordon/none/backend.hpp is the smallest complete backend and the living example of it.
#pragma once

#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cordon {

/// A backend B is a plain class with these members:
///
///  - `static constexpr std::string_view name`: how reports and errors name it ("none",
///    "wasm interpreter", "process").
///  - `using payload = ...`: what a sandbox of this backend runs (a wasm module, a native
///    plugin, a host function, a set of C++ callables for `none`). Copyable or cheap to move;
///    one payload may serve many sandboxes.
///  - `template <class Policy> static constexpr void check_policy()`: called once per policy at
///    compile time by the facade. It static_asserts on every explicit policy element the
///    backend cannot enforce, with a message that names the element and the backend and says
///    what to use instead. Elements a preset sets by default are not rejected: the backend
///    reports them as not enforced (or fails creation when the level requires them).
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
///        `result<R> operator()(Args...)` until the instance is destroyed.
///      * `result<std::vector<std::byte>> call_bytes(std::string_view export_name,
///        std::span<const std::byte> input)`: the bytes-in/bytes-out convention.
///      * optional: `result<std::vector<value>> call_values(std::string_view export_name,
///        std::span<const value> args)`: a call whose signature is known only at run time; the
///        facade offers `call_values` when the backend has it.
///      * `enforcement_report enforcement() const`: which mechanism enforces each element here.
///      * `void cancel() noexcept`: stops a running call from another thread (`timeout`).
///    Every call reports its usage through the context (begin_call / end_call), turns guest
///    faults into error values, and leaves the host intact whatever the guest did.
template <class B, class Policy = policy<isolation::minimal>>
concept backend = requires {
    { B::name } -> std::convertible_to<std::string_view>;
    typename B::payload;
    typename B::template instance<Policy>;
    B::template check_policy<Policy>();
} && requires(typename B::template instance<Policy>& inst, const typename B::template instance<Policy>& cinst,
              const typename B::payload& payload, host::context& ctx, const host::functions& functions,
              std::string_view name, std::span<const std::byte> bytes) {
    {
        B::template instance<Policy>::create(payload, ctx, functions)
    } -> std::same_as<result<typename B::template instance<Policy>>>;
    { inst.template bind<std::int32_t(std::int32_t)>(name) };
    { inst.call_bytes(name, bytes) } -> std::same_as<result<std::vector<std::byte>>>;
    { cinst.enforcement() } -> std::same_as<enforcement_report>;
    { inst.cancel() } noexcept;
};

} // namespace cordon
