// Engine-neutral translation of wasm traps into cordon errors: a kind, a canonical reason in
// the message, and a backtrace with function names.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/module.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

/// Why a guest trapped, in the words of the spec's test suite.
enum class trap_reason : std::uint8_t {
    unreachable,
    memory_out_of_bounds,
    table_out_of_bounds,
    integer_divide_by_zero,
    integer_overflow,
    invalid_conversion,
    stack_exhausted,
    indirect_call_mismatch,       // the element's function has another type
    indirect_call_undefined,      // the index is past the table's end
    indirect_call_uninitialized,  // the element is null
    other,
};

constexpr std::string_view to_string(trap_reason reason) noexcept {
    switch (reason) {
    case trap_reason::unreachable: return "unreachable executed";
    case trap_reason::memory_out_of_bounds: return "out of bounds memory access";
    case trap_reason::table_out_of_bounds: return "out of bounds table access";
    case trap_reason::integer_divide_by_zero: return "integer divide by zero";
    case trap_reason::integer_overflow: return "integer overflow";
    case trap_reason::invalid_conversion: return "invalid conversion to integer";
    case trap_reason::stack_exhausted: return "call stack exhausted";
    case trap_reason::indirect_call_mismatch: return "indirect call type mismatch";
    case trap_reason::indirect_call_undefined: return "indirect call to an undefined element";
    case trap_reason::indirect_call_uninitialized: return "indirect call to an uninitialized element";
    case trap_reason::other: return "trap";
    }
    return "trap";
}

/// Classifies an engine's trap message (WABT's interpreter and wasm2c use the spec's wording).
inline trap_reason classify_trap(std::string_view message) {
    auto has = [&](std::string_view s) { return message.find(s) != std::string_view::npos; };
    if (has("unreachable")) return trap_reason::unreachable;
    if (has("out of bounds memory")) return trap_reason::memory_out_of_bounds;
    if (has("divide by zero")) return trap_reason::integer_divide_by_zero;
    if (has("integer overflow")) return trap_reason::integer_overflow;
    if (has("invalid conversion")) return trap_reason::invalid_conversion;
    if (has("call stack exhausted") || has("stack overflow")) return trap_reason::stack_exhausted;
    if (has("signature mismatch") || has("type mismatch")) return trap_reason::indirect_call_mismatch;
    if (has("uninitialized table element") || has("uninitialized element")) return trap_reason::indirect_call_uninitialized;
    if (has("undefined table index") || has("undefined element")) return trap_reason::indirect_call_undefined;
    if (has("out of bounds table")) return trap_reason::table_out_of_bounds;
    return trap_reason::other;
}

namespace detail {

/// innermost: function index (original numbering) where the guest was when it stopped, if
/// known; outermost: the export that was called.
inline std::vector<frame> make_backtrace(const module& source, std::optional<std::uint32_t> innermost,
                                         std::string_view export_name) {
    std::vector<frame> trace;
    std::optional<std::uint32_t> outer_index;
    if (const export_info* e = source.find_export(export_name)) outer_index = e->index;
    if (innermost) trace.push_back(frame{source.function_name(*innermost), innermost, std::nullopt});
    if (outer_index && (!innermost || *innermost != *outer_index))
        trace.push_back(frame{source.function_name(*outer_index), outer_index, std::nullopt});
    return trace;
}

/// The error for a trap or a host-side stop during `export_name`.
inline error make_call_error(error_kind kind, error_info info, const module& source,
                             std::optional<std::uint32_t> innermost, std::string_view export_name) {
    info.backtrace = make_backtrace(source, innermost, export_name);
    info.function = std::string(export_name);
    info.message += " in " + std::string(export_name);
    // The interpreter shows the innermost function and the export, not the frames between.
    info.backtrace_complete = info.backtrace.size() < 2;
    return {kind, std::move(info)};
}

} // namespace detail
} // namespace cordon::wasm
