// The options `run` and `exec` share (DESIGN.md, "The command-line program"), their parsing onto
// CLI11, and their translation into a level and sandbox_options: flags narrow inside the level.
#pragma once

#include <cordon/detail/units.hpp>
#include <cordon/format.hpp>
#include <cordon/policy/isolation.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/sandbox.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <optional>
#include <string>
#include <vector>

namespace cordon::cli {

enum class level { minimal, standard, strict, maximum };

inline std::optional<level> level_named(std::string_view name) {
    if (name == "minimal") return level::minimal;
    if (name == "standard") return level::standard;
    if (name == "strict") return level::strict;
    if (name == "maximum") return level::maximum;
    return std::nullopt;
}

/// Calls f.template operator()<Preset>() with the preset type of a level: each level is one
/// instantiation whose ceiling is the level's.
template <class F> decltype(auto) with_level(level l, F&& f) {
    switch (l) {
    case level::minimal: return f.template operator()<isolation::minimal>();
    case level::standard: return f.template operator()<isolation::standard>();
    case level::strict: return f.template operator()<isolation::strict>();
    case level::maximum: break;
    }
    return f.template operator()<isolation::maximum>();
}

struct run_options {
    std::string backend;                 // "", "wasm" or "process"; empty: chosen by the file
    std::string engine = "interp";
    std::string level_name = "standard";
    std::vector<std::string> allow;
    std::optional<std::string> memory, cpu, timeout, fuel, files, procs;
    std::optional<std::string> input;
    bool json = false;

    /// Registers the options on a subcommand.
    void add_to(CLI::App& app) {
        app.add_option("--backend", backend, "wasm or process (default: by file type)")->check(CLI::IsMember({"wasm", "process"}));
        app.add_option("--engine", engine, "wasm engine: interp (WABT's interpreter) or compiled (wasm2c and the system C compiler, cached)")->check(CLI::IsMember({"interp", "compiled"}));
        app.add_option("--level", level_name, "isolation level: minimal, standard, strict, maximum")
            ->check(CLI::IsMember({"minimal", "standard", "strict", "maximum"}));
        app.add_option("--allow", allow,
                       "grant a permission inside the level's ceiling (repeatable): fs.read=PATH fs.write=PATH "
                       "net=HOST:PORT net clock random env process plugin system")
            ->allow_extra_args(false);
        app.add_option("--memory", memory, "memory limit, e.g. 64MiB, 1GiB (default: 64MiB or the level's, the lower)");
        app.add_option("--cpu", cpu, "CPU time limit, e.g. 500ms, 2s (default: 500ms or the level's, the lower)");
        app.add_option("--timeout", timeout, "wall-clock limit, e.g. 2s, 1m (default: the level's)");
        app.add_option("--fuel", fuel, "instruction budget (wasm only)");
        app.add_option("--files", files, "open files limit");
        app.add_option("--procs", procs, "processes limit");
        app.add_option("--input", input, "bytes for the bytes-in/bytes-out convention: a file, or - for stdin");
        app.add_flag("--json", json, "print one JSON object on stdout");
    }

    [[nodiscard]] level chosen_level() const { return *level_named(level_name); }

    /// The sandbox options for a policy of the chosen level: grants, and limits tightened to the
    /// flags. A flag above the level's limit is refused: flags narrow, never widen.
    template <class Policy> [[nodiscard]] result<sandbox_options> to_sandbox_options() const {
        sandbox_options out;
        out.grants = allow;
        const auto& ceiling = Policy::limits;
        auto set = [&](limit::kind k, std::uint64_t value, std::string_view flag, std::string shown) -> result<void> {
            if (const auto max = ceiling.get(k); max && value > *max)
                return fail(error_kind::invalid_argument,
                            fmt::format("{} {} exceeds the {} level's {} limit of {}; lower it or choose a wider --level",
                                        flag, shown, level_name, limit::name(k), detail::describe_limit(k, *max)));
            out.limits.set(k, value);
            return {};
        };
        auto size_flag = [&](const std::optional<std::string>& text, limit::kind k, std::string_view flag,
                             std::optional<std::uint64_t> fallback) -> result<void> {
            if (!text) {
                if (fallback) out.limits.set(k, std::min(*fallback, ceiling.get(k).value_or(*fallback)));
                return {};
            }
            auto v = detail::parse_size(*text);
            if (!v) return v.error().with_context(std::string(flag));
            return set(k, *v, flag, *text);
        };
        auto duration_flag = [&](const std::optional<std::string>& text, limit::kind k, std::string_view flag,
                                 std::optional<std::uint64_t> fallback_ms) -> result<void> {
            if (!text) {
                if (fallback_ms) out.limits.set(k, std::min(*fallback_ms, ceiling.get(k).value_or(*fallback_ms)));
                return {};
            }
            auto v = detail::parse_duration(*text);
            if (!v) return v.error().with_context(std::string(flag));
            if (v->count() <= 0) return fail(error_kind::invalid_argument, std::string(flag) + " must be positive");
            return set(k, static_cast<std::uint64_t>(v->count()), flag, *text);
        };
        auto count_flag = [&](const std::optional<std::string>& text, limit::kind k, std::string_view flag) -> result<void> {
            if (!text) return {};
            auto v = detail::parse_count(*text);
            if (!v) return v.error().with_context(std::string(flag));
            if (*v == 0) return fail(error_kind::invalid_argument, std::string(flag) + " must be positive");
            return set(k, *v, flag, *text);
        };
        if (auto r = size_flag(memory, limit::kind::memory, "--memory", 64 * MiB); !r) return r.error();
        if (auto r = duration_flag(cpu, limit::kind::cpu_time_ms, "--cpu", 500); !r) return r.error();
        if (auto r = duration_flag(timeout, limit::kind::wall_time_ms, "--timeout", std::nullopt); !r) return r.error();
        if (auto r = count_flag(fuel, limit::kind::fuel, "--fuel"); !r) return r.error();
        if (auto r = count_flag(files, limit::kind::open_files, "--files"); !r) return r.error();
        if (auto r = count_flag(procs, limit::kind::processes, "--procs"); !r) return r.error();
        return out;
    }
};

} // namespace cordon::cli
