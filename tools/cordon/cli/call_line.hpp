// Splits a command line that ends in a call (`run PLUGIN FUNCTION ARG...`, `exec PROGRAM ARG...`)
// before CLI11 sees it: the call and its arguments are passed on as written, never read as flags.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace cordon::cli {

/// A subcommand whose command line ends in a call. `leading` positionals come before the call
/// (run: PLUGIN; plugin run: DIR ID; exec: none); the call is stored in `call`.
struct call_command {
    CLI::App* command = nullptr;
    std::size_t leading = 0;
    std::vector<std::string>* call = nullptr;
};

/// Where the call begins in a subcommand's arguments: after the subcommand's options and its
/// `leading` positionals. Everything from there is the guest's, so `-1`, `-inf`, `--json` or
/// `-h` after FUNCTION are arguments: a guest's argv must arrive as typed, and a number must not
/// depend on whether CLI11 happens to take it for a short flag. Returns args.size() when there
/// is no call.
inline std::size_t call_start(CLI::App& command, std::span<const std::string> args, std::size_t leading) {
    std::size_t positionals = 0;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!options_ended && a == "--") {
            options_ended = true;
            continue;
        }
        if (!options_ended && a.size() > 1 && a[0] == '-') {
            // An option's value is skipped with it (`--allow net x.wasm`: x.wasm stays PLUGIN);
            // unknown options are left for CLI11 to refuse.
            const auto equals = a.find('=');
            const CLI::Option* option = command.get_option_no_throw(a.substr(0, equals));
            if (option && equals == std::string::npos && option->get_items_expected_max() > 0) ++i;
            continue;
        }
        if (positionals++ == leading) return i;
    }
    return args.size();
}

/// Finds the subcommand argv names (its path of subcommand names from argv[1]); if it is one of
/// `commands`, moves its call into the command's store and returns the arguments CLI11 is to
/// parse (argv without the call). Otherwise returns argv unchanged.
inline std::vector<std::string> split_call(CLI::App& app, const std::vector<call_command>& commands, int argc,
                                           const char* const* argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    CLI::App* at = &app;
    std::size_t i = 0;
    while (i < args.size()) {
        CLI::App* sub = nullptr;
        try {
            sub = at->get_subcommand(args[i]);
        } catch (const CLI::OptionNotFound&) {
            break;
        }
        at = sub;
        ++i;
        for (const auto& c : commands) {
            if (c.command != at) continue;
            const auto rest = std::span<const std::string>(args).subspan(i);
            const std::size_t start = i + call_start(*at, rest, c.leading);
            c.call->assign(args.begin() + static_cast<std::ptrdiff_t>(start), args.end());
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(start), args.end());
            return args;
        }
    }
    return args;
}

} // namespace cordon::cli
