// The interpreter engine: runs a metered module in WABT's interpreter, one Store per sandbox,
// with host functions linked by permission, limits enforced and traps turned into errors.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/engine_common.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/linker.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/trap.hpp>
#include <cordon/wasm/types.hpp>

#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <utility>
#include <vector>

namespace cordon::wasm {

namespace detail {

/// The metered module compiled to the interpreter's form, shared by every sandbox of a module.
struct interp_compiled {
    std::shared_ptr<const metered_module> metered;
    wabt::interp::ModuleDesc desc;
};

inline result<std::shared_ptr<const interp_compiled>> compile_for_interpreter(const module& source,
                                                                              const metering_options& options) {
    return source.derived<interp_compiled>("interp." + options.key(), [&]() -> result<std::shared_ptr<const interp_compiled>> {
        auto rewritten = metered(source, options);
        if (!rewritten) return rewritten.error();
        auto compiled = std::make_shared<interp_compiled>();
        compiled->metered = *rewritten;
        wabt::Errors errors;
        const wabt::ReadBinaryOptions read_options{supported_features(), nullptr, /*read_debug_names=*/false,
                                                   /*stop_on_first_error=*/true,
                                                   /*fail_on_custom_section_error=*/false};
        const auto& bytes = compiled->metered->bytes;
        if (wabt::Failed(wabt::interp::ReadBinaryInterp("module", bytes.data(), bytes.size(), read_options, &errors,
                                                  &compiled->desc)))
            return fail(error_kind::load_error, "interpreter rejected the module " + describe_errors(errors));
        return std::shared_ptr<const interp_compiled>(std::move(compiled));
    });
}

inline value from_interp(const wabt::interp::Value& v, value_type type) {
    switch (type) {
    case value_type::i32: return value::of(v.Get<std::int32_t>());
    case value_type::i64: return value::of(v.Get<std::int64_t>());
    case value_type::f32: return value::of(v.Get<float>());
    case value_type::f64: return value::of(v.Get<double>());
    default: return value{};
    }
}

inline wabt::interp::Value to_interp(const value& v) {
    switch (v.type) {
    case value_type::i32: return wabt::interp::Value::Make(v.as<std::int32_t>());
    case value_type::i64: return wabt::interp::Value::Make(v.as<std::int64_t>());
    case value_type::f32: return wabt::interp::Value::Make(v.as<float>());
    case value_type::f64: return wabt::interp::Value::Make(v.as<double>());
    default: return wabt::interp::Value::Make(std::int32_t{0});
    }
}

inline constexpr std::string_view host_stop_message = "cordon: stopped by the host";

// WABT keeps the interpreter's call stack private, in the thread and in the copy a trap takes of
// it, and offers no accessor. The frames are read (never written) through explicit template
// instantiation, where the language does not check access. Pinned to WABT 1.0.32's member names:
// a rename fails to compile here rather than misbehaving.
template <class Tag, typename Tag::type Member> struct wabt_private_member {
    friend typename Tag::type member_pointer(Tag) { return Member; }
};
struct wabt_trap_frames {
    using type = std::vector<wabt::interp::Frame> wabt::interp::Trap::*;
    friend type member_pointer(wabt_trap_frames);
};
struct wabt_thread_frames {
    using type = std::vector<wabt::interp::Frame> wabt::interp::Thread::*;
    friend type member_pointer(wabt_thread_frames);
};
template struct wabt_private_member<wabt_trap_frames, &wabt::interp::Trap::trace_>;
template struct wabt_private_member<wabt_thread_frames, &wabt::interp::Thread::frames_>;

/// The call stack a trap carries (outermost first); empty for traps a host function raised.
inline const std::vector<wabt::interp::Frame>& unsafe_trap_frames(const wabt::interp::Trap& trap) {
    return trap.*member_pointer(wabt_trap_frames{});
}
/// The thread's call stack while a host function runs (outermost first, the host function last).
inline const std::vector<wabt::interp::Frame>& unsafe_thread_frames(const wabt::interp::Thread& thread) {
    return thread.*member_pointer(wabt_thread_frames{});
}

/// The guest functions on a call stack, innermost first, as indices of the rewritten module.
inline std::vector<std::uint32_t> guest_functions_on(const std::vector<wabt::interp::Frame>& frames) {
    std::vector<std::uint32_t> out;
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) {
        if (!frame->inst) continue;  // a host function
        const auto& funcs = frame->inst->funcs();
        for (std::size_t i = 0; i < funcs.size(); ++i) {
            if (funcs[i] == frame->func) {
                out.push_back(static_cast<std::uint32_t>(i));
                break;
            }
        }
    }
    return out;
}

} // namespace detail

struct interpreter_options {
    /// The metering rewrite to use. By default only fuel, and depth when the policy's call_depth
    /// is tighter than the interpreter's own call stack. Frames need no counters here: the
    /// interpreter's own call stack names the innermost function of a trap.
    std::optional<metering_options> metering{};
    /// Every guest frame in trap backtraces (innermost first, at most max_backtrace_frames),
    /// instead of the innermost function and the export. Off by default while the shared
    /// behaviour suite expects the short form of every engine.
    bool full_backtraces = false;
};

/// The most frames a full backtrace lists; deeper stacks keep their innermost frames and the
/// export, and are marked incomplete.
inline constexpr std::size_t max_backtrace_frames = 64;

/// Frames WABT's interpreter thread holds before it traps with "call stack exhausted".
inline constexpr std::uint32_t interpreter_stack_frames = wabt::interp::Thread::Options::kDefaultCallStackSize;

/// The guest frames a call may nest in the interpreter: WABT's call stack less room for a host
/// function called at the deepest point. WABT 1.0.32 mishandles its own overflow on an indirect
/// call (the caller runs on as if the callee had returned, so the call ends as a success with
/// the trap set, or an assertion fails on the unbalanced value stack); cordon's depth counter
/// stops such guests first.
inline constexpr std::uint32_t interpreter_guest_frames = interpreter_stack_frames - 2;

/// The bytes the interpreter's value stack may take: the policy's memory limit (at least 1 MiB,
/// so that a sandbox of a few pages can still call), for values at twice their size because
/// the stack grows by doubling. WABT's value stack has no limit of its own.
inline std::uint64_t interpreter_value_stack_bytes(const engine_limits& limits) {
    return std::max<std::uint64_t>(limits.memory_bytes, std::uint64_t{1} << 20);
}

/// How deep guest calls may nest in the interpreter, and which limit decides it.
struct interpreter_depth {
    enum class bound : std::uint8_t { policy, engine_stack, value_stack };
    std::uint32_t frames = interpreter_guest_frames;
    bound by = bound::engine_stack;
};

inline interpreter_depth interpreter_depth_for(const engine_limits& limits, const metered_module& metered) {
    const std::uint64_t frame_bytes = 2 * metered.max_frame_values * sizeof(wabt::interp::Value);
    const std::uint64_t by_memory = interpreter_value_stack_bytes(limits) / frame_bytes;
    interpreter_depth out;
    if (by_memory < out.frames) out = {static_cast<std::uint32_t>(by_memory), interpreter_depth::bound::value_stack};
    if (limits.call_depth && *limits.call_depth <= out.frames) out = {*limits.call_depth, interpreter_depth::bound::policy};
    return out;
}

/// One instantiated module in WABT's interpreter: the engine half of a wasm sandbox.
///
/// Reentrancy: one call at a time. A host function may not call back into the same sandbox
/// (such a call fails with invalid_argument); other sandboxes may be called freely. `cancel()`
/// may be called from any thread.
class interpreter_instance : public guest_conventions<interpreter_instance> {
public:
    /// Instantiates `source` under the grants, scopes and limits of `context`, which must outlive
    /// the instance; the engine reads them and hands the guest's output and violations to it.
    static result<std::unique_ptr<interpreter_instance>> create(const module& source, host::context& context,
                                                                engine_options options = {},
                                                                std::vector<host_function> user_functions = {},
                                                                interpreter_options opts = {}) {
        const host::policy_view policy{context};
        auto plan = link_imports(source, policy, user_functions);
        if (!plan) return plan.error();
        metering_options metering = opts.metering.value_or(metering_options{false, false});
        auto compiled = detail::compile_for_interpreter(source, metering);
        if (!compiled) return compiled.error();
        const engine_limits limits = engine_limits::from(policy.limits());
        interpreter_depth depth = interpreter_depth_for(limits, *(*compiled)->metered);
        // Counting depth costs about ten instructions a call: only where a limit tighter than
        // WABT's own call stack applies, or where that stack's overflow is mishandled.
        if (!metering.track_depth && (depth.by != interpreter_depth::bound::engine_stack || (*compiled)->metered->indirect_calls)) {
            metering.track_depth = true;
            compiled = detail::compile_for_interpreter(source, metering);
            if (!compiled) return compiled.error();
            depth = interpreter_depth_for(limits, *(*compiled)->metered);
        }
        std::unique_ptr<interpreter_instance> self{
            new interpreter_instance(source, context, std::move(options), std::move(user_functions), std::move(*plan), *compiled)};
        self->guest_depth_ = depth;
        self->full_backtraces_ = opts.full_backtraces;
        if (auto ok = self->instantiate(); !ok) return ok.error();
        return self;
    }

    interpreter_instance(const interpreter_instance&) = delete;
    interpreter_instance& operator=(const interpreter_instance&) = delete;
    ~interpreter_instance() {
        if (instance_) instance_.reset();
    }

    /// Calls an export with values checked against its signature.
    result<std::vector<value>> call(std::string_view name, std::span<const value> args) {
        auto target = find_function(name);
        if (!target) return target.error();
        const signature& sig = *(*target)->sig;
        if (args.size() != sig.params.size())
            return detail::arguments_mismatch(name, sig, args);
        wabt::interp::Values params;
        params.reserve(args.size());
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i].type != sig.params[i]) return detail::arguments_mismatch(name, sig, args);
            params.push_back(detail::to_interp(args[i]));
        }
        wabt::interp::Values results;
        if (auto ok = run((*target)->func, params, results, name); !ok) return ok.error();
        std::vector<value> out;
        for (std::size_t i = 0; i < results.size(); ++i) out.push_back(detail::from_interp(results[i], sig.results[i]));
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
        // Each export remembers the last C++ signature it was called with and found to match.
        if ((*target)->checked_as != &expected) {
            if (*(*target)->sig != expected)
                return out_type{detail::called_as_mismatch(name, *(*target)->sig, expected)};
            (*target)->checked_as = &expected;
        }
        params_.clear();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (params_.push_back(detail::to_interp(
                 value::of<std::remove_cvref_t<std::tuple_element_t<I, param_types>>>(std::forward<Args>(args)))),
             ...);
        }(std::index_sequence_for<Args...>{});
        if (auto ok = run((*target)->func, params_, results_, name); !ok) return out_type{ok.error()};
        if constexpr (std::is_void_v<R>) return out_type{};
        else return out_type{detail::from_interp(results_[0], expected.results[0]).template as<R>()};
    }

    [[nodiscard]] sandbox_state& state() noexcept { return state_; }
    [[nodiscard]] const sandbox_state& state() const noexcept { return state_; }
    [[nodiscard]] const module& source() const noexcept { return source_; }
    [[nodiscard]] std::uint64_t memory_bytes() const {
        return memory_ ? memory_->ByteSize() : 0;
    }

private:
    struct export_function {
        wabt::interp::Func::Ptr func;
        const signature* sig;
        const signature* checked_as = nullptr;  // a signature it was called as and matched
    };

    interpreter_instance(const module& source, host::context& context, engine_options options,
                         std::vector<host_function> user_functions, link_plan plan,
                         std::shared_ptr<const detail::interp_compiled> compiled)
        : source_{source}, compiled_{std::move(compiled)}, user_functions_{std::move(user_functions)},
          plan_{std::move(plan)}, state_{context, std::move(options)}, store_{detail::supported_features()} {
        plan_.name_counters(state_);
    }


    /// Hosts tend to call one export many times in a row: the last one found is checked first.
    result<export_function*> find_function(std::string_view name) {
        if (last_export_ && last_export_->first == name) return &last_export_->second;
        if (auto it = exports_.find(name); it != exports_.end()) {
            last_export_ = &*it;
            return &it->second;
        }
        return no_export(name);
    }

    /// Clamps memories and tables to the limits, links imports and runs the start function.
    result<void> instantiate() {
        if (auto ok = state_.refresh(); !ok) return ok;
        wabt::interp::ModuleDesc desc = compiled_->desc;
        const std::uint64_t page = 65536;
        const std::uint64_t max_pages = std::min<std::uint64_t>(state_.limits().memory_bytes / page, 65536);
        for (auto& memory : desc.memories) {
            auto& limits = memory.type.limits;
            if (limits.initial > max_pages) {
                error_info info{"module needs " + std::to_string(limits.initial) + " pages of memory at start, the limit is " +
                                std::to_string(max_pages) + " pages (" + std::to_string(state_.limits().memory_bytes) + " bytes)"};
                info.limit = limit_detail{"memory", state_.limits().memory_bytes, limits.initial * page};
                return error{error_kind::memory_limit, std::move(info)};
            }
            // A module without a maximum would otherwise be allowed 4 GiB.
            limits.max = limits.has_max ? std::min<std::uint64_t>(limits.max, max_pages) : max_pages;
            limits.has_max = true;
        }
        for (auto& table : desc.tables) {
            auto& limits = table.type.limits;
            if (limits.initial > state_.options.max_table_elements) {
                error_info info{"module needs a table of " + std::to_string(limits.initial) +
                                " elements, the limit is " + std::to_string(state_.options.max_table_elements)};
                info.limit = limit_detail{"table", state_.options.max_table_elements, limits.initial};
                return error{error_kind::memory_limit, std::move(info)};
            }
            limits.max = limits.has_max ? std::min<std::uint64_t>(limits.max, state_.options.max_table_elements)
                                        : state_.options.max_table_elements;
            limits.has_max = true;
        }
        module_ = wabt::interp::Module::New(store_, std::move(desc));

        fuel_ = wabt::interp::Global::New(store_, wabt::interp::GlobalType{wabt::Type::I64, wabt::interp::Mutability::Var},
                                    wabt::interp::Value::Make(std::int64_t{0}));
        depth_ = wabt::interp::Global::New(store_, wabt::interp::GlobalType{wabt::Type::I32, wabt::interp::Mutability::Var},
                                     wabt::interp::Value::Make(std::int32_t{0}));
        depth_limit_ = wabt::interp::Global::New(store_, wabt::interp::GlobalType{wabt::Type::I32, wabt::interp::Mutability::Var},
                                           wabt::interp::Value::Make(guest_depth_limit()));
        current_function_ = wabt::interp::Global::New(store_, wabt::interp::GlobalType{wabt::Type::I32, wabt::interp::Mutability::Var},
                                                wabt::interp::Value::Make(std::int32_t{-1}));

        wabt::interp::RefVec imports;
        std::size_t next_user_import = 0;
        for (const wabt::interp::ImportType& import : module_->import_types()) {
            if (import.module == meter_abi::module) {
                imports.push_back(meter_import(import));
            } else {
                imports.push_back(host_import(next_user_import++, import));
            }
        }

        // The start function runs under the same meter and limits as a call; without one there
        // is nothing to time, and the clocks are most of what instantiation would spend here.
        begin_call(/*timed=*/!compiled_->desc.starts.empty());
        wabt::interp::Trap::Ptr trap;
        instance_ = wabt::interp::Instance::Instantiate(store_, module_.ref(), imports, &trap);
        auto outcome = finish_call(static_cast<bool>(trap), trap.get(), "start function");
        if (!instance_) {
            if (outcome) return fail(error_kind::load_error, "instantiation failed");
            return outcome.error();
        }
        if (!outcome) return outcome.error();

        if (!instance_->memories().empty()) memory_ = store_.UnsafeGet<wabt::interp::Memory>(instance_->memories()[0]);
        const auto& export_types = module_->export_types();
        for (std::size_t i = 0; i < export_types.size(); ++i) {
            if (export_types[i].type->kind != wabt::interp::ExternKind::Func) continue;
            const export_info* info = source_.find_export(export_types[i].name);
            if (!info || !info->func_signature) continue;
            exports_.emplace(export_types[i].name,
                             export_function{store_.UnsafeGet<wabt::interp::Func>(instance_->exports()[i]), &*info->func_signature});
        }
        return {};
    }

    wabt::interp::Ref meter_import(const wabt::interp::ImportType& import) {
        if (import.name == meter_abi::fuel) return fuel_.ref();
        if (import.name == meter_abi::depth) return depth_.ref();
        if (import.name == meter_abi::depth_limit) return depth_limit_.ref();
        if (import.name == meter_abi::current_function) return current_function_.ref();
        const wabt::interp::FuncType void_type{{}, {}};
        if (import.name == meter_abi::out_of_fuel) {
            return wabt::interp::HostFunc::New(store_, void_type, [this](wabt::interp::Thread& thread, const wabt::interp::Values&, wabt::interp::Values&,
                                                                   wabt::interp::Trap::Ptr* trap) -> wabt::Result {
                auto refilled = state_.meter.refill(fuel_->Get().Get<std::int64_t>());
                if (!refilled) return stop(refilled.error(), thread, trap);
                fuel_->UnsafeSet(wabt::interp::Value::Make(*refilled));
                return wabt::Result::Ok;
            }).ref();
        }
        if (import.name == meter_abi::grow_failed) {
            return wabt::interp::HostFunc::New(store_, void_type, [this](wabt::interp::Thread&, const wabt::interp::Values&, wabt::interp::Values&,
                                                                   wabt::interp::Trap::Ptr*) -> wabt::Result {
                accounting_.grow_failed = true;
                return wabt::Result::Ok;
            }).ref();
        }
        // depth_exceeded
        return wabt::interp::HostFunc::New(store_, void_type, [this](wabt::interp::Thread& thread, const wabt::interp::Values&, wabt::interp::Values&,
                                                               wabt::interp::Trap::Ptr* trap) -> wabt::Result {
            return stop(depth_exceeded(), thread, trap);
        }).ref();
    }

    [[nodiscard]] std::int32_t guest_depth_limit() const noexcept {
        return static_cast<std::int32_t>(std::min<std::uint32_t>(guest_depth_.frames, 0x7fff'ffff));
    }

    /// The error for a call one deeper than guest_depth_ allows, as the limit that decided it.
    [[nodiscard]] error depth_exceeded() const {
        const std::uint64_t frames = guest_depth_.frames;
        switch (guest_depth_.by) {
        case interpreter_depth::bound::policy: {
            return limit_exceeded(limit::kind::call_depth, frames, frames + 1);
        }
        case interpreter_depth::bound::value_stack: {
            const std::uint64_t budget = interpreter_value_stack_bytes(state_.limits());
            error_info info{"call stack exhausted: " + std::to_string(frames + 1) + " nested calls of up to " +
                            std::to_string(compiled_->metered->max_frame_values) +
                            " values each could take the interpreter's value stack past the memory limit of " +
                            std::to_string(budget) + " bytes"};
            info.limit = limit_detail{"memory", budget,
                                      (frames + 1) * 2 * compiled_->metered->max_frame_values * sizeof(wabt::interp::Value)};
            return error{error_kind::memory_limit, std::move(info)};
        }
        case interpreter_depth::bound::engine_stack: break;
        }
        return error{error_kind::trap, error_info{std::string(to_string(trap_reason::stack_exhausted))}};
    }

    wabt::interp::Ref host_import(std::size_t slot, const wabt::interp::ImportType& import) {
        const auto& type = *wabt::cast<wabt::interp::FuncType>(import.type.get());
        const host_function& f = *plan_.functions[slot];
        return wabt::interp::HostFunc::New(store_, type, [this, &f, slot](wabt::interp::Thread& thread, const wabt::interp::Values& params,
                                                              wabt::interp::Values& results, wabt::interp::Trap::Ptr* trap) -> wabt::Result {
            std::array<value, 16> args_buffer;
            std::array<value, 4> results_buffer;
            std::vector<value> args_heap, results_heap;
            std::span<value> args{args_buffer.data(), std::min(params.size(), args_buffer.size())};
            if (params.size() > args_buffer.size()) {
                args_heap.resize(params.size());
                args = args_heap;
            }
            for (std::size_t i = 0; i < args.size() && i < f.sig.params.size(); ++i) args[i] = detail::from_interp(params[i], f.sig.params[i]);
            std::span<value> outs{results_buffer.data(), std::min(results.size(), results_buffer.size())};
            if (results.size() > results_buffer.size()) {
                results_heap.resize(results.size());
                outs = results_heap;
            }
            host_call call{caller_memory(thread), state_};
            if (auto ok = detail::call_host(f, slot, call, args, outs); !ok) return stop(ok.error(), thread, trap);
            for (std::size_t i = 0; i < outs.size(); ++i) results[i] = detail::to_interp(outs[i]);
            return wabt::Result::Ok;
        }).ref();
    }

    guest_memory caller_memory(wabt::interp::Thread& thread) {
        wabt::interp::Instance* caller = thread.GetCallerInstance();
        // The usual caller is this sandbox's own instance, whose memory is already at hand;
        // looking it up in the store costs a root registration on every host call.
        if (memory_ && caller == instance_.get()) return {memory_->UnsafeData(), memory_->ByteSize()};
        if (!caller || caller->memories().empty()) return {};
        auto memory = store_.UnsafeGet<wabt::interp::Memory>(caller->memories()[0]);
        return {memory->UnsafeData(), memory->ByteSize()};
    }

    /// Stops the guest with `e`: the trap unwinds the interpreter, the error keeps its kind and
    /// the function the guest was in.
    wabt::Result stop(error e, const wabt::interp::Thread& thread, wabt::interp::Trap::Ptr* trap) {
        state_.pending = std::move(e);
        stopped_stack_ = detail::guest_functions_on(detail::unsafe_thread_frames(thread));
        *trap = wabt::interp::Trap::New(store_, std::string(detail::host_stop_message));
        return wabt::Result::Error;
    }

    /// `timed`: read the clocks for telemetry (a time limit reads its clock regardless).
    void begin_call(bool timed = true) {
        stopped_stack_.clear();
        fuel_->UnsafeSet(wabt::interp::Value::Make(accounting_.begin(state_, timed)));
        depth_->UnsafeSet(wabt::interp::Value::Make(std::int32_t{0}));
        depth_limit_->UnsafeSet(wabt::interp::Value::Make(guest_depth_limit()));
        current_function_->UnsafeSet(wabt::interp::Value::Make(std::int32_t{-1}));
    }

    /// The guest functions (original numbering, innermost first) on the stack when the guest
    /// trapped or was stopped.
    std::vector<std::uint32_t> stack_at_fault(const wabt::interp::Trap* trap) const {
        const std::vector<std::uint32_t> rewritten =
            // Read after the outcome took the pending error: a stop by the host left its stack here.
            !stopped_stack_.empty() ? stopped_stack_ : trap ? detail::guest_functions_on(detail::unsafe_trap_frames(*trap)) : std::vector<std::uint32_t>{};
        const auto& original = compiled_->metered->original_function;
        std::vector<std::uint32_t> out;
        out.reserve(rewritten.size());
        for (std::uint32_t index : rewritten)
            if (index < original.size() && original[index] >= 0) out.push_back(static_cast<std::uint32_t>(original[index]));
        return out;
    }

    /// The error for a fault during `name`, with the backtrace this sandbox was asked for.
    error fault(error_kind kind, error_info info, const std::vector<std::uint32_t>& stack, std::string_view name) const {
        const std::optional<std::uint32_t> innermost = stack.empty() ? std::nullopt : std::optional{stack.front()};
        error e = detail::make_call_error(kind, std::move(info), source_, innermost, name);
        if (!full_backtraces_ || stack.empty()) return e;
        error_info full = e.info();
        full.backtrace.clear();
        const bool cut = stack.size() > max_backtrace_frames;
        for (std::size_t i = 0; i < stack.size(); ++i) {
            if (cut && i >= max_backtrace_frames - 1 && i + 1 < stack.size()) continue;  // keep the outermost
            full.backtrace.push_back(frame{source_.function_name(stack[i]), stack[i], std::nullopt});
        }
        full.backtrace_complete = !cut;
        return error{kind, std::move(full)};
    }

    /// Accounts the call and turns a trap, if any, into the error the caller sees.
    result<void> finish_call(bool trapped, const wabt::interp::Trap* trap, std::string_view name) {
        accounting_.end(state_, fuel_->Get().Get<std::int64_t>(), memory_bytes());
        // A call that did not trap has no message to read or classify.
        const std::string trap_message = !trapped ? std::string() : trap ? trap->message() : std::string("trap");
        return accounting_.outcome(state_, source_, name, trapped,
                                   trapped ? classify_trap(trap_message) : trap_reason::other, trap_message, memory_bytes(),
                                   [&](error_kind kind, error_info info) { return fault(kind, std::move(info), stack_at_fault(trap), name); });
    }

    result<void> run(const wabt::interp::Func::Ptr& func, const wabt::interp::Values& params, wabt::interp::Values& results,
                     std::string_view name) {
        if (running_)
            return fail(error_kind::invalid_argument,
                        "sandbox is already running a call; calling it again from a host function is not supported");
        running_ = true;
        begin_call();
        // The thread's stacks are made on the first call, not with the sandbox: an idle
        // sandbox costs less to create and to keep.
        if (!thread_) thread_.emplace(store_);
        wabt::interp::Trap::Ptr trap;
        // A defined function sizes its results; a host function (a re-exported import) writes
        // into what it is given.
        results.resize(func->type().results.size());
        const wabt::Result outcome = func->Call(*thread_, params, results, &trap);
        running_ = false;
        // WABT can return Ok with a trap set; either one means the call failed.
        const bool trapped = wabt::Failed(outcome) || trap;
        // A trap can leave frames and values behind in the thread; the next call gets a clean one.
        auto failed = finish_call(trapped, trap.get(), name);
        if (trapped) {
            thread_.reset();
            // WABT's store frees an object only when it is collected: without this, every trap
            // left its Trap (message and frames, ~200 bytes) behind for the sandbox's lifetime,
            // so a guest that trapped on each call grew the host without bound.
            trap.reset();
            store_.Collect();
        }
        return failed;
    }

    module source_;
    std::shared_ptr<const detail::interp_compiled> compiled_;
    std::vector<host_function> user_functions_;  // the link plan points into these
    link_plan plan_;
    sandbox_state state_;
    wabt::interp::Store store_;
    std::optional<wabt::interp::Thread> thread_;
    wabt::interp::Module::Ptr module_;
    wabt::interp::Instance::Ptr instance_;
    wabt::interp::Memory::Ptr memory_;
    wabt::interp::Global::Ptr fuel_, depth_, depth_limit_, current_function_;
    std::map<std::string, export_function, std::less<>> exports_;
    std::pair<const std::string, export_function>* last_export_ = nullptr;
    std::vector<std::uint32_t> stopped_stack_;  // guest functions a host-side stop interrupted, innermost first
    bool full_backtraces_ = false;
    interpreter_depth guest_depth_;
    wabt::interp::Values params_, results_;
    call_accounting accounting_;
    bool running_ = false;
};

/// The engine tag the behaviour suite and the backend are parameterised over.
struct interpreter_engine {
    using instance = interpreter_instance;
    static constexpr std::string_view name = "WABT interpreter";
    static constexpr std::string_view backend_name = "wasm interpreter";
    /// This engine's rows of the wasm backend's capability table.
    static constexpr std::array capabilities{
        enforces(element::isolation, "WebAssembly linear memory, in process (WABT interpreter)"),
        enforces(element::memory, "bounds checked by the interpreter"),
        enforces(element::stack, "call depth bounded by WABT's call stack and, through an injected depth counter, by "
                                 "the value stack's share of the memory limit"),
    };
};

} // namespace cordon::wasm
