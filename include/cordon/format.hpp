// fmt formatters for cordon's values: errors ("trap: out of bounds memory access in f (wasm
// backtrace: f <- main)"), policies (a readable list), telemetry and enforcement reports.
#pragma once

#include <cordon/policy/policy.hpp>
#include <cordon/policy/spec.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>
#include <cordon/units.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

namespace cordon::detail {

/// "500 ms", "2 s".
inline std::string human_ms(std::uint64_t ms) {
    if (ms >= 1000 && ms % 1000 == 0) return fmt::format("{} s", ms / 1000);
    return fmt::format("{} ms", ms);
}

inline std::string describe_limit(limit::kind k, std::uint64_t v) {
    switch (k) {
    case limit::kind::memory:
    case limit::kind::output_bytes: return human_bytes(v);
    case limit::kind::cpu_time_ms:
    case limit::kind::wall_time_ms: return human_ms(v);
    default: return std::to_string(v);
    }
}

inline std::string describe(const policy_spec& spec) {
    std::string out = "policy(" + spec.preset + "; ceiling: ";
    std::vector<std::string> parts;
    for (const auto& e : spec.ceiling) {
        std::string p = e.name;
        for (const auto& alternatives : e.scope_limits) p += fmt::format(" within {{{}}}", fmt::join(alternatives, ", "));
        parts.push_back(std::move(p));
    }
    if (spec.admits_unlisted) parts.emplace_back("custom permissions");
    out += parts.empty() ? "nothing" : fmt::format("{}", fmt::join(parts, ", "));
    parts.clear();
    for (const auto& g : spec.grants) parts.push_back(g.scope ? g.name + "=" + *g.scope : g.name);
    out += "; granted: " + (parts.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(parts, ", ")));
    parts.clear();
    for (auto k : limit::all_kinds)
        if (auto v = spec.limits.get(k)) parts.push_back(fmt::format("{} {}", limit::name(k), describe_limit(k, *v)));
    out += "; limits: " + (parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", ")));
    if (spec.best_effort) out += "; best effort";
    return out + ")";
}

} // namespace cordon::detail

template <> struct fmt::formatter<cordon::error_kind> : fmt::formatter<std::string_view> {
    auto format(cordon::error_kind k, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(cordon::to_string(k), ctx);
    }
};

template <> struct fmt::formatter<cordon::error> : fmt::formatter<std::string_view> {
    auto format(const cordon::error& e, format_context& ctx) const {
        const auto& info = e.info();
        std::string text = fmt::format("{}: {}", cordon::to_string(e.kind()), info.message);
        if (info.syscall) text += fmt::format(" (syscall {}{})", *info.syscall,
                                              info.syscall_number ? fmt::format(" #{}", *info.syscall_number) : "");
        if (info.signal) text += fmt::format(" (signal {})", *info.signal);
        if (!info.backtrace.empty()) {
            std::vector<std::string> names;
            for (const auto& f : info.backtrace) names.push_back(f.function);
            text += fmt::format(" (backtrace: {})", fmt::join(names, info.backtrace_complete ? " <- " : " <- ... <- "));
        }
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};

template <> struct fmt::formatter<cordon::policy_spec> : fmt::formatter<std::string_view> {
    auto format(const cordon::policy_spec& spec, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(cordon::detail::describe(spec), ctx);
    }
};

/// A policy type prints as its spec: fmt::print("{}", my_policy{}).
template <class... Es> struct fmt::formatter<cordon::policy<Es...>> : fmt::formatter<cordon::policy_spec> {
    auto format(const cordon::policy<Es...>&, format_context& ctx) const {
        return fmt::formatter<cordon::policy_spec>::format(cordon::policy<Es...>::spec(), ctx);
    }
};

template <> struct fmt::formatter<cordon::usage> : fmt::formatter<std::string_view> {
    auto format(const cordon::usage& u, format_context& ctx) const {
        std::string text = fmt::format("calls {} wall {:.3f} ms cpu {:.3f} ms", u.calls, static_cast<double>(u.wall_ns) / 1e6,
                                       static_cast<double>(u.cpu_ns) / 1e6);
        if (u.fuel) text += fmt::format(" fuel {}", u.fuel);
        if (u.peak_memory_bytes) text += " peak memory " + cordon::human_bytes(u.peak_memory_bytes);
        text += fmt::format(" host calls {} violations {}", u.host_calls, u.violations);
        if (u.errors) text += fmt::format(" errors {}", u.errors);
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};

template <> struct fmt::formatter<cordon::telemetry> : fmt::formatter<std::string_view> {
    auto format(const cordon::telemetry& t, format_context& ctx) const {
        std::string text = fmt::format("last call: {}; total: {}", t.last_call, t.total);
        if (t.restarts) text += fmt::format("; restarts {}", t.restarts);
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};

template <> struct fmt::formatter<cordon::enforcement_report> : fmt::formatter<std::string_view> {
    auto format(const cordon::enforcement_report& r, format_context& ctx) const {
        std::string text = fmt::format("enforcement ({}):", r.backend);
        for (const auto& e : r.entries)
            text += fmt::format("\n  {:<16} {}{}", std::string(cordon::to_string(e.element)) + ":", e.mechanism,
                                e.level == cordon::enforcement_level::enforced ? ""
                                                                               : fmt::format(" [{}]", cordon::to_string(e.level)));
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};
