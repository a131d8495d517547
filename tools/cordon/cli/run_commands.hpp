// `cordon run`, `cordon exec` and `cordon inspect`: a .wasm module in the wasm backend, a native
// .so plugin or an executable in the process backend, under a level's policy narrowed by flags.
#pragma once

#include "cli/call_line.hpp"
#include "cli/outcome.hpp"
#include "cli/run_options.hpp"
#include "cli/values.hpp"

#include <cordon/process.hpp>
#include <cordon/wasm.hpp>
#include <cordon/wasm/linker.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace cordon::cli {

namespace detail {

/// Input for the bytes convention or a program's stdin: a file, or "-" for our stdin (bounded).
inline result<std::vector<std::byte>> read_input(const std::optional<std::string>& source) {
    constexpr std::size_t max_input = 256 * MiB;
    std::vector<std::byte> out;
    if (!source) return out;
    std::FILE* f = *source == "-" ? stdin : std::fopen(source->c_str(), "rb");
    if (!f) return fail(error_kind::load_error, fmt::format("--input {}: cannot open: {}", *source, std::strerror(errno)));
    std::byte buffer[65536];
    for (;;) {
        const auto n = std::fread(buffer, 1, sizeof buffer, f);
        out.insert(out.end(), buffer, buffer + n);
        if (out.size() > max_input) {
            if (f != stdin) std::fclose(f);
            return fail(error_kind::invalid_argument, fmt::format("--input is larger than {}", cordon::human_bytes(max_input)));
        }
        if (n < sizeof buffer) break;
    }
    const bool failed = std::ferror(f) != 0;
    if (f != stdin) std::fclose(f);
    if (failed) return fail(error_kind::load_error, "--input " + *source + ": read error");
    return out;
}

inline std::string as_text(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Fills an outcome from a finished sandbox: the call's failure, output, usage and report.
template <class Box> outcome collect(Box& box, std::optional<error> failure) {
    outcome out;
    out.failure = std::move(failure);
    out.guest_stdout = box.take_stdout();
    out.guest_stderr = box.take_stderr();
    out.telemetry = box.telemetry().last_call;
    out.enforcement = box.enforcement();
    return out;
}

/// The outcome of a sandbox that could not be set up (load, link, start).
inline outcome failed(error e, std::string backend) {
    outcome out;
    out.failure = std::move(e);
    out.where = phase::setup;
    out.enforcement.backend = std::move(backend);
    return out;
}

} // namespace detail

/// True when `function` names a WASI command's entry point: no function, or `_start` of a module
/// that exports it. Its arguments are then the program's argv, not typed values.
inline bool runs_command(const wasm::module& module, const std::string& function) {
    return function.empty() || (function == "_start" && module.find_export("_start"));
}

/// Checks what `run` was asked to call against the module and parses the arguments by the export's
/// signature; returns 0, or the exit code after one line on stderr. A `--` right after FUNCTION
/// is dropped (it cannot be a value); a command's arguments are its argv, taken as they are.
inline int parse_call(const wasm::module& module, const std::string& path, const std::string& function,
                      std::vector<std::string> rest, bool bytes_input, std::vector<value>& args) {
    const bool command = module.find_export("_start") != nullptr;
    if (runs_command(module, function)) {
        if (!command)
            return complain(exits::usage, fmt::format("{} has no _start; name the function to call (see cordon inspect {})", path, path));
        return 0;
    }
    const auto* e = module.find_export(function);
    if (!e || e->kind != wasm::extern_kind::function || !e->func_signature) {
        if (command)
            return complain(exits::usage, fmt::format("{} exports no function named '{}'; it is a WASI command: pass its "
                                                      "arguments after _start, as in cordon run {} _start {}",
                                                      path, function, path, fmt::join(rest, " ")));
        return complain(exits::usage, fmt::format("{} exports no function named '{}' (see cordon inspect {})", path, function, path));
    }
    if (rest.size() > 1 && rest[1] == "--") rest.erase(rest.begin() + 1);
    if (bytes_input) {
        if (rest.size() > 1) return complain(exits::usage, "with --input the function takes its input as bytes; drop the arguments");
        return 0;
    }
    const auto& sig = *e->func_signature;
    for (const auto type : sig.params)
        if (!is_number(type))
            return complain(exits::usage, fmt::format("{} {} takes a parameter the command line cannot pass (only i32, i64, "
                                                      "f32 and f64 can be); call it from the library instead",
                                                      function, to_string(sig)));
    if (rest.size() - 1 != sig.params.size())
        return complain(exits::usage, fmt::format("{} takes {} argument(s), got {}: {} {}", function, sig.params.size(),
                                                  rest.size() - 1, function, to_string(sig)));
    for (std::size_t i = 0; i < sig.params.size(); ++i) {
        auto v = parse_value(rest[i + 1], sig.params[i]);
        if (!v) return complain(exits::usage, fmt::format("argument {} of {}: {}; {} {}", i + 1, function,
                                                          v.error().message(), function, to_string(sig)));
        args.push_back(*v);
    }
    return 0;
}

/// Runs a .wasm module on the engine `Backend`: `_start` when no function is named, the bytes
/// convention with --input, else the export with arguments parsed by its signature.
template <class Backend>
int run_wasm_on(const run_options& opts, const std::string& path, const std::vector<std::string>& rest) {
    const std::string engine{Backend::name};
    if (opts.procs) return complain(exits::usage, "--procs does not apply to the wasm backend: a wasm guest cannot start processes");
    auto input = detail::read_input(opts.input);
    if (!input) return complain(preflight_exit(input.error().kind()), input.error().message());
    auto module = wasm::module::from_file(path);
    if (!module) return detail::failed(module.error(), engine).emit(opts.json);

    return with_level(opts.chosen_level(), [&]<class Preset>() {
        // maximum asks for wasm inside a process sandbox; the in-process engine gives one layer and
        // says so in the enforcement report.
        using L = limits_from_flags<Preset>;
        using P = std::conditional_t<std::is_same_v<Preset, isolation::maximum>, policy<L, best_effort>, policy<L>>;
        auto options = opts.to_sandbox_options<Preset>();
        if (!options) return complain(exits::usage, options.error().message());
        sandbox<Backend, P> box{*module, std::move(*options)};
        if (!box.ok()) return detail::failed(box.status().error(), engine).emit(opts.json);
        // Linking comes first: a module importing what the level forbids is denied whatever it is asked to run.
        const std::string function = rest.empty() ? std::string{} : rest.front();
        std::vector<value> args;
        if (auto checked = parse_call(*module, path, function, rest, opts.input.has_value(), args); checked != 0) return checked;
        outcome out;
        if (runs_command(*module, function)) {
            // argv[0] is the module's file name, as a shell gives a program the name it was run by.
            std::vector<std::string> argv{std::filesystem::path(path).filename().string()};
            if (!rest.empty()) argv.insert(argv.end(), rest.begin() + 1, rest.end());
            auto code = box.run_main(*input, std::move(argv));
            out = detail::collect(box, code ? std::nullopt : std::optional<error>{code.error()});
            if (code) {
                out.result = nlohmann::json::array({*code});
                out.program_exit = *code;
            }
        } else if (opts.input) {
            auto bytes = box.call_bytes(function, *input);
            out = detail::collect(box, bytes ? std::nullopt : std::optional<error>{bytes.error()});
            if (bytes) out.result = detail::as_text(*bytes);
        } else {
            auto values = box.call_values(function, args);
            out = detail::collect(box, values ? std::nullopt : std::optional<error>{values.error()});
            if (values)
                for (const auto& v : *values) out.result.push_back(to_json(v));
        }
        return out.emit(opts.json);
    });
}

/// Runs a .wasm module on the engine --engine names: the interpreter, or the compiled engine
/// (compiled on first use into the user's cache; a missing C compiler is an error that names it).
inline int run_wasm(const run_options& opts, const std::string& path, const std::vector<std::string>& rest) {
    if (opts.engine == "compiled") return run_wasm_on<wasm::compiled>(opts, path, rest);
    return run_wasm_on<wasm::interpreter>(opts, path, rest);
}

/// Runs one export of a native .so plugin in the process backend (bytes in, bytes out).
inline int run_native(const run_options& opts, const std::string& path, const std::vector<std::string>& rest) {
    if (opts.fuel) return complain(exits::usage, "--fuel needs the wasm backend: native code counts no instructions");
    if (rest.empty()) return complain(exits::usage, "a native plugin needs the FUNCTION to call");
    if (rest.size() > 1)
        return complain(exits::usage, "native plugins take bytes, not arguments: pass --input FILE or --input -");
    auto input = detail::read_input(opts.input);
    if (!input) return complain(preflight_exit(input.error().kind()), input.error().message());
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(path, ec);
    return with_level(opts.chosen_level(), [&]<class Preset>() {
        using P = policy<limits_from_flags<Preset>>;
        auto options = opts.to_sandbox_options<Preset>();
        if (!options) return complain(exits::usage, options.error().message());
        sandbox<process::backend, P> box{process::native_plugin{absolute.string()}, std::move(*options)};
        if (!box.ok()) return detail::failed(box.status().error(), "process").emit(opts.json);
        auto bytes = box.call_bytes(rest.front(), *input);
        auto out = detail::collect(box, bytes ? std::nullopt : std::optional<error>{bytes.error()});
        if (bytes) out.result = detail::as_text(*bytes);
        return out.emit(opts.json);
    });
}

/// Runs an executable in the process backend: --input on its stdin, its stdout and exit code back.
inline int run_exec(const run_options& opts, const std::vector<std::string>& command) {
    if (opts.fuel) return complain(exits::usage, "--fuel needs the wasm backend: native code counts no instructions");
    if (command.empty()) return complain(exits::usage, "exec needs a PROGRAM after --");
    auto input = detail::read_input(opts.input);
    if (!input) return complain(preflight_exit(input.error().kind()), input.error().message());
    std::string program = command.front();
    if (program.find('/') == std::string::npos) {  // search PATH as a shell would, here in the host
        const char* path_env = std::getenv("PATH");
        std::string_view dirs = path_env ? path_env : "/usr/bin:/bin";
        while (!dirs.empty()) {
            const auto colon = dirs.find(':');
            const auto candidate = std::filesystem::path(dirs.substr(0, colon)) / program;
            if (::access(candidate.c_str(), X_OK) == 0) {
                program = candidate.string();
                break;
            }
            dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
        }
    }
    if (::access(program.c_str(), X_OK) != 0)
        return detail::failed(fail(error_kind::load_error, fmt::format("{}: not an executable file", command.front())), "process")
            .emit(opts.json);
    return with_level(opts.chosen_level(), [&]<class Preset>() {
        using P = policy<limits_from_flags<Preset>>;
        auto options = opts.to_sandbox_options<Preset>();
        if (!options) return complain(exits::usage, options.error().message());
        // An executable's environment is all it has, so --env joins it only where env is granted,
        // the rule a wasm guest's environ_get follows.
        std::vector<std::string> environment{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
        if (std::find(opts.allow.begin(), opts.allow.end(), "env") != opts.allow.end())
            for (const auto& [key, value] : options->environment) environment.push_back(key + "=" + value);
        process::executable exe{program, {command.begin() + 1, command.end()}, std::move(environment)};
        sandbox<process::backend, P> box{exe, std::move(*options)};
        if (!box.ok()) return detail::failed(box.status().error(), "process").emit(opts.json);
        auto bytes = box.call_bytes("", *input);
        auto out = detail::collect(box, bytes ? std::nullopt : std::optional<error>{bytes.error()});
        if (bytes) {
            out.guest_stdout = detail::as_text(*bytes) + out.guest_stdout;
            out.program_exit = box.backend_instance()->last_exit_code();
            out.result = nlohmann::json::array({*out.program_exit});
        }
        return out.emit(opts.json);
    });
}

/// Prints what a .wasm module imports and exports, the permissions its imports need, its memory.
inline int inspect(const std::string& path, bool json) {
    auto module = wasm::module::from_file(path);
    if (!module) return complain(preflight_exit(module.error().kind()), module.error().message());
    const auto& info = module->info();
    const auto needed = wasm::permissions_needed(*module);
    auto imports = nlohmann::json::array();
    for (const auto& i : info.imports)
        imports.push_back({{"module", i.module}, {"name", i.name},
                           {"signature", i.func_signature ? nlohmann::json(to_string(*i.func_signature)) : nlohmann::json(nullptr)}});
    auto exports = nlohmann::json::array();
    for (const auto& e : info.exports)
        exports.push_back({{"name", e.name},
                           {"signature", e.func_signature ? nlohmann::json(to_string(*e.func_signature)) : nlohmann::json(nullptr)}});
    auto memories = nlohmann::json::array();
    for (const auto& m : info.memories)
        memories.push_back({{"initial_pages", m.initial}, {"maximum_pages", m.maximum ? nlohmann::json(*m.maximum) : nlohmann::json(nullptr)}});
    if (json) {
        fmt::print("{}\n", nlohmann::json{{"imports", imports}, {"exports", exports}, {"permissions", needed}, {"memories", memories},
                                          {"has_start", module->find_export("_start") != nullptr}}
                               .dump());
        return 0;
    }
    fmt::print("imports:\n");
    for (const auto& i : info.imports)
        fmt::print("  {}.{} {}\n", i.module, i.name, i.func_signature ? to_string(*i.func_signature) : std::string("(not a function)"));
    fmt::print("exports:\n");
    for (const auto& e : info.exports)
        fmt::print("  {} {}\n", e.name, e.func_signature ? to_string(*e.func_signature) : std::string("(not a function)"));
    fmt::print("permissions needed: {}\n", needed.empty() ? std::string("none") : fmt::format("{}", fmt::join(needed, ", ")));
    for (const auto& m : info.memories)
        fmt::print("memory: {} pages initial ({}), maximum {}\n", m.initial, cordon::human_bytes(m.initial * 65536),
                   m.maximum ? std::to_string(*m.maximum) + " pages" : std::string("none declared"));
    return 0;
}

/// Adds run, exec and inspect; run's and exec's calls are taken off the command line by split_call.
inline void add_run_commands(CLI::App& app, std::function<int()>& run, command_store& store, std::vector<call_command>& calls) {
    auto* run_cmd = app.add_subcommand("run", "run a plugin: .wasm in the wasm backend, .so in the process backend");
    run_cmd->footer("Options go before PLUGIN; from FUNCTION on, everything is the guest's as written. A WASI command: "
                    "cordon run [OPTIONS] prog.wasm _start [ARG...] (argv[0] is the file name; --env with --allow env; "
                    "--input is its stdin). Limit flags replace the level's defaults.");
    auto* run_opts = store.make<run_options>();
    auto* plugin = store.make<std::string>();
    auto* rest = store.make<std::vector<std::string>>();
    run_opts->add_to(*run_cmd);
    run_cmd->add_option("PLUGIN", *plugin, "a .wasm module or a native .so plugin")->required();
    run_cmd->add_option("FUNCTION", *rest,
                        "the export to call (default: _start), then its arguments, taken as written: -1, -inf, "
                        "--flag are arguments here, and a WASI command gets them as its argv");
    calls.push_back({run_cmd, 1, rest});
    run_cmd->callback([&run, run_opts, plugin, rest] {
        run = [run_opts, plugin, rest] {
            const bool native = run_opts->backend == "process" ||
                                (run_opts->backend.empty() && std::filesystem::path(*plugin).extension() == ".so");
            if (native && std::filesystem::path(*plugin).extension() == ".wasm")
                return complain(exits::usage, "a .wasm module runs in the wasm backend; --backend process takes a native .so");
            return native ? run_native(*run_opts, *plugin, *rest) : run_wasm(*run_opts, *plugin, *rest);
        };
    });

    auto* exec_cmd = app.add_subcommand("exec", "run a native executable in the process backend: cordon exec [OPTIONS] [--] PROGRAM [ARG...]");
    auto* exec_opts = store.make<run_options>();
    auto* command = store.make<std::vector<std::string>>();
    exec_opts->add_to(*exec_cmd);
    exec_cmd->add_option("PROGRAM", *command, "the program and its arguments, taken as written");
    calls.push_back({exec_cmd, 0, command});
    exec_cmd->callback([&run, exec_opts, command] {
        run = [exec_opts, command] {
            if (exec_opts->backend == "wasm") return complain(exits::usage, "exec runs native programs in the process backend");
            return run_exec(*exec_opts, *command);
        };
    });

    auto* inspect_cmd = app.add_subcommand("inspect", "show a .wasm module's imports, exports, needed permissions and memory");
    auto* inspect_path = store.make<std::string>();
    auto* inspect_json = store.make<bool>();
    inspect_cmd->add_option("PLUGIN", *inspect_path, "a .wasm module")->required();
    inspect_cmd->add_flag("--json", *inspect_json, "print one JSON object on stdout");
    inspect_cmd->callback([&run, inspect_path, inspect_json] { run = [inspect_path, inspect_json] { return inspect(*inspect_path, *inspect_json); }; });
}

} // namespace cordon::cli
