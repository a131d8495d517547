// A host function a guest may import: module, name, wasm signature, the permission it needs and
// an engine-neutral callback. Also how an embedding program registers its own with a C++ signature.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/runtime.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/types.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace cordon::wasm {

/// What a host function sees of the call: the caller's memory and its sandbox.
struct host_call {
    guest_memory memory;
    sandbox_state& state;
};

/// Returning an error stops the guest (a trap carrying that error's kind). Guest-level
/// failures, such as a missing file, are return values instead.
using host_callback = std::function<result<void>(host_call&, std::span<const value>, std::span<value>)>;

struct host_function {
    std::string module;
    std::string name;
    signature sig;
    /// The permission the function needs: outside the ceiling, an import of it is refused at
    /// load; inside but not granted, a call returns `denied_result` and records a violation.
    std::optional<std::string> permission{};
    host_callback callback;
    std::int64_t denied_result = -1;
    /// The permission only decides linking; the function itself gives an ungranted caller a
    /// harmless answer (WASI's environ: an empty environment, as programs expect).
    bool grant_checked_inside = false;
    /// The permission's id in the linked sandbox (built-in kinds have theirs from the start; a
    /// user-defined kind gets its sandbox's when the module links).
    std::optional<perm::id> permission_id = permission ? perm::builtin_id(*permission) : std::nullopt;

    [[nodiscard]] std::string qualified_name() const { return module + "." + name; }

    /// A host function from a C++ callable with signature R(Args...) (numbers only: guest
    /// pointers are std::uint32_t offsets). The callable may take `host_call&` first, and may
    /// return R or result<R>.
    template <class Fn, class Callable>
    static host_function make(std::string module, std::string name, std::optional<std::string> permission,
                              Callable callable) {
        using traits = host::signature_traits<Fn>;
        host_function f{std::move(module), std::move(name), host::signature_of<Fn>(), std::move(permission), {}, -1, false};
        f.callback = [callable = std::move(callable)](host_call& call, std::span<const value> params,
                                                      std::span<value> results) -> result<void> {
            return invoke<typename traits::ret>(callable, call, params, results,
                                                static_cast<typename traits::args*>(nullptr));
        };
        return f;
    }

private:
    template <class R, class Callable, class... Args>
    static result<void> invoke(Callable& callable, host_call& call, std::span<const value> params,
                               std::span<value> results, std::tuple<Args...>*) {
        return invoke_indexed<R, Args...>(callable, call, params, results, std::index_sequence_for<Args...>{});
    }
    template <class R, class... Args, class Callable, std::size_t... I>
    static result<void> invoke_indexed(Callable& callable, host_call& call, std::span<const value> params,
                                       std::span<value> results, std::index_sequence<I...>) {
        auto run = [&]() -> decltype(auto) {
            if constexpr (std::is_invocable_v<Callable&, host_call&, Args...>)
                return callable(call, params[I].template as<std::remove_cvref_t<Args>>()...);
            else
                return callable(params[I].template as<std::remove_cvref_t<Args>>()...);
        };
        using returned = decltype(run());
        if constexpr (std::is_void_v<returned>) {
            run();
            return {};
        } else if constexpr (cordon::detail::is_result<returned>::value) {
            auto r = run();
            if (!r) return r.error();
            if constexpr (!std::is_void_v<R>) results[0] = value::of<R>(*r);
            return {};
        } else {
            results[0] = value::of<R>(run());
            return {};
        }
    }
};

} // namespace cordon::wasm
