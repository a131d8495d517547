// What a function payload calls, inside its sandboxed child, to reach a host function the host
// registered with the sandbox (host::function<P>): brokered over the channel, grant checked by the host.
#pragma once

#include <cordon/host/function.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/host/value.hpp>
#include <cordon/process/guest_table.hpp>
#include <cordon/result.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cordon::process {

namespace detail {

inline error refusal(std::string_view module, std::string_view name, std::int32_t status) {
    const std::string what = "host function " + std::string(module) + "." + std::string(name);
    switch (status) {
    case host::guest_status::denied: return {error_kind::denied, what + " refused: its permission is not granted"};
    case host::guest_status::not_found: return {error_kind::invalid_argument, what + " is not registered"};
    case host::guest_status::unsupported: return {error_kind::unsupported, what + " called outside a sandboxed call"};
    default: return {error_kind::invalid_argument, what + " refused with status " + std::to_string(status)};
    }
}

template <class Sig> struct host_call_of;
template <class R, class... P> struct host_call_of<R(P...)> {
    static_assert(sizeof...(P) <= broker::max_host_values, "a host function takes at most 16 values");

    static result<R> call(std::string_view module, std::string_view name, P... args) {
        // One slot more than the arguments: a function of none still has an array to point into.
        const std::array<value, sizeof...(P) + 1> in{value::of(args)..., value{}};
        std::array<value, 1> out{};
        if constexpr (!std::is_void_v<R>) out[0].type = value_type_of<R>();
        const auto status = guest::call_host_values(module, name, std::span{in}.first(sizeof...(P)),
                                                    std::span{out}.first(std::is_void_v<R> ? 0 : 1));
        if (status != host::guest_status::ok) return refusal(module, name, status);
        if constexpr (std::is_void_v<R>) return {};
        else return out[0].template as<R>();
    }
};

} // namespace detail

/// Calls the host function module.name from inside a function payload's call, as the C++
/// signature `Sig` (the host checks it against the function's); the arguments convert to its
/// parameter types:
///   call_host<std::int64_t(std::int32_t, std::int64_t)>("app", "mix", 3, 10)
/// A refusal comes back as an error: `denied` without the function's permission (a violation is
/// recorded with the host), `invalid_argument` for no such function or another signature (the
/// payload's call then ends with the host's error saying which), `unsupported` outside a
/// sandboxed call. Under violation_action::trap a refusal stops the child instead, as does an
/// error the host function returns.
template <class Sig, class... Args>
result<typename host::signature_traits<Sig>::ret> call_host(std::string_view module, std::string_view name,
                                                            Args&&... args) {
    return detail::host_call_of<Sig>::call(module, name, std::forward<Args>(args)...);
}

} // namespace cordon::process
