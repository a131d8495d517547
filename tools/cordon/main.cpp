// The `cordon` program: sandbox a .wasm or .so plugin or an executable from the command line, and
// manage signed plugin directories. Bad flags and bad files give one line and the contract's exit code.
#include "cli/call_line.hpp"
#include "cli/outcome.hpp"
#if CORDON_CLI_HAS_PLUGIN
#include "cli/plugin_commands.hpp"
#endif
#if CORDON_CLI_HAS_WASM && CORDON_CLI_HAS_PROCESS
#include "cli/run_commands.hpp"
#if CORDON_CLI_HAS_PLUGIN
#include "cli/plugin_run.hpp"
#include "cli/plugin_serve.hpp"
#endif
#endif

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    cordon::cli::command_store store;  // outlives the App, which holds pointers into it
    CLI::App app{"cordon: run untrusted plugins under compile-time policies", "cordon"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "cordon 0.1.0");
    std::function<int()> run;
    std::vector<cordon::cli::call_command> calls;
#if CORDON_CLI_HAS_WASM && CORDON_CLI_HAS_PROCESS
    cordon::cli::add_run_commands(app, run, store, calls);
#endif
#if CORDON_CLI_HAS_PLUGIN
    cordon::cli::add_signing_commands(app, run, store);
    [[maybe_unused]] auto* plugin_group = cordon::cli::add_plugin_commands(app, run, store);
#if CORDON_CLI_HAS_WASM && CORDON_CLI_HAS_PROCESS
    cordon::cli::add_plugin_run(*plugin_group, run, store, calls);
    cordon::cli::add_plugin_serve(*plugin_group, run, store);
#endif
#endif
    try {
        // CLI11 parses the options and the leading positionals; a call's FUNCTION and ARGs are cut off
        // first so that no argument of the guest is ever read as a flag. parse() takes them reversed.
        auto args = cordon::cli::split_call(app, calls, argc, argv);
        std::reverse(args.begin(), args.end());
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty())
            return cordon::cli::complain(cordon::cli::exits::usage,
                                         fmt::format("unknown command '{}' (see cordon --help)", argv[1]));
        return cordon::cli::complain(cordon::cli::exits::usage, std::string(e.what()) + " (see cordon --help)");
    }
    try {
        return run ? run() : cordon::cli::complain(cordon::cli::exits::usage, "no command given (see cordon --help)");
    } catch (const std::exception& e) {
        return cordon::cli::complain(cordon::cli::exits::internal, std::string("internal error: ") + e.what());
    }
}
