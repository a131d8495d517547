// What one `cordon` command produced, and how it is shown: exactly one JSON object with --json,
// else the result and one compact telemetry line; and the exit code of the CLI contract.
#pragma once

#include <cordon/format.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>
#include <cordon/units.hpp>

#include <fmt/color.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <vector>
#include <optional>
#include <string>
#include <unistd.h>

namespace cordon::cli {

/// Exit codes of DESIGN.md's contract.
namespace exits {
inline constexpr int ok = 0, usage = 64, load_error = 65, denied = 66, violation = 67, trap_or_crash = 68,
                     resource_limit = 69, internal = 70;
} // namespace exits

/// Where an error arose: while the sandbox was set up (loading, linking, starting), or in a call
/// of the guest.
enum class phase { setup, call };

/// The status word of the JSON contract for an error, and the only place error kinds meet the
/// contract: `status` takes the thirteen words of DESIGN.md and no other, for every outcome after
/// argument parsing. The library's host-side kinds fold in by whose fault they are:
/// - a grant or a limit above what the host allows (a manifest's, say) is `denied`;
/// - a bad request arising in a call came from the guest (a too-long name, a bad handle), so it
///   is a `trap`, never the user's usage error;
/// - at setup the same kinds, and a mechanism or feature this machine or engine lacks, mean the
///   plugin cannot be run here: `load_error`;
/// - an internal failure is named for where it happened (`load_error`, or `crash` of the call).
/// Exit 70 stays for cordon's own failures and for a mechanism missing on this machine, so that
/// scripts can tell the host's problem from the guest's.
constexpr std::string_view contract_status(error_kind kind, phase where) noexcept {
    switch (kind) {
    case error_kind::permission_outside_policy:
    case error_kind::limit_outside_policy: return "denied";
    case error_kind::invalid_argument:
    case error_kind::unsupported: return where == phase::setup ? "load_error" : "trap";
    case error_kind::internal: return where == phase::setup ? "load_error" : "crash";
    default: return to_string(kind);  // error_kind's first group: the contract's own words
    }
}

/// The contract's status words, "ok" included.
inline constexpr std::string_view contract_words[] = {"ok",          "load_error",     "denied",    "violation", "trap",
                                                      "crash",       "memory_limit",   "cpu_limit", "timeout",
                                                      "fuel_exhausted", "file_limit",  "process_limit", "output_limit"};

constexpr bool every_kind_has_a_contract_status() {
    for (const auto kind : all_error_kinds)
        for (const auto where : {phase::setup, phase::call}) {
            bool found = false;
            for (const auto word : contract_words) found = found || word == contract_status(kind, where);
            if (!found) return false;
        }
    return true;
}
static_assert(every_kind_has_a_contract_status(),
              "cordon: an error kind maps to a status word outside the CLI contract; extend contract_status");

/// The exit code of the contract for an error: the status word's, except the host's own failures.
/// The only mapping from error kinds to exit codes; the library has none (its users choose their own).
constexpr int contract_exit(error_kind kind, phase where) noexcept {
    if (kind == error_kind::internal || (kind == error_kind::unsupported && where == phase::setup)) return exits::internal;
    const std::string_view status = contract_status(kind, where);
    if (status == "load_error") return exits::load_error;
    if (status == "denied") return exits::denied;
    if (status == "violation") return exits::violation;
    if (status == "trap" || status == "crash") return exits::trap_or_crash;
    return exits::resource_limit;
}

/// The exit code for a failure before anything runs (reading --input, a key, a plugin directory),
/// reported with one line on stderr: a request the command line made that cannot be met
/// (`invalid_argument`, an --input too large) is a usage error; the rest as while setting up.
constexpr int preflight_exit(error_kind kind) noexcept {
    return kind == error_kind::invalid_argument ? exits::usage : contract_exit(kind, phase::setup);
}

/// Bytes as JSON text: valid UTF-8 passes through, anything else is replaced, never dropped silently.
inline std::string json_text(std::string_view bytes) {
    return nlohmann::json(std::string(bytes)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct outcome {
    std::optional<error> failure;          // empty: status ok
    nlohmann::json result = nlohmann::json::array();
    std::string guest_stdout;
    std::string guest_stderr;
    usage telemetry{};
    enforcement_report enforcement{};
    std::optional<int> program_exit{};     // a WASI command's or an executable's exit code
    phase where = phase::call;             // where a failure arose

    [[nodiscard]] std::string status() const { return failure ? std::string(contract_status(failure->kind(), where)) : "ok"; }
    [[nodiscard]] int exit_code() const { return failure ? contract_exit(failure->kind(), where) : 0; }

    [[nodiscard]] nlohmann::json to_json() const {
        nlohmann::json error_json = nullptr;
        if (failure) {
            const auto& info = failure->info();
            error_json = {{"kind", std::string(to_string(failure->kind()))}, {"message", info.message}};
            if (info.permission) error_json["permission"] = *info.permission;
            if (info.syscall) error_json["syscall"] = *info.syscall;
            if (info.syscall_number) error_json["syscall_number"] = *info.syscall_number;
            if (info.path) error_json["path"] = *info.path;
            if (info.signal) error_json["signal"] = *info.signal;
            if (info.limit)
                error_json["limit"] = {{"name", info.limit->name}, {"limit", info.limit->limit},
                                       {"observed", info.limit->observed ? nlohmann::json(*info.limit->observed) : nlohmann::json(nullptr)}};
            if (!info.backtrace.empty()) {
                auto frames = nlohmann::json::array();
                for (const auto& f : info.backtrace) {
                    nlohmann::json frame = {{"function", f.function}};
                    if (f.index) frame["index"] = *f.index;
                    frames.push_back(std::move(frame));
                }
                error_json["backtrace"] = std::move(frames);
                error_json["backtrace_complete"] = info.backtrace_complete;
            }
        }
        nlohmann::json enforcement_json = nlohmann::json::object();
        for (const auto& e : enforcement.entries)
            enforcement_json[std::string(to_string(e.element))] = {{"mechanism", e.mechanism}, {"level", std::string(to_string(e.level))}};
        auto as_text = [](const std::string& bytes) { return nlohmann::json::parse(json_text(bytes)); };
        return {{"status", status()},
                {"result", result},
                {"stdout", as_text(guest_stdout)},
                {"stderr", as_text(guest_stderr)},
                {"error", error_json},
                {"telemetry",
                 {{"wall_ms", static_cast<double>(telemetry.wall_ns) / 1e6},
                  {"cpu_ms", static_cast<double>(telemetry.cpu_ns) / 1e6},
                  {"fuel", telemetry.fuel},
                  {"peak_memory_bytes", telemetry.peak_memory_bytes},
                  {"host_calls", telemetry.host_calls},
                  {"violations", telemetry.violations}}},
                {"backend", enforcement.backend},
                {"enforcement", std::move(enforcement_json)}};
    }

    /// Human output: guest output as it came, the result, then one compact telemetry line on stderr.
    void print_human() const {
        std::fwrite(guest_stdout.data(), 1, guest_stdout.size(), stdout);
        std::fwrite(guest_stderr.data(), 1, guest_stderr.size(), stderr);
        if (!failure && !program_exit) {
            if (result.is_array())
                for (const auto& v : result) fmt::print("{}\n", v.dump());
            else if (result.is_string())
                fmt::print("{}", result.get<std::string>());
        }
        std::fflush(stdout);
        const bool colour = ::isatty(STDERR_FILENO) != 0;
        auto paint = [&](std::string text, fmt::terminal_color c) {
            return colour ? fmt::format(fmt::fg(c) | fmt::emphasis::bold, "{}", text) : text;
        };
        if (failure) fmt::print(stderr, "{} {}\n", paint("cordon:", fmt::terminal_color::red), *failure);
        std::string line = status();
        if (program_exit) line += fmt::format(" · exit {}", *program_exit);
        line += fmt::format(" · wall {:.3f} ms · cpu {:.3f} ms", static_cast<double>(telemetry.wall_ns) / 1e6,
                                       static_cast<double>(telemetry.cpu_ns) / 1e6);
        if (telemetry.fuel) line += fmt::format(" · fuel {}", telemetry.fuel);
        if (telemetry.peak_memory_bytes) line += " · peak " + cordon::human_bytes(telemetry.peak_memory_bytes);
        line += fmt::format(" · host calls {}", telemetry.host_calls);
        if (telemetry.violations) line += fmt::format(" · violations {}", telemetry.violations);
        fmt::print(stderr, "{}\n", paint(line, failure ? fmt::terminal_color::yellow : fmt::terminal_color::green));
    }

    /// Prints in the chosen form and returns the exit code.
    [[nodiscard]] int emit(bool json) const {
        if (json) fmt::print("{}\n", to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        else print_human();
        return exit_code();
    }
};

/// Owns the values CLI11 parses into. It lives in main beside the App, so the commands' state is
/// freed at exit instead of leaked.
class command_store {
public:
    template <class T> T* make() {
        auto item = std::make_shared<T>();
        T* raw = item.get();
        items_.push_back(std::move(item));
        return raw;
    }

private:
    std::vector<std::shared_ptr<void>> items_;
};

/// One clear line on stderr and the matching exit code: for bad flags, bad files, bad input.
inline int complain(int code, std::string_view message) {
    fmt::print(stderr, "cordon: {}\n", message);
    return code;
}

} // namespace cordon::cli
