// The reference backend: runs C++ callables as the "guest" through the same API as every other
// backend, with no isolation at all. It documents the contract and is the overhead baseline.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/backend/concept.hpp>
#include <cordon/errors.hpp>
#include <cordon/host/api.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/host/value.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon::none {

/// What guest code sees: the host API of its sandbox, checked against the sandbox's grants
/// exactly as a wasm or process guest's requests are. (The guest is trusted C++ here, so these
/// checks show behaviour, not isolation.)
class guest {
public:
    guest(host::context& ctx, const host::functions& functions) noexcept : ctx_{&ctx}, functions_{&functions} {}

    result<void> log(log_level level, std::string_view message) { return host::api::log(*ctx_, level, message); }
    result<void> write(std::string_view bytes) { return host::api::write(*ctx_, host::stream::out, bytes); }
    result<std::uint64_t> clock_ns(host::api::clock_id id = host::api::clock_id::monotonic) {
        return host::api::clock_ns(*ctx_, id);
    }
    result<void> random(std::span<std::byte> out) { return host::api::random(*ctx_, out); }
    result<std::optional<std::string>> env(std::string_view name) { return host::api::env_get(*ctx_, name); }
    result<std::optional<std::string>> config(std::string_view key) { return host::api::config_get(*ctx_, key); }
    /// The plugin bus (perm::plugin): another plugin's answer to `target` ("PLUGIN/FUNCTION").
    result<std::vector<std::byte>> bus_call(std::string_view target, std::span<const std::byte> input) {
        return host::api::bus_call(*ctx_, target, input);
    }
    result<void> bus_emit(std::string_view topic, std::span<const std::byte> data) {
        return host::api::bus_emit(*ctx_, topic, data);
    }

    /// Calls a host function the embedding program registered, by name, with its permission checked.
    template <class Sig, class... Args> auto call_host(std::string_view name, Args... args) {
        using R = typename host::signature_traits<Sig>::ret;
        using out_t = result<R>;
        const auto* fn = find(name);
        if (!fn) return out_t{fail(error_kind::invalid_argument, "no host function named " + std::string(name))};
        if (fn->sig != host::signature_of<Sig>())
            return out_t{signature_mismatch(name, host::to_string(fn->sig), host::to_string(host::signature_of<Sig>()),
                                            "host function")};
        ctx_->count_host_call(name);
        if (auto r = host::api::check_registered(*ctx_, *fn, fn->module + "." + fn->name); !r) return out_t{r.error()};
        std::array<value, sizeof...(Args)> in{value::of(static_cast<Args>(args))...};
        std::array<value, 1> result_slot{};
        if (auto r = fn->call(*ctx_, in, std::span<value>(result_slot.data(), fn->sig.results.size())); !r)
            return out_t{r.error()};
        if constexpr (std::is_void_v<R>) return out_t{};
        else return out_t{result_slot[0].template as<R>()};
    }

    [[nodiscard]] host::context& context() noexcept { return *ctx_; }

private:
    [[nodiscard]] const host::function_entry* find(std::string_view name) const {
        for (const auto& f : *functions_)
            if (f.name == name) return &f;
        return nullptr;
    }
    host::context* ctx_;
    const host::functions* functions_;
};

/// The payload of the none backend: named C++ callables standing in for a guest's exports.
/// A callable may take `guest&` first, then boundary types; it returns a boundary type, void, or
/// result<T> (an error it returns is the call's error, as a trap would be).
class program {
public:
    struct entry {
        host::signature sig;
        std::function<result<void>(guest&, std::span<const value>, std::span<value>)> call;
    };
    using bytes_fn = std::function<result<std::vector<std::byte>>(guest&, std::span<const std::byte>)>;

    template <class F> program& export_function(std::string name, F f) {
        exports_[std::move(name)] = make_entry(std::move(f));
        return *this;
    }
    /// A bytes-in/bytes-out export.
    program& export_bytes(std::string name, bytes_fn f) {
        bytes_exports_[std::move(name)] = std::move(f);
        return *this;
    }

    [[nodiscard]] const entry* find(std::string_view name) const {
        auto it = exports_.find(name);
        return it == exports_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] const bytes_fn* find_bytes(std::string_view name) const {
        auto it = bytes_exports_.find(name);
        return it == bytes_exports_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] std::vector<host::export_description> describe() const {
        std::vector<host::export_description> out;
        for (const auto& [name, e] : exports_) out.push_back({name, e.sig, false});
        for (const auto& [name, f] : bytes_exports_) out.push_back({name, std::nullopt, true});
        return out;
    }

private:
    template <class F> static entry make_entry(F f) {
        using traits = host::detail::callable_traits<std::decay_t<F>>;
        using all_args = typename traits::args;
        using args = typename host::detail::drop_first<guest, all_args>::type;
        using R = typename traits::ret;
        using plain = typename host::detail::unwrap_result<R>::type;
        host::signature sig{host::detail::param_types(static_cast<args*>(nullptr)), host::detail::result_types<plain>()};
        auto call = [f = std::move(f)](guest& g, std::span<const value> in, std::span<value> out) mutable {
            return host::detail::invoke<R>(f, g, in, out, static_cast<args*>(nullptr),
                                           std::make_index_sequence<std::tuple_size_v<args>>{});
        };
        return {std::move(sig), std::move(call)};
    }
    std::map<std::string, entry, std::less<>> exports_;
    std::map<std::string, bytes_fn, std::less<>> bytes_exports_;
};

/// The none backend. It enforces what the host API checks (grants, output caps) and measures
/// time after each call; it cannot interrupt, count instructions or account memory.
struct backend {
    static constexpr std::string_view name = "none";
    using payload = program;

    /// What this backend enforces and how (see cordon/backend/capabilities.hpp). The host API
    /// checks grants and caps output; the guest is trusted C++, so the checks show behaviour,
    /// not isolation, and nothing interrupts, counts instructions or accounts memory.
    static constexpr std::array capabilities{
        enforces(element::isolation, "none: the guest is C++ running in the host process", enforcement_level::not_enforced),
        enforces(element::permissions, "host API checks (guest code could bypass them)", enforcement_level::best_effort),
        refuses(element::memory, "none: guest code shares the host's heap", instead::a_wasm_or_process_backend),
        limits(element::cpu_time, "measured after the call; cannot interrupt", enforcement_level::best_effort),
        limits(element::wall_time, "measured after the call; cannot interrupt", enforcement_level::best_effort),
        refuses(element::fuel, "none: a C++ guest counts no instructions", instead::a_wasm_backend_or_wall_time_ms),
        refuses(element::open_files, "none: the guest opens files through the host's own descriptors",
                instead::a_wasm_or_process_backend),
        refuses(element::processes, "none: the guest runs in the host's process", instead::process_backend),
        refuses(element::net_connections, "none: the guest uses the host's sockets", instead::process_backend),
        limits(element::output_bytes, "host API output cap"),
        refuses(element::call_depth, "none: native calls are not counted", instead::a_wasm_backend),
    };

    /// It cannot stop a running callable: the facade checks time limits after the call, and the
    /// guest sees cancel() by polling its context.
    static constexpr bool stops_running_calls = false;

    /// What a call needs, by stable pointers: bound functions outlive moves of the sandbox.
    struct session {
        std::shared_ptr<const none::program> code;
        host::context* context;
        const host::functions* functions;

        /// Runs a callable as the guest. The whole mechanism of this backend: the facade does
        /// the call's bookkeeping, and none measures nothing the facade does not.
        template <class T, class F> call_outcome<T> run(F&& body) const {
            guest g{*context, *functions};
            return {body(g), {}};
        }
    };

    template <class Policy> class instance {
    public:
        /// A resolved export: calling it converts arguments, runs the callable, measures it.
        template <class Sig> class bound_function;
        template <class R, class... Args> class bound_function<R(Args...)> {
        public:
            bound_function(session s, const program::entry* e) noexcept : session_{std::move(s)}, entry_{e} {}
            call_outcome<R> operator()(Args... args) const {
                return session_.template run<R>([&](guest& g) -> result<R> {
                    const std::array<value, sizeof...(Args)> in{value::of(args)...};
                    std::array<value, 1> out{};
                    auto r = entry_->call(g, in, std::span<value>(out.data(), entry_->sig.results.size()));
                    if (!r) return r.error();
                    if constexpr (std::is_void_v<R>) return {};
                    else return out[0].template as<R>();
                });
            }

        private:
            session session_;
            const program::entry* entry_;
        };

        static result<instance> create(const program& p, host::context& ctx, const host::functions& functions) {
            return instance{session{std::make_shared<const program>(p), &ctx, &functions}};
        }

        [[nodiscard]] std::optional<std::vector<host::export_description>> describe_exports() const {
            return session_.code->describe();
        }

        template <class Sig> result<bound_function<Sig>> bind(std::string_view name) {
            const auto* e = session_.code->find(name);
            if (!e) return no_export(name, session_.code->find_bytes(name) ? "it takes bytes; use call_bytes" : "");
            const auto wanted = host::signature_of<Sig>();
            if (e->sig != wanted) return signature_mismatch(name, host::to_string(e->sig), host::to_string(wanted));
            return bound_function<Sig>{session_, e};
        }

        call_outcome<std::vector<value>> call_values(std::string_view name, std::span<const value> args) {
            const auto* e = session_.code->find(name);
            if (!e) return {no_export(name, session_.code->find_bytes(name) ? "it takes bytes; use call_bytes" : "")};
            host::signature given{{}, e->sig.results};
            for (const auto& a : args) given.params.push_back(a.type);
            if (given.params != e->sig.params)
                return {signature_mismatch(name, host::to_string(e->sig), host::to_string(given))};
            return session_.template run<std::vector<value>>([&](guest& g) -> result<std::vector<value>> {
                std::vector<value> out(e->sig.results.size());
                if (auto r = e->call(g, args, out); !r) return r.error();
                return out;
            });
        }

        call_outcome<std::vector<std::byte>> call_bytes(std::string_view name, std::span<const std::byte> input) {
            const auto* f = session_.code->find_bytes(name);
            if (!f) return {no_export(name, session_.code->find(name) ? "it is typed; use call" : "")};
            return session_.template run<std::vector<std::byte>>([&](guest& g) { return (*f)(g, input); });
        }

        /// A C++ guest cannot be interrupted; it sees context().cancelled(), and the facade ends the
        /// call as timeout whatever the guest returns.
        void cancel() noexcept {}

    private:
        explicit instance(session s) noexcept : session_{std::move(s)} {}
        session session_;
    };
};

} // namespace cordon::none
