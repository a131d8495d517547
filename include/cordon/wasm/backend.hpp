// The wasm backends for sandbox<Backend, Policy>: the engine-neutral adapter from the core's
// host context and runtime policy to a wasm engine (aliases: wasm/interpreter_backend.hpp, wasm/compiled.hpp).
#pragma once

#include <cordon/detail/bytes.hpp>
#include <cordon/backend/capabilities.hpp>
#include <cordon/backend/concept.hpp>
#include <cordon/errors.hpp>
#include <cordon/host/api.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>
#include <cordon/wasm/engine_common.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/types.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

namespace detail {

inline value_type to_wasm(cordon::value_type t) {
    switch (t) {
    case cordon::value_type::i32: return value_type::i32;
    case cordon::value_type::i64: return value_type::i64;
    case cordon::value_type::f32: return value_type::f32;
    case cordon::value_type::f64: return value_type::f64;
    }
    return value_type::i32;
}

inline cordon::value to_core(const value& v) {
    switch (v.type) {
    case value_type::i64: return cordon::value::of(v.i64);
    case value_type::f32: return cordon::value::of(v.f32);
    case value_type::f64: return cordon::value::of(v.f64);
    default: return cordon::value::of(v.i32);
    }
}

inline value from_core(const cordon::value& v) {
    switch (v.type) {
    case cordon::value_type::i64: return value::of_i64(v.as<std::int64_t>());
    case cordon::value_type::f32: return value::of_f32(v.as<float>());
    case cordon::value_type::f64: return value::of_f64(v.as<double>());
    default: return value::of_i32(v.as<std::int32_t>());
    }
}

/// The host functions the embedding program registered, as wasm imports. They run with the
/// sandbox's host context; their permission was already checked by the linker and call_host.
inline std::vector<host_function> adapt_functions(const host::functions& functions, host::context& ctx) {
    std::vector<host_function> out;
    for (const host::function_entry& entry : functions) {
        signature sig;
        for (auto t : entry.sig.params) sig.params.push_back(to_wasm(t));
        for (auto t : entry.sig.results) sig.results.push_back(to_wasm(t));
        const host::function_entry* source = &entry;
        out.push_back(host_function{
            entry.module, entry.name, std::move(sig),
            entry.permission.empty() ? std::nullopt : std::optional<std::string>{entry.permission},
            [source, context = &ctx](host_call&, std::span<const value> params, std::span<value> results) -> result<void> {
                std::vector<cordon::value> in(params.size());
                std::vector<cordon::value> out_values(results.size());
                for (std::size_t i = 0; i < params.size(); ++i) in[i] = to_core(params[i]);
                if (auto r = source->call(*context, in, out_values); !r) return r;
                for (std::size_t i = 0; i < results.size(); ++i) results[i] = from_core(out_values[i]);
                return {};
            },
            -1, false});
    }
    return out;
}

/// Applies the runtime policy (grants, scopes, limits) to an engine's configuration.
inline void apply_policy(const runtime_policy& policy, sandbox_config& config, bool with_scopes) {
    const policy_spec& spec = policy.spec();
    config.ceiling.clear();
    for (const ceiling_entry& entry : spec.ceiling) config.ceiling.insert(entry.name);
    config.granted.clear();
    if (with_scopes) config.preopens.clear();
    for (const grant_entry& grant : policy.grants()) {
        config.granted.insert(grant.name);
        if (!with_scopes || !grant.scope || (grant.name != "fs.read" && grant.name != "fs.write")) continue;
        // The guest sees a scope under its host path, so messages and configuration agree.
        const bool writable = grant.name == "fs.write";
        auto same = std::find_if(config.preopens.begin(), config.preopens.end(),
                                 [&](const preopen& p) { return p.guest_path == *grant.scope; });
        if (same != config.preopens.end()) same->writable |= writable;
        else config.preopens.push_back({*grant.scope, *grant.scope, writable});
    }
    const limit_set limits = policy.limits();
    using limit::kind;
    if (auto v = limits.get(kind::memory)) config.memory_bytes = *v;
    config.fuel = limits.get(kind::fuel);
    config.cpu_time = limits.get(kind::cpu_time_ms)
                          ? std::optional<std::chrono::nanoseconds>{std::chrono::milliseconds{*limits.get(kind::cpu_time_ms)}}
                          : std::nullopt;
    config.wall_time = limits.get(kind::wall_time_ms)
                           ? std::optional<std::chrono::nanoseconds>{std::chrono::milliseconds{*limits.get(kind::wall_time_ms)}}
                           : std::nullopt;
    config.call_depth = limits.get(kind::call_depth)
                            ? std::optional{static_cast<std::uint32_t>(std::min<std::uint64_t>(*limits.get(kind::call_depth), 1u << 30))}
                            : std::nullopt;
    if (auto v = limits.get(kind::open_files)) config.open_files = static_cast<std::uint32_t>(std::min<std::uint64_t>(*v, 1u << 20));
    config.output_bytes = limits.get(kind::output_bytes).value_or(std::uint64_t{16} << 20);
}

} // namespace detail

/// A wasm backend over an engine (interpreter_engine, compiled_engine).
template <class Engine> struct basic_backend {
    static constexpr std::string_view name = Engine::backend_name;
    /// Fuel slices check the deadline and cancel() while the guest runs.
    static constexpr bool stops_running_calls = true;
    using payload = module;

    /// What the wasm backends enforce and how (see cordon/backend/capabilities.hpp): the engine's
    /// rows (isolation, memory, stack) and those every engine shares.
    static constexpr auto capabilities = join(Engine::capabilities, std::array{
        enforces(element::permissions, "imports linked by ceiling at load; runtime grant checked on each host call"),
        enforces(element::fs, "scopes opened as directories; paths resolved with openat2(RESOLVE_BENEATH)"),
        enforces(element::net, "no network API offered to wasm guests"),
        enforces(element::process, "no process API offered to wasm guests"),
        enforces(element::clock, "host import; the grant is checked on each call"),
        enforces(element::random, "host import; the grant is checked on each call"),
        enforces(element::env, "host import; the grant is checked on each call"),
        enforces(element::cpu_time, "fuel slices: counters at function entries and loop headers, thread CPU clock checked per slice"),
        enforces(element::wall_time, "fuel slices: steady clock checked per slice; cancel() flag"),
        enforces(element::fuel, "injected counters, exact and deterministic"),
        enforces(element::open_files, "host-side handle table"),
        refuses(element::processes, "a wasm guest cannot start processes at all", instead::dropping_it_or_process_backend),
        refuses(element::net_connections, "no network API offered to count", instead::dropping_it_or_process_backend),
        enforces(element::output_bytes, "host-side capture with a cap"),
        limits(element::call_depth, "injected depth counter"),
        enforces(element::two_layers, "not available in process; one layer only", enforcement_level::best_effort,
                 shown::when_observed),
    });
    template <class Policy> class instance {
        using engine_instance = typename Engine::instance;

        /// What a call needs, behind stable pointers: bound functions survive moves of the sandbox.
        struct session {
            std::unique_ptr<engine_instance> engine;
            host::context* context = nullptr;
            std::uint64_t generation = ~std::uint64_t{0};

            /// Runs one engine call with the policy brought up to date, and hands what the guest
            /// did to the context; the facade does the call's bookkeeping around it.
            template <class T, class Run> call_outcome<T> run(Run&& body) {
                if (context->policy().generation() != generation) {
                    sync_policy();
                    generation = context->policy().generation();
                }
                engine->state().config.stop_on_violation = context->on_violation == violation_action::trap;
                result<T> outcome = body(*engine);
                report();
                const usage& used = engine->last_call();
                call_usage measured;
                // The engine reads the thread CPU clock only for a cpu limit; then it is free here.
                if (engine->state().config.cpu_time) measured.cpu_ns = static_cast<std::uint64_t>(used.cpu.count());
                measured.fuel = used.fuel;
                measured.peak_memory_bytes = used.peak_memory_bytes;
                return {std::move(outcome), measured};
            }

            /// Brings grants, limits and filesystem scopes up to date with the runtime policy.
            /// New or revoked scopes take effect while the guest holds no open files; until
            /// then the old set stays, so a handle never outlives the directory it came from.
            void sync_policy() {
                sandbox_state& state = engine->state();
                const std::vector<preopen> before = state.config.preopens;
                detail::apply_policy(context->policy(), state.config, /*with_scopes=*/true);
                if (state.config.preopens == before) return;
                if (state.handles.opened() != 0 || !state.open_preopens()) {
                    state.config.preopens = before;
                    (void)state.open_preopens();
                }
            }

            /// Hands what the guest wrote, called and was refused to the host context.
            void report() {
                sandbox_state& state = engine->state();
                if (!state.stdout_text.empty()) (void)context->write(host::stream::out, std::exchange(state.stdout_text, {}));
                if (!state.stderr_text.empty()) (void)context->write(host::stream::err, std::exchange(state.stderr_text, {}));
                for (const auto& [function, count] : engine->last_call().host_calls) context->count_host_call(function, count);
                for (const error& violation : engine->last_call().violations) context->record_violation(violation);
            }
        };

    public:
        template <class Sig> class bound_function;
        template <class R, class... Args> class bound_function<R(Args...)> {
        public:
            bound_function(session* s, std::string export_name) : session_{s}, name_{std::move(export_name)} {}
            call_outcome<R> operator()(Args... args) const {
                return session_->template run<R>([&](engine_instance& engine) {
                    return engine.template call<R(Args...)>(name_, args...);
                });
            }

        private:
            session* session_;
            std::string name_;
        };

        static result<instance> create(const module& payload, host::context& ctx, const host::functions& functions) {
            if (Policy::required_mechanisms.contains(mechanism::two_layers) && !Policy::is_best_effort)
                return fail(error_kind::unsupported,
                            "isolation::maximum runs WebAssembly inside a process sandbox; the in-process wasm "
                            "backend alone cannot give the second layer (use best_effort to accept one layer)");
            sandbox_config config;
            detail::apply_policy(ctx.policy(), config, /*with_scopes=*/true);
            for (const auto& [key, value] : ctx.config) config.config.emplace(key, value);
            for (const auto& [key, value] : ctx.environment) config.env.push_back(key + "=" + value);
            config.args = {payload.name()};
            // The thread CPU clock is a system call; the context promises CPU time only where a
            // cpu limit needs it (the meter reads it then regardless), and wall time when timed.
            config.measure_cpu = false;
            config.measure_wall = ctx.detail == telemetry_detail::timed;
            auto engine = engine_instance::create(payload, std::move(config), detail::adapt_functions(functions, ctx));
            if (!engine) return engine.error();
            auto s = std::make_unique<session>();
            s->engine = std::move(*engine);
            s->engine->state().log = [context = &ctx](std::int32_t level, std::string_view text) -> result<void> {
                return context->log(host::api::guest_log_level(level), text);
            };
            s->context = &ctx;
            s->generation = ctx.policy().generation();
            return instance{std::move(s)};
        }

        template <class Sig> result<bound_function<Sig>> bind(std::string_view export_name) {
            const export_info* e = session_->engine->source().find_export(export_name);
            if (!e || e->kind != extern_kind::function)
                return no_export(export_name);
            const signature wanted = signature_for<Sig>();
            if (*e->func_signature != wanted)
                return detail::called_as_mismatch(export_name, *e->func_signature, wanted);
            return bound_function<Sig>{session_.get(), std::string(export_name)};
        }

        call_outcome<std::vector<std::byte>> call_bytes(std::string_view export_name, std::span<const std::byte> input) {
            return session_->template run<std::vector<std::byte>>([&](engine_instance& engine) -> result<std::vector<std::byte>> {
                auto out = engine.call_bytes(export_name, {reinterpret_cast<const std::uint8_t*>(input.data()), input.size()});
                if (!out) return out.error();
                std::vector<std::byte> bytes(out->size());
                cordon::detail::copy_bytes(bytes.data(), out->data(), out->size());
                return bytes;
            });
        }

        /// A call whose signature is known only at run time (the command line's); the values
        /// are checked against the export's signature.
        call_outcome<std::vector<cordon::value>> call_values(std::string_view export_name, std::span<const cordon::value> args) {
            std::vector<value> in;
            in.reserve(args.size());
            for (const auto& a : args) in.push_back(detail::from_core(a));
            return session_->template run<std::vector<cordon::value>>([&](engine_instance& engine) -> result<std::vector<cordon::value>> {
                auto out = engine.call(export_name, in);
                if (!out) return out.error();
                std::vector<cordon::value> values;
                for (const auto& v : *out) values.push_back(detail::to_core(v));
                return values;
            });
        }

        /// Runs a WASI command's _start (main); returns its exit code. `argv` replaces the
        /// program's arguments, argv[0] included (by default: the module's name alone).
        /// Offered by the facade as sandbox::run_main.
        call_outcome<int> run_main(std::span<const std::byte> stdin_bytes = {}, std::vector<std::string> argv = {}) {
            if (!argv.empty()) session_->engine->state().config.args = std::move(argv);
            return session_->template run<int>([&](engine_instance& engine) {
                return engine.run_start({reinterpret_cast<const std::uint8_t*>(stdin_bytes.data()), stdin_bytes.size()});
            });
        }

        /// What only the live engine knows: the clamps it applied to memory and tables.
        [[nodiscard]] std::vector<enforcement_entry> enforcement_facts() const {
            const auto& config = session_->engine->state().config;
            std::vector<enforcement_entry> facts;
            facts.push_back({element::memory,
                             std::string(find_capability(capabilities, element::memory)->mechanism) +
                                 "; maximum clamped to " + std::to_string(config.memory_bytes / 65536) + " pages; tables to " +
                                 std::to_string(config.max_table_elements) + " elements"});
            if (Policy::required_mechanisms.contains(mechanism::two_layers))
                facts.push_back({element::two_layers, {}, enforcement_level::best_effort});
            return facts;
        }

        void cancel() noexcept { session_->engine->cancel(); }

        /// The engine underneath, read-only, for what the facade does not report.
        [[nodiscard]] const engine_instance& engine() const noexcept { return *session_->engine; }

        /// The engine underneath, mutable: an escape hatch past the facade and the policy. The
        /// engine's configuration is a copy of the runtime policy made for its mechanism; the
        /// caller must not change it (a grant or scope added there is never checked against the
        /// ceiling) and must not call the engine while a facade call runs.
        [[nodiscard]] engine_instance& unsafe_engine() noexcept { return *session_->engine; }

    private:
        explicit instance(std::unique_ptr<session> s) : session_{std::move(s)} {}
        std::unique_ptr<session> session_;
    };
};

} // namespace cordon::wasm
