// The errors every backend words alike: an export that is not there, a call whose signature is
// not the export's, and a limit the guest ran into, with the limit and what was used attached.
#pragma once

#include <cordon/policy/limit.hpp>
#include <cordon/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cordon {

/// "no exported function named fib", with `why` saying what is wrong with an export of that
/// name when there is one ("it takes bytes; use call_bytes").
inline error no_export(std::string_view name, std::string_view why = {}) {
    std::string text = "no exported function named " + std::string(name);
    if (!why.empty()) text += " (" + std::string(why) + ")";
    error_info info{std::move(text)};
    info.function = std::string(name);
    return error{error_kind::invalid_argument, std::move(info)};
}

/// "export fib has signature (i32) -> i32, called as (i64) -> i32". `subject` names what was
/// called when it is not an export ("host function log").
inline error signature_mismatch(std::string_view name, std::string_view has, std::string_view called_as,
                                std::string_view subject = "export") {
    error_info info{std::string(subject) + " " + std::string(name) + " has signature " + std::string(has) +
                    ", called as " + std::string(called_as)};
    info.function = std::string(name);
    return error{error_kind::invalid_argument, std::move(info)};
}

/// The kind of error a limit's excess is. A call too deep is a trap (as a native stack
/// overflow would be); connections past the limit are refused.
constexpr error_kind error_kind_of(limit::kind k) noexcept {
    switch (k) {
    case limit::kind::memory: return error_kind::memory_limit;
    case limit::kind::cpu_time_ms: return error_kind::cpu_limit;
    case limit::kind::wall_time_ms: return error_kind::timeout;
    case limit::kind::fuel: return error_kind::fuel_exhausted;
    case limit::kind::open_files: return error_kind::file_limit;
    case limit::kind::processes: return error_kind::process_limit;
    case limit::kind::net_connections: return error_kind::denied;
    case limit::kind::output_bytes: return error_kind::output_limit;
    case limit::kind::call_depth: return error_kind::trap;
    }
    return error_kind::internal;
}

/// "wall_time limit of 100 ms exceeded", with the limit and what was used (when known) as its
/// limit_detail; `context` adds where it happened ("while compiling the module"). The name is
/// a limit's name or a mechanism's own bound ("table", "file_size").
inline error limit_exceeded(error_kind kind, std::string_view name, std::string_view unit, std::uint64_t limit,
                            std::optional<std::uint64_t> observed, std::string_view context = {}) {
    std::string text = std::string(name) + " limit of " + std::to_string(limit);
    if (!unit.empty()) text += " " + std::string(unit);
    text += " exceeded";
    if (!context.empty()) text += " " + std::string(context);
    error_info info{std::move(text)};
    info.limit = limit_detail{std::string(name), limit, observed};
    return error{kind, std::move(info)};
}

/// The same for one of the policy's limits, as the error kind that limit stands for.
inline error limit_exceeded(limit::kind which, std::uint64_t limit, std::optional<std::uint64_t> observed,
                            std::string_view context = {}) {
    return limit_exceeded(error_kind_of(which), limit::name(which), limit::unit(which), limit, observed, context);
}

} // namespace cordon
