// The compiled engine: a metered module translated by wasm2c and compiled to native code (into
// the program at build time, or into a cached shared object at run time), run under the same
// host API, WASI subset, limits and telemetry as the interpreter.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/compiled/abi.hpp>
#include <cordon/wasm/compiled/registry.hpp>
#include <cordon/wasm/compiled/rt.hpp>
#include <cordon/wasm/compiled/toolchain.hpp>
#include <cordon/wasm/engine_common.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/linker.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/trap.hpp>
#include <cordon/wasm/types.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon::wasm {

struct compiled_options {
    /// The metering rewrite; by default frames are tracked (traps name where they happened) and
    /// call depth is counted when the policy limits it, so the limit is exact. Modules compiled
    /// into the program come in both forms.
    std::optional<metering_options> metering{};
    compile_options compile{};
};

/// The compiled engine's metering for a configuration: frames always; depth counting only under
/// a call_depth limit (without one, recursion is bounded by the thread's stack guard).
inline metering_options default_metering(const engine_limits& limits) { return metering_options{true, limits.call_depth.has_value()}; }

namespace compiled_detail {

/// The C type a wasm value of C++ type T travels as.
template <class T> using c_abi_t = std::conditional_t<
    value_type_of<std::remove_cvref_t<T>>() == value_type::i32, std::uint32_t,
    std::conditional_t<value_type_of<std::remove_cvref_t<T>>() == value_type::i64, std::uint64_t,
                       std::remove_cvref_t<T>>>;

template <class R> using c_result_t = std::conditional_t<std::is_void_v<R>, void, c_abi_t<std::conditional_t<std::is_void_v<R>, int, R>>>;

// A slot of the translated code's argument and result arrays holds a value's bits as they are:
// a 32-bit type in its low half, the upper half left as zero.
inline bool is_narrow(value_type type) { return type == value_type::i32 || type == value_type::f32; }

inline value from_slot(std::uint64_t slot, value_type type) {
    return value{type, is_narrow(type) ? slot & 0xffffffffU : slot};
}

inline std::uint64_t to_slot(const value& v) { return is_narrow(v.type) ? v.bits & 0xffffffffU : v.bits; }

inline trap_reason reason_of(wasm_rt_trap_t code) {
    switch (static_cast<int>(code)) {
    case WASM_RT_TRAP_OOB: return trap_reason::memory_out_of_bounds;
    case WASM_RT_TRAP_INT_OVERFLOW: return trap_reason::integer_overflow;
    case WASM_RT_TRAP_DIV_BY_ZERO: return trap_reason::integer_divide_by_zero;
    case WASM_RT_TRAP_INVALID_CONVERSION: return trap_reason::invalid_conversion;
    case WASM_RT_TRAP_UNREACHABLE: return trap_reason::unreachable;
    case WASM_RT_TRAP_CALL_INDIRECT: return trap_reason::indirect_call_undefined;  // patched to mean only this
    case compiled_translate::uninitialized_element_trap: return trap_reason::indirect_call_uninitialized;
    case WASM_RT_TRAP_EXHAUSTION: return trap_reason::stack_exhausted;
    case compiled_translate::signature_mismatch_trap: return trap_reason::indirect_call_mismatch;
    default: return trap_reason::other;
    }
}

inline const std::string& module_sha256(const module& source) {
    auto digest = source.derived<std::string>("sha256", [&]() -> result<std::shared_ptr<const std::string>> {
        return std::make_shared<const std::string>(compiled_toolchain::sha256_hex(source.bytes()));
    });
    return **digest;  // the maker cannot fail
}

/// The code for a module: compiled into the program if it was, else from the cache or compiled now.
inline result<std::shared_ptr<const compiled_code>> code_for(const module& source, const metering_options& metering,
                                                             const compile_options& options, const engine_limits& limits) {
    const std::string& sha = module_sha256(source);
    if (auto linked = linked_code(metering, sha)) return linked;
    // Compiling is work done for the guest: bounded by its wall time and (at least) its memory.
    compiled_toolchain::tool_budget budget;
    if (limits.wall_time) budget.deadline = std::chrono::steady_clock::now() + *limits.wall_time;
    budget.address_space_bytes = std::max(limits.memory_bytes, options.toolchain_memory_bytes);
    return source.derived<compiled_code>("compiled." + metering.key() + "." + options.compiler + "." + options.wasm2c,
                                         [&] { return compiled_toolchain::compile(source, metering, options, budget); });
}

} // namespace compiled_detail

/// One instance of a compiled module: the engine half of a wasm sandbox.
///
/// Reentrancy: one call at a time. A host function may not call back into the same sandbox
/// (such a call fails with invalid_argument); other sandboxes may be called freely, on this
/// thread or others. `cancel()` may be called from any thread.
class compiled_instance : public guest_conventions<compiled_instance> {
public:
    template <class R> using call_result = std::conditional_t<std::is_void_v<R>, result<void>, result<R>>;

    /// Instantiates `source` under the grants, scopes and limits of `context`, which must outlive
    /// the instance; the engine reads them and hands the guest's output and violations to it.
    static result<std::unique_ptr<compiled_instance>> create(const module& source, host::context& context,
                                                             engine_options options = {},
                                                             std::vector<host_function> user_functions = {},
                                                             compiled_options opts = {}) {
        const host::policy_view policy{context};
        auto plan = link_imports(source, policy, user_functions);
        if (!plan) return plan.error();
        const engine_limits limits = engine_limits::from(policy.limits());
        const metering_options metering = opts.metering.value_or(default_metering(limits));
        if (auto fits = check_sizes(source, limits, options); !fits) return fits.error();
        auto code = compiled_detail::code_for(source, metering, opts.compile, limits);
        if (!code) return code.error();
        std::unique_ptr<compiled_instance> self{new compiled_instance(source, context, std::move(options),
                                                                      std::move(user_functions), std::move(*plan), *code, metering)};
        if (auto ok = self->instantiate(); !ok) return ok.error();
        return self;
    }

    compiled_instance(const compiled_instance&) = delete;
    compiled_instance& operator=(const compiled_instance&) = delete;
    ~compiled_instance() {
        if (instantiated_) code_->module().free_instance(storage_.get());
    }

    /// Calls an export with values checked against its signature.
    result<std::vector<value>> call(std::string_view name, std::span<const value> args) {
        auto target = find_function(name);
        if (!target) return target.error();
        const signature& sig = *(*target)->sig;
        bool matches = args.size() == sig.params.size();
        for (std::size_t i = 0; matches && i < args.size(); ++i) matches = args[i].type == sig.params[i];
        if (!matches) return detail::arguments_mismatch(name, sig, args);
        std::vector<std::uint64_t> slots(std::max<std::size_t>(1, args.size()));
        for (std::size_t i = 0; i < args.size(); ++i) slots[i] = compiled_detail::to_slot(args[i]);
        const cordon_w2c_export* e = (*target)->code;
        void* instance = storage_.get();
        auto body = [&] { e->trampoline(instance, slots.data()); };
        if (auto ok = run(body, name); !ok) return ok.error();
        std::vector<value> out;
        for (std::size_t i = 0; i < sig.results.size(); ++i) out.push_back(compiled_detail::from_slot(slots[i], sig.results[i]));
        return out;
    }

    /// Calls an export typed as the C++ function type Fn: call<std::int32_t(std::int32_t)>("fib", 30).
    template <class Fn, class... Args> auto call(std::string_view name, Args&&... args) {
        using R = typename host::signature_traits<Fn>::ret;
        using param_types = typename host::signature_traits<Fn>::args;
        static_assert(sizeof...(Args) == std::tuple_size_v<param_types>,
                      "call<R(Params...)>(name, args...) needs one argument per parameter");
        using out_type = std::conditional_t<std::is_void_v<R>, result<void>, result<R>>;
        static const signature expected = host::signature_of<Fn>();
        auto target = find_function(name);
        if (!target) return out_type{target.error()};
        if (*(*target)->sig != expected) return out_type{detail::called_as_mismatch(name, *(*target)->sig, expected)};
        return invoke<R>((*target)->code->direct, name, static_cast<param_types*>(nullptr), std::forward<Args>(args)...);
    }

    /// An export resolved and checked once, called without a lookup: the fastest way in.
    template <class Fn> class typed_export;
    template <class R, class... Params> class typed_export<R(Params...)> {
    public:
        call_result<R> operator()(Params... args) const {
            return self_->invoke<R>(code_->direct, name_, static_cast<std::tuple<Params...>*>(nullptr), args...);
        }

    private:
        friend class compiled_instance;
        typed_export(compiled_instance* self, const cordon_w2c_export* code) : self_{self}, code_{code}, name_{code->name} {}
        compiled_instance* self_;
        const cordon_w2c_export* code_;
        std::string_view name_;
    };

    /// Resolves export `name` as the C++ function type Fn, checking its signature once.
    template <class Fn> result<typed_export<Fn>> function(std::string_view name) {
        static const signature expected = host::signature_of<Fn>();
        auto target = find_function(name);
        if (!target) return target.error();
        if (*(*target)->sig != expected) return detail::called_as_mismatch(name, *(*target)->sig, expected);
        return typed_export<Fn>{this, (*target)->code};
    }

    [[nodiscard]] sandbox_state& state() noexcept { return state_; }
    [[nodiscard]] const sandbox_state& state() const noexcept { return state_; }
    [[nodiscard]] const module& source() const noexcept { return source_; }
    [[nodiscard]] std::uint64_t memory_bytes() const { return memory_ ? memory_->size : 0; }
    /// Whether the code came from the compiled-module cache (false: compiled now, or built in).
    [[nodiscard]] bool code_from_cache() const noexcept { return code_->from_cache(); }

private:
    struct export_function {
        const cordon_w2c_export* code;
        const signature* sig;
    };

    struct storage_deleter {
        void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{alignof(std::max_align_t)}); }
    };

    compiled_instance(const module& source, host::context& context, engine_options options,
                      std::vector<host_function> user_functions, link_plan plan, std::shared_ptr<const compiled_code> code,
                      const metering_options& metering)
        : source_{source}, code_{std::move(code)}, user_functions_{std::move(user_functions)}, plan_{std::move(plan)},
          metering_{metering}, state_{context, std::move(options)} {
        plan_.name_counters(state_);
    }

    /// Memory and tables the module needs at start must fit the limits before any code runs.
    static result<void> check_sizes(const module& source, const engine_limits& limits, const engine_options& options) {
        const std::uint64_t max_pages = std::min<std::uint64_t>(limits.memory_bytes / compiled_rt::page_size, compiled_rt::max_pages);
        for (const auto& memory : source.info().memories) {
            if (memory.initial <= max_pages) continue;
            error_info info{"module needs " + std::to_string(memory.initial) + " pages of memory at start, the limit is " +
                            std::to_string(max_pages) + " pages (" + std::to_string(limits.memory_bytes) + " bytes)"};
            info.limit = limit_detail{"memory", limits.memory_bytes, memory.initial * compiled_rt::page_size};
            return error{error_kind::memory_limit, std::move(info)};
        }
        for (const auto& table : source.info().tables) {
            if (table.initial <= options.max_table_elements) continue;
            error_info info{"module needs a table of " + std::to_string(table.initial) + " elements, the limit is " +
                            std::to_string(options.max_table_elements)};
            info.limit = limit_detail{"table", options.max_table_elements, table.initial};
            return error{error_kind::memory_limit, std::move(info)};
        }
        return {};
    }

    result<const export_function*> find_function(std::string_view name) {
        if (auto it = exports_.find(name); it != exports_.end()) return &it->second;
        return no_export(name);
    }

    template <class R, class... Params, class... Args>
    call_result<R> invoke(cordon_w2c_function_ptr direct, std::string_view name, std::tuple<Params...>*, Args&&... args) {
        using out_type = call_result<R>;
        using fn_type = compiled_detail::c_result_t<R> (*)(void*, compiled_detail::c_abi_t<Params>...);
        auto fn = reinterpret_cast<fn_type>(direct);
        void* instance = storage_.get();
        if constexpr (std::is_void_v<R>) {
            auto body = [&] { fn(instance, static_cast<compiled_detail::c_abi_t<Params>>(static_cast<std::remove_cvref_t<Params>>(args))...); };
            if (auto ok = run(body, name); !ok) return out_type{ok.error()};
            return out_type{};
        } else {
            compiled_detail::c_result_t<R> out{};
            auto body = [&] { out = fn(instance, static_cast<compiled_detail::c_abi_t<Params>>(static_cast<std::remove_cvref_t<Params>>(args))...); };
            if (auto ok = run(body, name); !ok) return out_type{ok.error()};
            return out_type{static_cast<R>(out)};
        }
    }

    /// Allocates the instance and links imports through the glue (no guest code runs, but
    /// data segments may trap), then runs the start function, metered like a call.
    result<void> instantiate() {
        if (auto ok = state_.refresh(); !ok) return ok;
        const cordon_w2c_module& desc = code_->module();
        if (desc.import_count != plan_.functions.size() + meter_functions())
            return fail(error_kind::internal, "compiled module does not match its link plan");
        storage_.reset(static_cast<std::byte*>(::operator new[](desc.instance_size, std::align_val_t{alignof(std::max_align_t)})));
        std::memset(storage_.get(), 0, desc.instance_size);
        env_.host = this;
        env_.call_import = &compiled_instance::dispatch;
        for (std::uint32_t i = 0; i < desc.export_count; ++i) {
            const cordon_w2c_export& e = desc.exports[i];
            const export_info* info = source_.find_export(e.name);
            if (!info || !info->func_signature) continue;
            exports_.emplace(e.name, export_function{&e, &*info->func_signature});
        }
        compiled_rt::caps = {static_cast<std::uint32_t>(std::min<std::uint64_t>(state_.limits().memory_bytes / compiled_rt::page_size,
                                                                                compiled_rt::max_pages)),
                             state_.options.max_table_elements};
        void* instance = storage_.get();
        // Marked before: a segment that traps leaves memories and tables allocated, and freeing
        // the zeroed ones not yet made is a no-op (compiled_rt::free_memory, free_table).
        instantiated_ = true;
        auto link = [&] {
            desc.instantiate(instance, &env_);
            if (desc.memory) memory_ = desc.memory(instance);
            desc.meter(instance, &meter_);
            arm_meter();
        };
        auto linked = run(link, "instantiation");
        compiled_rt::caps = {};
        if (linked && desc.start) {
            auto start = [&] { desc.start(instance); };
            linked = run(start, "start function");
        }
        return linked;
    }

    [[nodiscard]] std::uint32_t meter_functions() const noexcept { return metering_.track_depth ? 3 : 2; }

    /// A function import called by the guest: the meter's or a host function.
    static int dispatch(void* host, std::uint32_t index, std::uint64_t* slots) noexcept {
        // Host work needs stack the guest may have used up; a fault in it would be the host's.
        if (!compiled_rt::host_stack_available()) compiled_rt::trap(WASM_RT_TRAP_EXHAUSTION);
        auto* self = static_cast<compiled_instance*>(host);
        compiled_rt::host_section section;
        try {
            return self->dispatch_import(index, slots) ? 0 : 1;
        } catch (const std::exception& e) {
            self->state_.pending = error{error_kind::internal, error_info{std::string("host function threw: ") + e.what()}};
        } catch (...) {
            self->state_.pending = error{error_kind::internal, error_info{"host function threw"}};
        }
        return 1;
    }

    bool dispatch_import(std::uint32_t index, std::uint64_t* slots) {
        const std::size_t user = plan_.functions.size();
        if (index >= user) {
            switch (index - user) {
            case 0: {  // out_of_fuel
                auto refilled = state_.meter.refill(*meter_.fuel);
                if (!refilled) return stop(refilled.error());
                *meter_.fuel = *refilled;
                return true;
            }
            case 1: accounting_.grow_failed = true; return true;
            default: {
                const std::uint64_t depth = state_.limits().depth_limit();
                return stop(limit_exceeded(limit::kind::call_depth, depth, depth + 1));
            }
            }
        }
        const host_function& f = *plan_.functions[index];
        std::array<value, 16> args_buffer;
        std::array<value, 4> results_buffer;
        std::vector<value> args_heap;
        std::span<value> args{args_buffer.data(), f.sig.params.size()};
        if (f.sig.params.size() > args_buffer.size()) {
            args_heap.resize(f.sig.params.size());
            args = args_heap;
        }
        for (std::size_t i = 0; i < args.size(); ++i) args[i] = compiled_detail::from_slot(slots[i], f.sig.params[i]);
        std::span<value> outs{results_buffer.data(), std::min(f.sig.results.size(), results_buffer.size())};
        host_call call{memory_ ? guest_memory{memory_->data, memory_->size} : guest_memory{}, state_};
        if (auto ok = detail::call_host(f, index, call, args, outs); !ok) return stop(ok.error());
        for (std::size_t i = 0; i < outs.size(); ++i) slots[i] = compiled_detail::to_slot(outs[i]);
        return true;
    }

    bool stop(error e) {
        state_.pending = std::move(e);
        return false;
    }

    void begin_call() {
        armed_fuel_ = accounting_.begin(state_);
        arm_meter();
    }

    /// Sets the meter's globals for the call beginning.
    void arm_meter() {
        if (meter_.fuel) *meter_.fuel = armed_fuel_;
        if (meter_.depth) *meter_.depth = 0;
        if (meter_.depth_limit) *meter_.depth_limit = state_.limits().depth_limit();
        if (meter_.current_function) *meter_.current_function = -1;
    }

    template <class Body> result<void> run(Body& body, std::string_view name) {
        if (running_)
            return fail(error_kind::invalid_argument,
                        "sandbox is already running a call; calling it again from a host function is not supported");
        running_ = true;
        begin_call();
        compiled_rt::prepare_thread();
        compiled_rt::call_frame frame;
        const wasm_rt_trap_t trap = compiled_rt::guarded(frame, memory_, body);
        running_ = false;
        if (frame.out_of_address_space) {
            error_info info{"cannot reserve address space for the guest's memory"};
            info.limit = limit_detail{"memory", state_.limits().memory_bytes, 0};
            state_.pending = error{error_kind::memory_limit, std::move(info)};
        }
        return finish_call(trap, name);
    }

    /// Accounts the call and turns a trap, if any, into the error the caller sees.
    result<void> finish_call(wasm_rt_trap_t trap, std::string_view name) {
        accounting_.end(state_, meter_.fuel ? *meter_.fuel : armed_fuel_, memory_bytes());
        const std::optional<std::uint32_t> innermost =
            meter_.current_function && *meter_.current_function >= 0
                ? std::optional{static_cast<std::uint32_t>(*meter_.current_function)}
                : std::nullopt;
        return accounting_.outcome(state_, source_, name, trap != WASM_RT_TRAP_NONE, compiled_detail::reason_of(trap), {},
                                   memory_bytes(), [&](error_kind kind, error_info info) {
                                       return detail::make_call_error(kind, std::move(info), source_, innermost, name);
                                   });
    }

    module source_;
    std::shared_ptr<const compiled_code> code_;
    std::vector<host_function> user_functions_;  // the link plan points into these
    link_plan plan_;
    metering_options metering_;
    sandbox_state state_;
    cordon_w2c_env env_{};
    cordon_w2c_meter meter_{};
    std::int64_t armed_fuel_ = 0;
    std::unique_ptr<std::byte[], storage_deleter> storage_;
    wasm_rt_memory_t* memory_ = nullptr;
    std::map<std::string, export_function, std::less<>> exports_;
    call_accounting accounting_;
    bool instantiated_ = false;
    bool running_ = false;
};

/// The engine tag the behaviour suite and the backend are parameterised over.
struct compiled_engine {
    using instance = compiled_instance;
    static constexpr std::string_view name = "wasm2c, compiled to native code";
    static constexpr std::string_view backend_name = "wasm compiled";
    /// This engine's rows of the wasm backend's capability table.
    static constexpr std::array capabilities{
        enforces(element::isolation, "WebAssembly linear memory, in process (wasm2c, compiled to native code)"),
        enforces(element::memory, "8 GiB PROT_NONE reservation per memory, faults become traps (guard pages); stack "
                                  "overflow caught on an alternate signal stack"),
    };
};

} // namespace cordon::wasm
