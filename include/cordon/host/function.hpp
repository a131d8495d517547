// Host functions the embedding program offers its guests, each tagged with the permission it
// needs and a C++ signature from which the boundary signature is derived.
#pragma once

#include <cordon/host/context.hpp>
#include <cordon/host/value.hpp>
#include <cordon/policy/permission.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon::host {

/// For host functions that need no permission (pure helpers the host wants to share).
struct no_permission {
    static constexpr std::string_view name = "";
};

/// Calls the host function with boundary values; writes results. The permission is already checked.
using invoker = std::function<result<void>(context&, std::span<const value>, std::span<value>)>;

/// One host function: where guests find it (module, name), what it needs, its boundary signature.
struct function_entry {
    std::string module;
    std::string name;
    std::string permission;  // "" when it needs none
    signature sig;
    invoker call;
    /// The permission's id in the sandbox that holds this entry: numbered by the sandbox when it
    /// is made (whatever was here before), so a call's grant check is a bit test.
    std::optional<perm::id> permission_id{};
};

namespace detail {
template <class R> struct unwrap_result { using type = R; };
template <class T> struct unwrap_result<result<T>> { using type = T; };
template <class R> inline constexpr bool is_result_type = cordon::detail::is_result<R>::value;

template <class F> struct callable_traits : callable_traits<decltype(&F::operator())> {};
template <class R, class... A> struct callable_traits<R (*)(A...)> {
    using ret = R;
    using args = std::tuple<A...>;
};
template <class C, class R, class... A> struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A> struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};


template <class R> std::vector<value_type> result_types() {
    if constexpr (std::is_void_v<R>) return {};
    else return {value_type_of<R>()};
}
template <class... A> std::vector<value_type> param_types(std::tuple<A...>*) { return {value_type_of<std::remove_cvref_t<A>>()...}; }

/// Calls f with boundary values unpacked into A..., passing `first` (a host::context, a guest
/// handle, ...) ahead of them when f takes it; stores a non-void result in out[0].
template <class R, class F, class First, class... A, std::size_t... I>
result<void> invoke(F& f, First& first, std::span<const value> in, std::span<value> out, std::tuple<A...>*,
                    std::index_sequence<I...>) {
    auto call = [&]() -> decltype(auto) {
        if constexpr (std::is_invocable_v<F&, First&, A...>) return f(first, in[I].template as<std::remove_cvref_t<A>>()...);
        else return f(in[I].template as<std::remove_cvref_t<A>>()...);
    };
    if constexpr (std::is_void_v<R>) {
        call();
    } else if constexpr (is_result_type<R>) {
        auto r = call();
        if (!r) return r.error();
        if constexpr (!std::is_void_v<typename R::value_type>) out[0] = value::of(*r);
    } else {
        out[0] = value::of(call());
    }
    return {};
}

/// Drops a leading `First&` parameter from a callable's argument list.
template <class First, class Tuple> struct drop_first { using type = Tuple; };
template <class First, class... A> struct drop_first<First, std::tuple<First&, A...>> { using type = std::tuple<A...>; };
} // namespace detail

/// Makes a host function: host::function<my_ui_perm>("show_dialog", [](context&, int32_t id) { ... }).
/// The callable may take `context&` first; it may return a boundary type, void, or result<T> to
/// report an error (which stops the guest's call with that error).
template <class Perm = no_permission, class F>
function_entry function(std::string name, F f, std::string module = "host") {
    using traits = detail::callable_traits<std::decay_t<F>>;
    using args = typename detail::drop_first<context, typename traits::args>::type;
    using ret = typename traits::ret;
    using plain_ret = typename detail::unwrap_result<ret>::type;
    signature sig{detail::param_types(static_cast<args*>(nullptr)), detail::result_types<plain_ret>()};
    invoker call = [f = std::move(f), qualified = module + "." + name](context& ctx, std::span<const value> in,
                                                                       std::span<value> out) mutable -> result<void> {
#if defined(__cpp_exceptions)
        // An exception must not unwind through an engine's frames (compiled guest code has no
        // unwind tables) or a broker's loop: it ends the guest's call as the host's error.
        try {
            return detail::invoke<ret>(f, ctx, in, out, static_cast<args*>(nullptr),
                                       std::make_index_sequence<std::tuple_size_v<args>>{});
        } catch (const std::exception& e) {
            return fail(error_kind::internal, "host function " + qualified + " threw: " + e.what());
        } catch (...) {
            return fail(error_kind::internal, "host function " + qualified + " threw an exception");
        }
#else
        return detail::invoke<ret>(f, ctx, in, out, static_cast<args*>(nullptr),
                                   std::make_index_sequence<std::tuple_size_v<args>>{});
#endif
    };
    return {std::move(module), std::move(name), std::string(Perm::name), std::move(sig), std::move(call)};
}

/// The host functions offered to one sandbox.
using functions = std::vector<function_entry>;

} // namespace cordon::host
