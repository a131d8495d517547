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
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon::wasm {

namespace detail {

/// The host functions the embedding program registered, as wasm imports. They run with the
/// sandbox's host context; their permission was already checked by the linker and call_host.
inline std::vector<host_function> adapt_functions(const host::functions& functions, host::context& ctx) {
    std::vector<host_function> out;
    for (const host::function_entry& entry : functions) {
        const host::function_entry* source = &entry;
        out.push_back(host_function{
            entry.module, entry.name, entry.sig,
            entry.permission.empty() ? std::nullopt : std::optional<std::string>{entry.permission},
            [source, context = &ctx](host_call&, std::span<const value> params, std::span<value> results) {
                return source->call(*context, params, results);
            },
            -1, false});
    }
    return out;
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
        enforces(element::plugin, "host import to the host's bus; the grant is checked on each call"),
        enforces(element::cpu_time, "fuel slices: counters at function entries and loop headers; the thread CPU clock read only when the wall time since its last reading could have used up the rest of the limit"),
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

            /// Runs one engine call (the engine reads the policy in force from the context and
            /// hands it the guest's output and violations) and counts its host calls there; the
            /// facade does the call's bookkeeping around it.
            template <class T, class Run> call_outcome<T> run(Run&& body) {
                result<T> outcome = body(*engine);
                const usage& used = engine->last_call();
                used.host_calls.for_each([&](std::string_view function, std::uint64_t count) { context->count_host_call(function, count); });
                call_usage measured;
                // The engine reads the thread CPU clock only for a cpu limit on a call that outlived
                // a fuel slice; then it is free here. Otherwise the facade charges the wall time.
                if (used.cpu_measured) measured.cpu_ns = static_cast<std::uint64_t>(used.cpu.count());
                measured.fuel = used.fuel;
                measured.peak_memory_bytes = used.peak_memory_bytes;
                return {std::move(outcome), measured};
            }
        };

        /// An export as a bound function reaches it: resolved once where the engine can (the
        /// compiled engine's typed export), by name where it cannot (the interpreter keeps the
        /// last export it found).
        template <class Sig> static auto resolve(engine_instance& engine, std::string_view name) {
            if constexpr (requires { engine.template function<Sig>(name); }) return engine.template function<Sig>(name);
            else return result<std::string>{std::string(name)};
        }
        template <class Sig>
        using target_of = std::remove_cvref_t<decltype(*resolve<Sig>(std::declval<engine_instance&>(), std::string_view{}))>;

    public:
        template <class Sig> class bound_function;
        template <class R, class... Args> class bound_function<R(Args...)> {
        public:
            bound_function(session* s, target_of<R(Args...)> target) : session_{s}, target_{std::move(target)} {}
            call_outcome<R> operator()(Args... args) const {
                return session_->template run<R>([&](engine_instance& engine) {
                    if constexpr (std::is_same_v<target_of<R(Args...)>, std::string>)
                        return engine.template call<R(Args...)>(target_, args...);
                    else
                        return (void)engine, target_(args...);
                });
            }

        private:
            session* session_;
            target_of<R(Args...)> target_;
        };

        static result<instance> create(const module& payload, host::context& ctx, const host::functions& functions) {
            if (Policy::required_mechanisms.contains(mechanism::two_layers) && !Policy::is_best_effort)
                return fail(error_kind::unsupported,
                            "isolation::maximum runs WebAssembly inside a process sandbox; the in-process wasm "
                            "backend alone cannot give the second layer (use best_effort to accept one layer)");
            engine_options options;
            options.args = {payload.name()};
            // The thread CPU clock is a system call; the context promises CPU time only where a
            // cpu limit needs it (the meter reads it then regardless), and wall time when timed.
            // The facade times each call with its coarse clock: the engine reads no clock of its own.
            options.measure_cpu = false;
            options.measure_wall = false;
            auto engine = engine_instance::create(payload, ctx, std::move(options), detail::adapt_functions(functions, ctx));
            if (!engine) return engine.error();
            auto s = std::make_unique<session>();
            s->engine = std::move(*engine);
            s->context = &ctx;
            return instance{std::move(s)};
        }

        /// The module's function exports; those of cordon.h's convention, () -> i32, take bytes.
        [[nodiscard]] std::optional<std::vector<host::export_description>> describe_exports() const {
            std::vector<host::export_description> out;
            const signature convention{{}, {value_type::i32}};
            for (const auto& e : session_->engine->source().exports())
                if (e.kind == extern_kind::function && e.func_signature)
                    out.push_back({e.name, *e.func_signature, *e.func_signature == convention});
            return out;
        }

        template <class Sig> result<bound_function<Sig>> bind(std::string_view export_name) {
            const export_info* e = session_->engine->source().find_export(export_name);
            if (!e || e->kind != extern_kind::function)
                return no_export(export_name);
            const signature wanted = host::signature_of<Sig>();
            if (*e->func_signature != wanted)
                return detail::called_as_mismatch(export_name, *e->func_signature, wanted);
            auto target = resolve<Sig>(*session_->engine, export_name);
            if (!target) return target.error();
            return bound_function<Sig>{session_.get(), std::move(*target)};
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
            return session_->template run<std::vector<cordon::value>>(
                [&](engine_instance& engine) { return engine.call(export_name, args); });
        }

        /// Runs a WASI command's _start (main); returns its exit code. `argv` replaces the
        /// program's arguments, argv[0] included (by default: the module's name alone).
        /// Offered by the facade as sandbox::run_main.
        call_outcome<int> run_main(std::span<const std::byte> stdin_bytes = {}, std::vector<std::string> argv = {}) {
            if (!argv.empty()) session_->engine->state().options.args = std::move(argv);
            return session_->template run<int>([&](engine_instance& engine) {
                return engine.run_start({reinterpret_cast<const std::uint8_t*>(stdin_bytes.data()), stdin_bytes.size()});
            });
        }

        /// What only the live engine knows: the clamps it applied to memory and tables.
        [[nodiscard]] std::vector<enforcement_entry> enforcement_facts() const {
            const auto& state = session_->engine->state();
            std::vector<enforcement_entry> facts;
            facts.push_back({element::memory,
                             std::string(find_capability(capabilities, element::memory)->mechanism) +
                                 "; maximum clamped to " + std::to_string(state.limits().memory_bytes / 65536) + " pages; tables to " +
                                 std::to_string(state.options.max_table_elements) + " elements"});
            if (Policy::required_mechanisms.contains(mechanism::two_layers))
                facts.push_back({element::two_layers, {}, enforcement_level::best_effort});
            return facts;
        }

        void cancel() noexcept { session_->engine->cancel(); }

        /// The engine underneath, read-only, for what the facade does not report.
        [[nodiscard]] const engine_instance& engine() const noexcept { return *session_->engine; }

        /// The engine underneath, mutable: an escape hatch past the facade. The engine reads the
        /// policy from the sandbox's context and cannot widen it, but a call made on it directly
        /// skips the facade's call protocol (no cancel, time limits or telemetry): the caller must
        /// not call it while a facade call runs, nor from another thread.
        [[nodiscard]] engine_instance& unsafe_engine() noexcept { return *session_->engine; }

    private:
        explicit instance(std::unique_ptr<session> s) : session_{std::move(s)} {}
        std::unique_ptr<session> session_;
    };
};

} // namespace cordon::wasm
