// The metering rewrite shared by every wasm engine: fuel counters at function entries and loop
// headers, an optional call-depth and current-function tracker, done once per module with WABT's IR.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/detail/wabt_ir.hpp>
#include <cordon/wasm/module.hpp>

#include <wabt/cast.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cordon::wasm {

/// The names a metered module imports from the host, under module "cordon_meter". A guest
/// module that imports from this module itself is refused: only the rewrite may.
namespace meter_abi {
inline constexpr std::string_view module = "cordon_meter";
inline constexpr std::string_view out_of_fuel = "out_of_fuel";          // func () -> ()
inline constexpr std::string_view depth_exceeded = "depth_exceeded";    // func () -> ()
inline constexpr std::string_view grow_failed = "grow_failed";          // func () -> ()
inline constexpr std::string_view fuel = "fuel";                        // global mut i64
inline constexpr std::string_view depth = "depth";                      // global mut i32
inline constexpr std::string_view depth_limit = "depth_limit";          // global mut i32
inline constexpr std::string_view current_function = "current_function";  // global mut i32
} // namespace meter_abi

struct metering_options {
    /// Record the innermost function in a global, so that traps name where they happened.
    /// Costs four instructions per call.
    bool track_frames = true;
    /// Count call depth against a host-set limit. Costs about ten instructions per call; engines
    /// turn it on only when the policy's call_depth is tighter than their own stack limit.
    bool track_depth = false;

    [[nodiscard]] std::string key() const {
        return std::string("metered.v4.frames=") + (track_frames ? "1" : "0") + ".depth=" + (track_depth ? "1" : "0");
    }
};

/// A module after the rewrite: bytes to hand to an engine, and where the meter lives.
struct metered_module {
    std::vector<std::uint8_t> bytes;
    metering_options options;
    std::uint32_t functions_shift = 0;  // how far defined functions moved in the index space
    std::uint32_t first_import_function = 0;  // index of out_of_fuel in the rewritten module
    /// Rewritten function index -> original index (imports of the meter map to none).
    std::vector<std::int64_t> original_function;
    /// At most this many values (parameters, locals, operands) in one frame of any defined
    /// function of the rewritten module: what an engine's value stack grows by per call.
    std::uint64_t max_frame_values = 1;
    /// Whether any function calls through a table.
    bool indirect_calls = false;
};

namespace detail {

/// Adds the expression lists nested directly in `expr` to `out`: a block's body, both arms of
/// an if, and a loop's body when `into_loops`.
template <class E, class Out> void nested_lists(E& expr, bool into_loops, Out& out) {
    switch (expr.type()) {
    case wabt::ExprType::Block: out.push_back(&wabt::cast<wabt::BlockExpr>(&expr)->block.exprs); break;
    case wabt::ExprType::Loop:
        if (into_loops) out.push_back(&wabt::cast<wabt::LoopExpr>(&expr)->block.exprs);
        break;
    case wabt::ExprType::If: {
        auto* if_expr = wabt::cast<wabt::IfExpr>(&expr);
        out.push_back(&if_expr->true_.exprs);
        out.push_back(&if_expr->false_);
        break;
    }
    default: break;
    }
}

/// Calls `fn(list, it)` for every expression of `root` and of the lists nested in it, lists in
/// no particular order. An explicit stack, not recursion: nothing a module's structure controls
/// may drive the host's recursion. `fn` may insert after `it`; it returns the last expression it
/// handled, and the walk goes on after that one (so inserted code is not walked).
template <class List, class Fn> void walk_exprs(List& root, bool into_loops, Fn&& fn) {
    std::vector<List*> pending{&root};
    while (!pending.empty()) {
        List& list = *pending.back();
        pending.pop_back();
        for (auto it = list.begin(); it != list.end(); ++it) {
            nested_lists(*it, into_loops, pending);
            it = fn(list, it);
        }
    }
}

template <class Fn> void for_each_expr(wabt::ExprList& list, Fn&& fn) {
    walk_exprs(list, /*into_loops=*/true, [&](wabt::ExprList&, wabt::ExprList::iterator it) {
        fn(*it);
        return it;
    });
}

/// Every expression list of the module: bodies and constant expressions.
template <class Fn> void for_each_expr_list(wabt::Module& ir, Fn&& fn) {
    for (std::size_t i = ir.num_func_imports; i < ir.funcs.size(); ++i) fn(ir.funcs[i]->exprs);
    for (std::size_t i = ir.num_global_imports; i < ir.globals.size(); ++i) fn(ir.globals[i]->init_expr);
    for (wabt::ElemSegment* segment : ir.elem_segments) {
        fn(segment->offset);
        for (auto& list : segment->elem_exprs) fn(list);
    }
    for (wabt::DataSegment* segment : ir.data_segments) fn(segment->offset);
}

/// Moves every reference to a function at or past `from` up by `by`, and the same for globals.
inline void shift_indices(wabt::Module& ir, wabt::Index funcs_from, wabt::Index funcs_by, wabt::Index globals_from,
                          wabt::Index globals_by) {
    auto shift = [](wabt::Var& var, wabt::Index from, wabt::Index by) {
        if (var.is_index() && var.index() >= from) var.set_index(var.index() + by);
    };
    for_each_expr_list(ir, [&](wabt::ExprList& list) {
        for_each_expr(list, [&](wabt::Expr& expr) {
            switch (expr.type()) {
            case wabt::ExprType::Call: shift(wabt::cast<wabt::CallExpr>(&expr)->var, funcs_from, funcs_by); break;
            case wabt::ExprType::ReturnCall:
                shift(wabt::cast<wabt::ReturnCallExpr>(&expr)->var, funcs_from, funcs_by);
                break;
            case wabt::ExprType::RefFunc: shift(wabt::cast<wabt::RefFuncExpr>(&expr)->var, funcs_from, funcs_by); break;
            case wabt::ExprType::GlobalGet:
                shift(wabt::cast<wabt::GlobalGetExpr>(&expr)->var, globals_from, globals_by);
                break;
            case wabt::ExprType::GlobalSet:
                shift(wabt::cast<wabt::GlobalSetExpr>(&expr)->var, globals_from, globals_by);
                break;
            default: break;
            }
        });
    });
    for (wabt::Export* e : ir.exports) {
        if (e->kind == wabt::ExternalKind::Func) shift(e->var, funcs_from, funcs_by);
        if (e->kind == wabt::ExternalKind::Global) shift(e->var, globals_from, globals_by);
    }
    for (wabt::Var* start : ir.starts) shift(*start, funcs_from, funcs_by);
}

inline wabt::Index find_or_add_void_type(wabt::Module& ir) {
    for (wabt::Index i = 0; i < ir.types.size(); ++i) {
        if (auto* type = wabt::dyn_cast<wabt::FuncType>(ir.types[i]))
            if (type->sig.param_types.empty() && type->sig.result_types.empty()) return i;
    }
    auto field = std::make_unique<wabt::TypeModuleField>();
    field->type = std::make_unique<wabt::FuncType>();
    ir.AppendField(std::move(field));
    return static_cast<wabt::Index>(ir.types.size() - 1);
}

/// Appends an import and keeps the cached vectors in index order: the new function or global
/// lands after the existing imports of its kind, before every defined one.
inline void add_import(wabt::Module& ir, std::unique_ptr<wabt::Import> import) {
    wabt::Import* raw = import.get();
    ir.imports.push_back(raw);
    if (auto* func = wabt::dyn_cast<wabt::FuncImport>(raw)) {
        ir.funcs.insert(ir.funcs.begin() + ir.num_func_imports, &func->func);
        ++ir.num_func_imports;
    } else if (auto* global = wabt::dyn_cast<wabt::GlobalImport>(raw)) {
        ir.globals.insert(ir.globals.begin() + ir.num_global_imports, &global->global);
        ++ir.num_global_imports;
    }
    ir.fields.push_back(std::make_unique<wabt::ImportModuleField>(std::move(import)));
}

inline void add_func_import(wabt::Module& ir, std::string_view name, wabt::Index type_index) {
    auto import = std::make_unique<wabt::FuncImport>();
    import->module_name = meter_abi::module;
    import->field_name = name;
    import->func.decl.has_func_type = true;
    import->func.decl.type_var = wabt::Var(type_index, wabt::Location());
    add_import(ir, std::move(import));
}

inline void add_global_import(wabt::Module& ir, std::string_view name, wabt::Type type) {
    auto import = std::make_unique<wabt::GlobalImport>();
    import->module_name = meter_abi::module;
    import->field_name = name;
    import->global.type = type;
    import->global.mutable_ = true;
    add_import(ir, std::move(import));
}

/// Where the meter's imports ended up in the rewritten module.
struct meter_indices {
    wabt::Index out_of_fuel = 0, depth_exceeded = 0, grow_failed = 0;
    wabt::Index fuel = 0, depth = 0, depth_limit = 0, current_function = 0;
};

class expr_builder {
public:
    explicit expr_builder(wabt::ExprList& out) : out_{out} {}
    template <class T, class... Args> void add(Args&&... args) {
        out_.push_back(std::make_unique<T>(std::forward<Args>(args)...));
    }
    static wabt::Var var(wabt::Index index) { return wabt::Var(index, wabt::Location()); }

private:
    wabt::ExprList& out_;
};

/// fuel -= cost, without the test: for places where a test follows before anything else can
/// happen (see calls_a_checked_function_first).
inline wabt::ExprList fuel_charge(const meter_indices& at, std::uint64_t cost) {
    wabt::ExprList list;
    expr_builder b{list};
    b.add<wabt::GlobalGetExpr>(expr_builder::var(at.fuel));
    b.add<wabt::ConstExpr>(wabt::Const::I64(cost));
    b.add<wabt::BinaryExpr>(wabt::Opcode::I64Sub);
    b.add<wabt::GlobalSetExpr>(expr_builder::var(at.fuel));
    return list;
}

/// fuel -= cost; if (fuel < 0) out_of_fuel();  The host refills or traps.
inline wabt::ExprList fuel_check(const meter_indices& at, std::uint64_t cost) {
    wabt::ExprList list = fuel_charge(at, cost);
    expr_builder b{list};
    b.add<wabt::GlobalGetExpr>(expr_builder::var(at.fuel));
    b.add<wabt::ConstExpr>(wabt::Const::I64(0));
    b.add<wabt::CompareExpr>(wabt::Opcode::I64LtS);
    auto refill = std::make_unique<wabt::IfExpr>();
    refill->true_.exprs.push_back(std::make_unique<wabt::CallExpr>(expr_builder::var(at.out_of_fuel)));
    list.push_back(std::move(refill));
    return list;
}

/// Whether every pass through `list` calls a function of the module itself (which tests fuel
/// on entry) before it can branch, return or run nested code. A loop body like that needs no
/// test of its own at its header: the charge is tested a few plain instructions later, at the
/// callee's entry, so a loop still cannot run on without a test and the sum charged is the
/// same. Recursive functions written as a loop around one self-call (fib) are the common case.
inline bool calls_a_checked_function_first(const wabt::ExprList& list, wabt::Index first_defined_function) {
    for (const wabt::Expr& expr : list) {
        switch (expr.type()) {
        case wabt::ExprType::Call:
            return wabt::cast<wabt::CallExpr>(&expr)->var.index() >= first_defined_function;
        case wabt::ExprType::Binary:
        case wabt::ExprType::Compare:
        case wabt::ExprType::Const:
        case wabt::ExprType::Convert:
        case wabt::ExprType::Drop:
        case wabt::ExprType::GlobalGet:
        case wabt::ExprType::GlobalSet:
        case wabt::ExprType::Load:
        case wabt::ExprType::LocalGet:
        case wabt::ExprType::LocalSet:
        case wabt::ExprType::LocalTee:
        case wabt::ExprType::Nop:
        case wabt::ExprType::Select:
        case wabt::ExprType::Store:
        case wabt::ExprType::Unary:
            continue;  // straight-line: neither branches nor calls out
        default:
            return false;
        }
    }
    return false;
}

/// The instructions of `list` that run each time control enters it, loops excluded (they pay
/// at their own header). Both arms of an `if` count: the cost is an upper bound, and the same on
/// every engine, which is what makes fuel deterministic.
inline std::uint64_t straight_line_cost(const wabt::ExprList& list) {
    std::uint64_t cost = 0;
    walk_exprs(list, /*into_loops=*/false, [&](const wabt::ExprList&, wabt::ExprList::const_iterator it) {
        ++cost;
        return it;
    });
    return cost;
}

inline void meter_loops(wabt::ExprList& list, const meter_indices& at, wabt::Index first_defined_function) {
    std::vector<wabt::ExprList*> loop_bodies;
    walk_exprs(list, /*into_loops=*/true, [&](wabt::ExprList&, wabt::ExprList::iterator it) {
        if (it->type() == wabt::ExprType::Loop) loop_bodies.push_back(&wabt::cast<wabt::LoopExpr>(&*it)->block.exprs);
        return it;
    });
    // The order of the loops does not matter: a check goes at the head of its own body, which
    // no other loop's cost counts (costs stop at loops) and no other loop's first call can see.
    for (wabt::ExprList* body : loop_bodies) {
        const bool tested_by_callee = calls_a_checked_function_first(*body, first_defined_function);
        const std::uint64_t cost = std::max<std::uint64_t>(1, straight_line_cost(*body));
        auto check = tested_by_callee ? fuel_charge(at, cost) : fuel_check(at, cost);
        body->splice(body->begin(), check);
    }
}

/// depth = saved = depth + 1; if (saved > depth_limit) depth_exceeded();  current_function = self
inline wabt::ExprList call_entry(const meter_indices& at, std::optional<wabt::Index> saved_local, bool track_frames,
                                 std::uint32_t self) {
    wabt::ExprList list;
    expr_builder b{list};
    if (saved_local) {
        b.add<wabt::GlobalGetExpr>(expr_builder::var(at.depth));
        b.add<wabt::ConstExpr>(wabt::Const::I32(1));
        b.add<wabt::BinaryExpr>(wabt::Opcode::I32Add);
        b.add<wabt::LocalTeeExpr>(expr_builder::var(*saved_local));
        b.add<wabt::GlobalSetExpr>(expr_builder::var(at.depth));
        b.add<wabt::LocalGetExpr>(expr_builder::var(*saved_local));
        b.add<wabt::GlobalGetExpr>(expr_builder::var(at.depth_limit));
        b.add<wabt::CompareExpr>(wabt::Opcode::I32GtU);
        auto over = std::make_unique<wabt::IfExpr>();
        over->true_.exprs.push_back(std::make_unique<wabt::CallExpr>(expr_builder::var(at.depth_exceeded)));
        list.push_back(std::move(over));
    }
    if (track_frames) {
        b.add<wabt::ConstExpr>(wabt::Const::I32(self));
        b.add<wabt::GlobalSetExpr>(expr_builder::var(at.current_function));
    }
    return list;
}

/// After a call returns, the caller is again the innermost frame: restore depth and name.
inline void restore_after_calls(wabt::ExprList& root, const meter_indices& at, std::optional<wabt::Index> saved_local,
                                bool track_frames, std::uint32_t self) {
    walk_exprs(root, /*into_loops=*/true, [&](wabt::ExprList& list, wabt::ExprList::iterator it) {
        if (it->type() != wabt::ExprType::Call && it->type() != wabt::ExprType::CallIndirect) return it;
        if (it->type() == wabt::ExprType::Call) {
            const wabt::Index callee = wabt::cast<wabt::CallExpr>(&*it)->var.index();
            if (callee == at.out_of_fuel || callee == at.grow_failed || (saved_local && callee == at.depth_exceeded)) return it;
        }
        wabt::ExprList restore;
        expr_builder b{restore};
        if (saved_local) {
            b.add<wabt::LocalGetExpr>(expr_builder::var(*saved_local));
            b.add<wabt::GlobalSetExpr>(expr_builder::var(at.depth));
        }
        if (track_frames) {
            b.add<wabt::ConstExpr>(wabt::Const::I32(self));
            b.add<wabt::GlobalSetExpr>(expr_builder::var(at.current_function));
        }
        auto next = std::next(it);
        list.splice(next, restore);
        return std::prev(next);
    });
}

/// After memory.grow: if it returned -1, tell the host (a later trap is then reported as the
/// memory limit it most likely is), and leave the result on the stack as before.
inline bool report_failed_grows(wabt::ExprList& root, const meter_indices& at, wabt::Func& func,
                                std::optional<wabt::Index>& scratch) {
    bool found = false;
    walk_exprs(root, /*into_loops=*/true, [&](wabt::ExprList& list, wabt::ExprList::iterator it) {
        if (it->type() != wabt::ExprType::MemoryGrow) return it;
        found = true;
        if (!scratch) {
            scratch = func.GetNumParamsAndLocals();
            func.local_types.AppendDecl(wabt::Type::I32, 1);
        }
        wabt::ExprList check;
        expr_builder b{check};
        b.add<wabt::LocalTeeExpr>(expr_builder::var(*scratch));
        b.add<wabt::ConstExpr>(wabt::Const::I32(0xFFFF'FFFFu));
        b.add<wabt::CompareExpr>(wabt::Opcode::I32Eq);
        auto failed = std::make_unique<wabt::IfExpr>();
        failed->true_.exprs.push_back(std::make_unique<wabt::CallExpr>(expr_builder::var(at.grow_failed)));
        check.push_back(std::move(failed));
        b.add<wabt::LocalGetExpr>(expr_builder::var(*scratch));
        auto next = std::next(it);
        list.splice(next, check);
        return std::prev(next);
    });
    return found;
}

/// Bounds the values a frame of each defined function can hold: its parameters and locals,
/// and operands no more than its instructions push, each at most the widest result of any type
/// (validation makes the operand height at any point a fixed count of earlier pushes).
inline void measure_frames(const wabt::Module& ir, metered_module& out) {
    std::uint64_t widest = 1;
    for (const wabt::TypeEntry* type : ir.types)
        if (auto* func_type = wabt::dyn_cast<wabt::FuncType>(type))
            widest = std::max<std::uint64_t>(widest, func_type->sig.result_types.size());
    for (wabt::Index i = ir.num_func_imports; i < ir.funcs.size(); ++i) {
        const wabt::Func& func = *ir.funcs[i];
        std::uint64_t instructions = 0;
        walk_exprs(func.exprs, /*into_loops=*/true, [&](const wabt::ExprList&, wabt::ExprList::const_iterator it) {
            ++instructions;
            out.indirect_calls |= it->type() == wabt::ExprType::CallIndirect;
            return it;
        });
        out.max_frame_values = std::max(out.max_frame_values, func.GetNumParamsAndLocals() + instructions * widest);
    }
}

inline result<metered_module> rewrite(const module& source, const metering_options& options) {
    for (const auto& import : source.imports())
        if (import.module == meter_abi::module)
            return fail(error_kind::load_error, "module imports " + import.module + "." + import.name +
                                                    ": the module name '" + std::string(meter_abi::module) +
                                                    "' is reserved for cordon's metering");
    auto parsed = parse_ir(source.bytes(), /*validate=*/false);
    if (!parsed) return parsed.error();
    wabt::Module& ir = **parsed;

    const wabt::Index old_func_imports = ir.num_func_imports;
    const wabt::Index old_global_imports = ir.num_global_imports;
    const wabt::Index void_type = find_or_add_void_type(ir);

    meter_indices at;
    wabt::Index new_funcs = 0, new_globals = 0;
    add_func_import(ir, meter_abi::out_of_fuel, void_type);
    at.out_of_fuel = old_func_imports + new_funcs++;
    add_func_import(ir, meter_abi::grow_failed, void_type);
    at.grow_failed = old_func_imports + new_funcs++;
    if (options.track_depth) {
        add_func_import(ir, meter_abi::depth_exceeded, void_type);
        at.depth_exceeded = old_func_imports + new_funcs++;
    }
    add_global_import(ir, meter_abi::fuel, wabt::Type::I64);
    at.fuel = old_global_imports + new_globals++;
    if (options.track_depth) {
        add_global_import(ir, meter_abi::depth, wabt::Type::I32);
        at.depth = old_global_imports + new_globals++;
        add_global_import(ir, meter_abi::depth_limit, wabt::Type::I32);
        at.depth_limit = old_global_imports + new_globals++;
    }
    if (options.track_frames) {
        add_global_import(ir, meter_abi::current_function, wabt::Type::I32);
        at.current_function = old_global_imports + new_globals++;
    }
    // The new imports sit in the index spaces already; move the old references past them
    // (but not the references to the new imports, which nothing uses yet).
    shift_indices(ir, old_func_imports, new_funcs, old_global_imports, new_globals);

    for (wabt::Index i = ir.num_func_imports; i < ir.funcs.size(); ++i) {
        wabt::Func& func = *ir.funcs[i];
        const std::uint32_t original_index = i - new_funcs;
        std::optional<wabt::Index> scratch;
        report_failed_grows(func.exprs, at, func, scratch);
        meter_loops(func.exprs, at, ir.num_func_imports);
        wabt::ExprList entry = fuel_check(at, std::max<std::uint64_t>(1, straight_line_cost(func.exprs)));
        if (options.track_depth || options.track_frames) {
            std::optional<wabt::Index> saved;
            if (options.track_depth) {
                saved = func.GetNumParamsAndLocals();
                func.local_types.AppendDecl(wabt::Type::I32, 1);
            }
            restore_after_calls(func.exprs, at, saved, options.track_frames, original_index);
            wabt::ExprList calls = call_entry(at, saved, options.track_frames, original_index);
            entry.splice(entry.end(), calls);
        }
        func.exprs.splice(func.exprs.begin(), entry);
    }

    auto bytes = write_ir(ir);
    if (!bytes) return bytes.error();
    metered_module out;
    measure_frames(ir, out);
    out.bytes = std::move(*bytes);
    out.options = options;
    out.functions_shift = new_funcs;
    out.first_import_function = old_func_imports;
    out.original_function.resize(ir.funcs.size(), -1);
    for (wabt::Index i = 0; i < ir.funcs.size(); ++i) {
        if (i < old_func_imports) out.original_function[i] = i;
        else if (i >= old_func_imports + new_funcs) out.original_function[i] = i - new_funcs;
    }
    return out;
}

} // namespace detail

/// The metered form of `source`, rewritten on first use and shared afterwards.
inline result<std::shared_ptr<const metered_module>> metered(const module& source, const metering_options& options = {}) {
    return source.derived<metered_module>(options.key(), [&]() -> result<std::shared_ptr<const metered_module>> {
        auto rewritten = detail::rewrite(source, options);
        if (!rewritten) return rewritten.error();
        return std::make_shared<const metered_module>(std::move(*rewritten));
    });
}

} // namespace cordon::wasm
