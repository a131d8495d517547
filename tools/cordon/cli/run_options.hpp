// The options `run` and `exec` share (DESIGN.md, "The command-line program"), their parsing onto
// CLI11, and their translation into a level and sandbox_options: grants inside the level's
// ceiling, limits replacing its defaults.
#pragma once

#include <cordon/units.hpp>
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
    std::vector<std::string> env;
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
        app.add_option("--memory", memory, "memory limit, e.g. 64MiB, 1GiB; replaces the level's default (64MiB or the level's, the lower)");
        app.add_option("--cpu", cpu, "CPU time limit, e.g. 500ms, 2s; replaces the level's default (500ms or the level's, the lower)");
        app.add_option("--timeout", timeout, "wall-clock limit, e.g. 2s, 1m; replaces the level's default");
        app.add_option("--fuel", fuel, "instruction budget (wasm only)");
        app.add_option("--files", files, "open files limit");
        app.add_option("--procs", procs, "processes limit");
        app.add_option("--env", env, "KEY=VALUE in the guest's environment (repeatable); a guest reads it only with --allow env")
            ->allow_extra_args(false);
        app.add_option("--input", input,
                       "a file, or - for our stdin: the bytes of the bytes-in/bytes-out convention, or a command's stdin");
        app.add_flag("--json", json, "print one JSON object on stdout");
    }

    [[nodiscard]] level chosen_level() const { return *level_named(level_name); }

    /// The sandbox options for a level: grants, the environment, and every limit, each the flag's
    /// value or else the level's default. A flag replaces the level's default, higher or lower, as
    /// a limit in a policy type does in the library (docs/policies.md): a level bounds permissions,
    /// not limits. Memory and CPU default to 64MiB and 500ms where the level allows more.
    template <class Preset> [[nodiscard]] result<sandbox_options> to_sandbox_options() const {
        sandbox_options out;
        out.grants = allow;
        for (const auto& entry : env) {
            const auto equals = entry.find('=');
            if (equals == 0 || equals == std::string::npos)
                return fail(error_kind::invalid_argument, fmt::format("--env {}: expected KEY=VALUE", entry));
            out.environment.insert_or_assign(entry.substr(0, equals), entry.substr(equals + 1));
        }
        const limit_set& defaults = Preset::default_limits;
        for (const auto k : limit::all_kinds)
            if (const auto v = defaults.get(k)) out.limits.set(k, *v);
        if (!memory) out.limits.set(limit::kind::memory, std::min<std::uint64_t>(64 * MiB, defaults.get(limit::kind::memory).value_or(64 * MiB)));
        if (!cpu) out.limits.set(limit::kind::cpu_time_ms, std::min<std::uint64_t>(500, defaults.get(limit::kind::cpu_time_ms).value_or(500)));
        auto positive = [](std::string_view flag, std::uint64_t v) -> result<std::uint64_t> {
            if (v == 0) return fail(error_kind::invalid_argument, std::string(flag) + " must be positive");
            return v;
        };
        auto flag = [&](const std::optional<std::string>& text, limit::kind k, std::string_view name,
                        auto parse) -> result<void> {
            if (!text) return {};
            auto v = parse(*text);
            if (!v) return v.error().with_context(std::string(name));
            out.limits.set(k, *v);
            return {};
        };
        auto size = [](const std::string& t) { return cordon::parse_size(t); };
        auto duration = [&](std::string_view name) {
            return [&, name](const std::string& t) -> result<std::uint64_t> {
                auto v = cordon::parse_duration(t);
                if (!v) return v.error();
                return positive(name, static_cast<std::uint64_t>(std::max<std::int64_t>(v->count(), 0)));
            };
        };
        auto count = [&](std::string_view name) {
            return [&, name](const std::string& t) -> result<std::uint64_t> {
                auto v = cordon::parse_count(t);
                if (!v) return v.error();
                return positive(name, *v);
            };
        };
        if (auto r = flag(memory, limit::kind::memory, "--memory", size); !r) return r.error();
        if (auto r = flag(cpu, limit::kind::cpu_time_ms, "--cpu", duration("--cpu")); !r) return r.error();
        if (auto r = flag(timeout, limit::kind::wall_time_ms, "--timeout", duration("--timeout")); !r) return r.error();
        if (auto r = flag(fuel, limit::kind::fuel, "--fuel", count("--fuel")); !r) return r.error();
        if (auto r = flag(files, limit::kind::open_files, "--files", count("--files")); !r) return r.error();
        if (auto r = flag(procs, limit::kind::processes, "--procs", count("--procs")); !r) return r.error();
        return out;
    }
};

/// A level's preset with its default limits taken out, for run and exec: the CLI sets every limit
/// at run time (to_sandbox_options), and the library lets run-time limits only tighten what the
/// policy type holds, so the type holds none. Ceiling, default grants and mechanisms stay the level's.
template <class Preset> struct limits_from_flags : Preset {
    static constexpr limit_set default_limits{};
};

} // namespace cordon::cli
