// The cordon program driven from outside: usage errors, the signing commands, plugin directories.
// Backend commands (run, exec, inspect) have their own cases below them as the backends build.
#include "run_cordon.hpp"
#ifdef CORDON_RELAY_NATIVE
#include "../plugin/plugin_tree.hpp"
#endif

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace {
using cordon_test::run_cordon;
namespace fs = std::filesystem;

const fs::path plugin_data = fs::path(CORDON_SOURCE_DIR) / "tests/plugin/data";

fs::path fresh_dir(const std::string& name) {
    auto dir = fs::path(CORDON_BINARY_DIR) / "cli-test-work" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

/// Every failure prints exactly one line on stderr, never a stack dump or usage page.
void expect_one_line(const cordon_test::run_result& r) {
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(r.err.rfind("cordon: ", 0), 0u) << r.err;
}

TEST(Cli, HelpAndVersion) {
    auto help = run_cordon({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Subcommands:"), std::string::npos);
    auto version = run_cordon({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_NE(version.out.find("cordon 0.1.0"), std::string::npos);
    for (const char* sub : {"keygen", "sign", "verify", "plugin"}) {
        auto r = run_cordon({sub, "--help"});
        EXPECT_EQ(r.exit_code, 0) << sub;
        EXPECT_NE(r.out.find("Usage:"), std::string::npos) << sub;
    }
}

TEST(Cli, UsageErrorsExit64WithOneLine) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"bogus"}, {"keygen"}, {"sign", "--key"}, {"plugin"}, {"plugin", "list"}, {"--no-such-flag"}}) {
        auto r = run_cordon(args);
        EXPECT_EQ(r.exit_code, 64) << testing::PrintToString(args) << r.err;
        expect_one_line(r);
    }
}

TEST(Cli, KeygenSignVerifyAndTampering) {
    const auto dir = fresh_dir("signing");
    fs::copy(plugin_data / "greeter-1.0.0", dir / "greeter");
    const auto key = (dir / "me").string();
    const auto manifest = (dir / "greeter/plugin.json").string();
    ASSERT_EQ(run_cordon({"keygen", "--out", key}).exit_code, 0);
    EXPECT_EQ(fs::status(key + ".key").permissions() & fs::perms::group_all, fs::perms::none);
    auto again = run_cordon({"keygen", "--out", key});
    EXPECT_EQ(again.exit_code, 64) << "refuses to overwrite a key";
    expect_one_line(again);
    ASSERT_EQ(run_cordon({"sign", "--key", key + ".key", manifest}).exit_code, 0);
    EXPECT_EQ(run_cordon({"verify", "--trust", key + ".pub", manifest}).exit_code, 0);

    ASSERT_EQ(run_cordon({"keygen", "--out", (dir / "other").string()}).exit_code, 0);
    auto untrusted = run_cordon({"verify", "--trust", (dir / "other.pub").string(), manifest});
    EXPECT_EQ(untrusted.exit_code, 65);
    expect_one_line(untrusted);

    {
        std::ofstream entry(dir / "greeter" / "greeter.wasm", std::ios::app | std::ios::binary);
        entry << "tampered";
    }
    auto tampered = run_cordon({"verify", "--trust", key + ".pub", manifest});
    EXPECT_EQ(tampered.exit_code, 65);
    EXPECT_NE(tampered.err.find("sha256"), std::string::npos) << tampered.err;

    auto missing = run_cordon({"verify", "--trust", key + ".pub", (dir / "nope.json").string()});
    EXPECT_EQ(missing.exit_code, 65);
    expect_one_line(missing);
}

TEST(Cli, PluginListAndResolve) {
    auto list = run_cordon({"plugin", "list", plugin_data.string(), "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    const auto listed = list.json();
    ASSERT_TRUE(listed.contains("plugins"));
    EXPECT_GE(listed["plugins"].size(), 5u);
    auto resolve = run_cordon({"plugin", "resolve", plugin_data.string(), "--json"});
    EXPECT_EQ(resolve.exit_code, 65) << "the data tree holds a tampered plugin";
    const auto resolved = resolve.json();
    EXPECT_FALSE(resolved["ok"].get<bool>());
    EXPECT_FALSE(resolved["errors"].empty());
    auto clean = run_cordon({"plugin", "resolve", (plugin_data / "log-1.2.0").string(), "--json"});
    EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
    EXPECT_TRUE(clean.json()["ok"].get<bool>());
    auto missing = run_cordon({"plugin", "list", "/nonexistent/dir"});
    EXPECT_EQ(missing.exit_code, 65);
    expect_one_line(missing);
}

} // namespace

// ---- run, exec, inspect: every status of the contract, checked field by field ---------------
namespace {

const fs::path modules = fs::path(CORDON_BINARY_DIR) / "tests/wasm/modules";
std::string module(const char* name) { return (modules / name).string(); }

/// Runs with --json and checks the contract's fields, the status and the exit code.
nlohmann::json run_json(std::vector<std::string> args, const std::string& status, int exit_code,
                        const std::string& input = {}) {
    args.insert(args.begin() + (args.front() == "plugin" ? 2 : 1), "--json");  // after the subcommand
    auto r = run_cordon(args, input);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, exit_code) << testing::PrintToString(args) << "\n" << r.out << r.err;
    nlohmann::json j;
    try {
        j = r.json();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not one JSON object: " << e.what() << "\n" << r.out;
        return j;
    }
    for (const char* field : {"status", "result", "stdout", "stderr", "error", "telemetry", "enforcement"})
        EXPECT_TRUE(j.contains(field)) << field;
    for (const char* field : {"wall_ms", "cpu_ms", "fuel", "peak_memory_bytes", "host_calls"})
        EXPECT_TRUE(j["telemetry"].contains(field)) << field;
    EXPECT_EQ(j["status"], status) << j.dump();
    static const std::set<std::string> contract{"ok",      "load_error",   "denied",    "violation",      "trap",
                                                "crash",   "memory_limit", "cpu_limit", "timeout",        "fuel_exhausted",
                                                "file_limit", "process_limit", "output_limit"};
    EXPECT_TRUE(j["status"].is_string() && contract.contains(j["status"].get<std::string>())) << j.dump();
    if (status == "ok") EXPECT_TRUE(j["error"].is_null());
    else {
        EXPECT_TRUE(j["error"].is_object());
        EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    }
    return j;
}

} // namespace

TEST(CliRun, OkWithTypedArgumentsAndTelemetry) {
    auto j = run_json({"run", module("fib.wasm"), "fib", "20"}, "ok", 0);
    EXPECT_EQ(j["result"], nlohmann::json::array({6765}));
    EXPECT_GT(j["telemetry"]["fuel"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(j["enforcement"]["fuel"]["level"], "enforced");
    auto wide = run_json({"run", module("fib.wasm"), "loop_sum", "-1"}, "ok", 0);
    EXPECT_TRUE(wide["result"][0].is_number_integer());
}

TEST(CliRun, WasiStartCapturesStdout) {
    auto j = run_json({"run", module("hello.wasm")}, "ok", 0);
    EXPECT_NE(j["stdout"].get<std::string>().find("hello"), std::string::npos);
    EXPECT_EQ(j["result"], nlohmann::json::array({0}));
}

TEST(CliRun, LoadErrors) {
    const auto dir = fresh_dir("load");
    {
        std::ofstream garbage(dir / "garbage.wasm", std::ios::binary);
        garbage << "\0asm\x01\0\0\0\x05\xff\xff\xff\xff\x0f" << std::string(64, 'x');
    }
    auto j = run_json({"run", (dir / "garbage.wasm").string(), "f"}, "load_error", 65);
    auto missing = run_json({"run", (dir / "missing.wasm").string()}, "load_error", 65);
    EXPECT_NE(missing["error"]["message"].get<std::string>().find("missing.wasm"), std::string::npos);
    EXPECT_EQ(run_cordon({"inspect", (dir / "garbage.wasm").string()}).exit_code, 65);
}

TEST(CliRun, DeniedImportsAndGrantsAboveTheLevel) {
    auto j = run_json({"run", module("forbidden_import.wasm"), "--level", "strict"}, "denied", 66);
    EXPECT_EQ(j["error"]["permission"], "plugin");
    auto above = run_json({"run", "--level", "strict", "--allow", "net=example.org:443", module("fib.wasm"), "fib", "1"}, "denied", 66);
    EXPECT_NE(above["error"]["message"].get<std::string>().find("strict"), std::string::npos);
}

TEST(CliRun, TrapsAndLimits) {
    auto trap = run_json({"run", module("oob_write.wasm"), "smash"}, "trap", 68);
    EXPECT_TRUE(trap["error"].contains("backtrace"));
    run_json({"run", "--cpu", "100ms", module("endless_loop.wasm"), "spin"}, "cpu_limit", 69);
    run_json({"run", "--cpu", "10s", "--timeout", "100ms", module("endless_loop.wasm"), "spin"}, "timeout", 69);
    run_json({"run", "--fuel", "1000", module("fib.wasm"), "fib", "25"}, "fuel_exhausted", 69);
    auto memory = run_json({"run", module("memory_bomb.wasm"), "--memory", "2MiB"}, "memory_limit", 69);
    EXPECT_EQ(memory["error"]["limit"]["name"], "memory");
    auto flood = run_json({"run", module("log_flood.wasm"), "flood"}, "output_limit", 69);
    EXPECT_LE(flood["stdout"].get<std::string>().size() + flood["stderr"].get<std::string>().size(), 16u << 20);
}

TEST(CliRun, CompiledEngineGivesTheInterpretersResults) {
    // Same status, result, output and fuel (the metering is the same rewrite); only speed differs.
    const std::vector<std::vector<std::string>> runs{
        {"run", module("fib.wasm"), "fib", "20"},
        {"run", module("hello.wasm")},
        {"run", module("oob_write.wasm"), "smash"},
        {"run", "--fuel", "1000", module("fib.wasm"), "fib", "25"},
        {"run", module("memory_bomb.wasm"), "--memory", "2MiB"},
        {"run", module("forbidden_import.wasm"), "--level", "strict"},
    };
    for (const auto& args : runs) {
        auto interp = run_cordon([&] { auto a = args; a.insert(a.begin() + 1, "--json"); return a; }());
        auto compiled = run_cordon([&] {
            auto a = args;
            a.insert(a.begin() + 1, {"--json", "--engine", "compiled"});
            return a;
        }());
        ASSERT_EQ(compiled.exit_code, interp.exit_code) << testing::PrintToString(args) << compiled.err;
        auto i = interp.json();
        auto c = compiled.json();
        EXPECT_EQ(c["status"], i["status"]);
        EXPECT_EQ(c["result"], i["result"]);
        EXPECT_EQ(c["stdout"], i["stdout"]);
        EXPECT_EQ(c["telemetry"]["fuel"], i["telemetry"]["fuel"]) << testing::PrintToString(args);
        EXPECT_EQ(c["backend"], "wasm compiled");
    }
}

TEST(CliExec, ProgramsRunConfinedAndReportWhatStoppedThem) {
    auto ok = run_json({"exec", "--", "/bin/echo", "hi"}, "ok", 0);
    EXPECT_EQ(ok["stdout"], "hi\n");
    EXPECT_EQ(ok["result"], nlohmann::json::array({0}));
    auto escape = run_json({"exec", "--level", "standard", "--", "/bin/sh", "-c", "echo x > /tmp/cordon-cli-escape"}, "violation", 67);
    EXPECT_TRUE(escape["error"].contains("syscall"));
    EXPECT_FALSE(fs::exists("/tmp/cordon-cli-escape"));
    run_json({"exec", "--", "/bin/sh", "-c", "kill -SEGV $$"}, "crash", 68);
    run_json({"exec", "--timeout", "200ms", "--", "/bin/sleep", "5"}, "timeout", 69);
    run_json({"exec", "--level", "minimal", "--allow", "process", "--procs", "4", "--", "/bin/sh", "-c",
              "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait"},
             "process_limit", 69);
    auto in = run_json({"exec", "--input", "-", "--", "/bin/cat"}, "ok", 0, "piped bytes");
    EXPECT_EQ(in["stdout"], "piped bytes");
    run_json({"exec", "--", "/nonexistent/program"}, "load_error", 65);
}

TEST(CliRun, BadFlagsAndArgumentsExit64WithOneLine) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"run", module("fib.wasm"), "fib"},                              // wrong count
             {"run", module("fib.wasm"), "fib", "x"},                         // wrong type
             {"run", module("fib.wasm"), "fib", "4294967296"},                // out of i32 range
             {"run", module("fib.wasm"), "nope", "1"},                        // no such export
             {"run", module("fib.wasm")},                                     // no _start
             {"run", "--memory", "10XB", module("fib.wasm"), "fib", "1"},     // bad size
             {"run", "--cpu", "fast", module("fib.wasm"), "fib", "1"},        // bad duration
             {"run", "--level", "paranoid", module("fib.wasm"), "fib", "1"},  // bad level
             {"run", "--timeout", "0s", module("fib.wasm"), "fib", "1"},      // not positive
             {"run", "--env", "NOVALUE", module("fib.wasm"), "fib", "1"},     // not KEY=VALUE
             {"run", "--procs", "2", module("fib.wasm"), "fib", "1"},         // not for wasm
             {"exec", "--fuel", "10", "--", "/bin/true"},                      // not for processes
             {"inspect"}}) {
        auto r = run_cordon(args);
        EXPECT_EQ(r.exit_code, 64) << testing::PrintToString(args) << "\n" << r.err;
        expect_one_line(r);
    }
    auto sig = run_cordon({"run", module("fib.wasm"), "fib", "1", "2"});
    EXPECT_NE(sig.err.find("fib (i32) -> i32"), std::string::npos) << "names the expected signature: " << sig.err;
}

TEST(CliInspect, ListsImportsExportsPermissionsAndMemory) {
    auto r = run_cordon({"inspect", "--json", module("forbidden_import.wasm")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = r.json();
    EXPECT_NE(std::find(j["permissions"].begin(), j["permissions"].end(), "plugin"), j["permissions"].end());
    EXPECT_FALSE(j["imports"].empty());
    auto fib = run_cordon({"inspect", "--json", module("fib.wasm")}).json();
    bool found = false;
    for (const auto& e : fib["exports"]) found |= e["name"] == "fib" && e["signature"] == "(i32) -> i32";
    EXPECT_TRUE(found) << fib.dump();
    EXPECT_EQ(fib["memories"][0]["initial_pages"], 2);
}

TEST(CliPluginRun, ResolvesLoadsAndCallsUnderTheManifest) {
    const auto data = plugin_data.string();
    auto ok = run_json({"plugin", "run", data, "greeter", "greet", "40"}, "ok", 0);
    EXPECT_EQ(ok["result"], nlohmann::json::array({42})) << "the highest greeter (1.1.0) adds 2";
    run_json({"plugin", "run", data, "flaky", "run"}, "trap", 68);
    auto tampered = run_json({"plugin", "run", data, "tampered", "anything"}, "load_error", 65);
    EXPECT_NE(tampered["error"]["message"].get<std::string>().find("sha256"), std::string::npos);
    run_json({"plugin", "run", data, "nope", "f"}, "load_error", 65);
    auto unsigned_refused = run_cordon({"plugin", "run", "--trust", (plugin_data / "keys/test.pub").string(), data, "greeter",
                                        "greet", "1"});
    EXPECT_EQ(unsigned_refused.exit_code, 65) << "with a trust store, unsigned plugins are refused: " << unsigned_refused.err;
}

#ifdef CORDON_RELAY_NATIVE
TEST(CliPluginRun, RunsANativePluginInAProcessSandbox) {
    cordon::plugin::testing::plugin_tree tree;
    tree.add_program("native-relay", "1.0.0", CORDON_RELAY_NATIVE, "librelay.so");
    const auto input = tree.root() / "input.txt";
    cordon::plugin::testing::plugin_tree::write(input, "hello");
    const auto dir = tree.root().string();
    auto ok = run_json({"plugin", "run", "--input", input.string(), dir, "native-relay", "answer"}, "ok", 0);
    EXPECT_EQ(ok["result"], "pong from native: hello");
    EXPECT_EQ(ok["backend"], "process");
    run_json({"plugin", "run", "--input", input.string(), dir, "native-relay", "crash"}, "crash", 68);
    auto no_input = run_cordon({"plugin", "run", dir, "native-relay", "answer"});
    EXPECT_EQ(no_input.exit_code, 64);
    EXPECT_NE(no_input.err.find("native-relay is a process plugin: its exports take bytes"), std::string::npos) << no_input.err;
}
#endif

// ---- the command line itself: one value per option, arguments taken as written ----------------
namespace {

const fs::path cli_modules = CORDON_CLI_MODULES;
std::string numbers() { return (cli_modules / "numbers.wasm").string(); }
std::string wasi_command() { return (cli_modules / "wasi_command.wasm").string(); }

} // namespace

TEST(CliLine, AnOptionTakesOneValueAndNeverThePlugin) {
    // The README's form: the module after --allow is the PLUGIN, not a second permission.
    auto clock = run_json({"run", "--allow", "clock", module("fib.wasm"), "fib", "3"}, "ok", 0);
    EXPECT_EQ(clock["result"], nlohmann::json::array({2}));
    auto net = run_json({"run", "--allow", "net", numbers(), "add_i32", "1", "2"}, "ok", 0);
    EXPECT_EQ(net["result"], nlohmann::json::array({3}));
    auto scoped = run_json({"run", "--allow", "fs.read=/tmp", "--allow=clock", "--allow", "random", wasi_command(), "_start", "args"},
                           "ok", 0);
    EXPECT_EQ(scoped["stdout"], "argc=2\n[0]=wasi_command.wasm\n[1]=args\n");
    auto missing = run_cordon({"run", "--allow"});
    EXPECT_EQ(missing.exit_code, 64);
    expect_one_line(missing);
}

TEST(CliLine, NegativeAndNonFiniteNumbersAreArguments) {
    const std::vector<std::pair<std::string, nlohmann::json>> cases{
        {"-inf", "inf"}, {"-nan", "nan"}, {"nan", "nan"}, {"inf", "-inf"}, {"-1", 1.0}, {"-1.5e3", 1500.0}, {"-0", 0.0}};
    for (const auto& [argument, negated] : cases)
        for (const char* function : {"neg_f64", "neg_f32"}) {
            auto j = run_json({"run", numbers(), function, argument}, "ok", 0);
            EXPECT_EQ(j["result"], nlohmann::json::array({negated})) << function << " " << argument;
        }
    EXPECT_EQ(run_json({"run", numbers(), "add_i32", "-1", "-2"}, "ok", 0)["result"], nlohmann::json::array({-3}));
    EXPECT_EQ(run_json({"run", numbers(), "add_i64", "-9223372036854775808", "-0"}, "ok", 0)["result"],
              nlohmann::json::array({std::numeric_limits<std::int64_t>::min()}));
    // `--` ends the options before PLUGIN, and may stand after FUNCTION out of habit.
    EXPECT_EQ(run_json({"run", "--", numbers(), "neg_f64", "-1"}, "ok", 0)["result"], nlohmann::json::array({1.0}));
    EXPECT_EQ(run_json({"run", numbers(), "neg_f64", "--", "-inf"}, "ok", 0)["result"], nlohmann::json::array({"inf"}));
    // After FUNCTION nothing is an option: a flag there is a (bad) argument, not a flag.
    auto flag = run_cordon({"run", numbers(), "neg_f64", "--json"});
    EXPECT_EQ(flag.exit_code, 64);
    EXPECT_NE(flag.err.find("'--json' is not an f64"), std::string::npos) << flag.err;
    // exec takes the program's arguments as written, with or without `--`.
    EXPECT_EQ(run_json({"exec", "/bin/echo", "-n", "-1"}, "ok", 0)["stdout"], "-1");
    auto plugin = run_json({"plugin", "run", plugin_data.string(), "greeter", "greet", "-3"}, "ok", 0);
    EXPECT_EQ(plugin["result"], nlohmann::json::array({-1}));
}

TEST(CliRun, OutputBeforeAViolationIsKept) {
    for (const char* engine : {"interp", "compiled"}) {
        auto j = run_json({"run", "--engine", engine, "--allow", "fs.read=/tmp", wasi_command(), "_start", "escape", "/tmp/../etc/passwd"},
                          "violation", 67);
        EXPECT_EQ(j["error"]["permission"], "fs.read") << engine;
        EXPECT_NE(j["stdout"].get<std::string>().find("written before the escape\n"), std::string::npos) << engine << j.dump();
        EXPECT_EQ(j["stderr"], "and on stderr\n") << engine;
    }
    auto process = run_json({"exec", "--level", "standard", "--", "/bin/sh", "-c",
                             "echo written before; echo on stderr >&2; echo x > /tmp/cordon-cli-escape-2"},
                            "violation", 67);
    EXPECT_EQ(process["stdout"], "written before\n");
    EXPECT_EQ(process["stderr"], "on stderr\n");
    EXPECT_FALSE(fs::exists("/tmp/cordon-cli-escape-2"));
}

TEST(CliStatus, AGuestsUnreasonableRequestIsAnErrnoItCanHandle) {
    // Too long a path and too many iovecs are the guest's requests, answered as a kernel answers
    // them (ENAMETOOLONG, EINVAL), not a usage error of the person running it.
    for (const char* engine : {"interp", "compiled"}) {
        auto path = run_json({"run", "--engine", engine, "--allow", "fs.read=/tmp", wasi_command(), "_start", "longpath", "/tmp"}, "ok", 0);
        EXPECT_EQ(path["stdout"], "fopen: Filename too long\n") << engine;
        auto iovecs = run_json({"run", "--engine", engine, wasi_command(), "_start", "iovecs"}, "ok", 0);
        EXPECT_EQ(iovecs["stdout"], "fd_write: errno 28, wrote 0\n") << engine;
    }
}

TEST(CliStatus, AGuestsBadHostCallIsATrapNotAUsageError) {
    const auto long_key = (cli_modules / "long_key.wasm").string();
    for (const char* engine : {"interp", "compiled"}) {
        auto j = run_json({"run", "--engine", engine, long_key, "ask"}, "trap", 68);
        EXPECT_NE(j["error"]["message"].get<std::string>().find("out of bounds"), std::string::npos) << engine << j.dump();
        auto answered = run_json({"run", "--engine", engine, long_key, "long"}, "ok", 0);
        EXPECT_EQ(answered["result"], nlohmann::json::array({-3})) << "a key past the limit is the guest's to handle";
    }
}

TEST(CliStatus, AManifestLimitAboveTheHostsIsDenied) {
    const auto dir = fresh_dir("greedy");
    fs::copy(plugin_data / "greeter-1.1.0", dir / "greeter");
    fs::copy(plugin_data / "log-1.2.0", dir / "log");
    auto manifest = nlohmann::json::parse(std::ifstream(dir / "greeter/plugin.json"));
    manifest["limits"] = {{"memory", "2GiB"}};
    std::ofstream(dir / "greeter/plugin.json") << manifest.dump();
    auto j = run_json({"plugin", "run", dir.string(), "greeter", "greet", "1"}, "denied", 66);
    EXPECT_EQ(j["error"]["limit"]["name"], "memory");
}

TEST(CliStatus, AParameterTheCommandLineCannotPassIsAUsageError) {
    auto r = run_cordon({"run", numbers(), "lanes", "1"});
    EXPECT_EQ(r.exit_code, 64);
    expect_one_line(r);
    EXPECT_NE(r.err.find("v128"), std::string::npos) << r.err;
}

TEST(CliLimits, FlagsReplaceTheLevelsDefaults) {
    // As a limit in a policy type does in the library, a flag may go above the level's default.
    run_json({"run", "--memory", "1GiB", module("fib.wasm"), "fib", "3"}, "ok", 0);
    run_json({"run", "--level", "minimal", "--timeout", "2m", module("fib.wasm"), "fib", "3"}, "ok", 0);
    run_json({"run", "--level", "strict", "--memory", "1GiB", "--cpu", "1m", module("fib.wasm"), "fib", "3"}, "ok", 0);
    // ...and it is the limit in force: maximum's 16MiB default gives way to 32MiB.
    auto raised = run_json({"run", "--level", "maximum", "--memory", "32MiB", "--cpu", "20s", "--timeout", "1m", module("memory_bomb.wasm")}, "memory_limit", 69);
    EXPECT_EQ(raised["error"]["limit"]["limit"], 32u << 20) << raised.dump();
    // (The time limits are raised so that a slow or loaded machine still reaches the memory one.)
    auto level = run_json({"run", "--level", "maximum", "--cpu", "20s", "--timeout", "1m", module("memory_bomb.wasm")},
                          "memory_limit", 69);
    EXPECT_EQ(level["error"]["limit"]["limit"], 16u << 20) << "without the memory flag, the level's default";
    auto files = [](const nlohmann::json& j) { return std::stoi(j["stdout"].get<std::string>()); };
    auto strict = run_json({"exec", "--level", "strict", "--", "/bin/sh", "-c", "ulimit -n"}, "ok", 0);
    EXPECT_LT(files(strict), 32) << "strict's default of 16 open files";
    auto wider = run_json({"exec", "--level", "strict", "--files", "200", "--timeout", "1m", "--", "/bin/sh", "-c", "ulimit -n"}, "ok", 0);
    EXPECT_GE(files(wider), 200);
}

TEST(CliCommand, AWasiCommandGetsArgvEnvironmentAndStdin) {
    for (const char* engine : {"interp", "compiled"}) {
        auto args = run_json({"run", "--engine", engine, wasi_command(), "_start", "args", "-1", "--json", "-inf", "two words"}, "ok", 0);
        EXPECT_EQ(args["stdout"], "argc=6\n[0]=wasi_command.wasm\n[1]=args\n[2]=-1\n[3]=--json\n[4]=-inf\n[5]=two words\n") << engine;
        EXPECT_EQ(args["result"], nlohmann::json::array({0}));
        auto hidden = run_json({"run", "--engine", engine, "--env", "GREETING=hi=there", wasi_command(), "_start", "env", "GREETING"}, "ok", 0);
        EXPECT_EQ(hidden["stdout"], "GREETING=(unset)\n") << "visible only with env granted";
        auto shown = run_json({"run", "--engine", engine, "--allow", "env", "--env", "GREETING=hi=there", wasi_command(), "_start", "env",
                               "GREETING"},
                              "ok", 0);
        EXPECT_EQ(shown["stdout"], "GREETING=hi=there\n") << engine;
        auto piped = run_json({"run", "--engine", engine, "--input", "-", wasi_command(), "_start", "cat"}, "ok", 0, "bytes on stdin\n");
        EXPECT_EQ(piped["stdout"], "bytes on stdin\n") << engine;
    }
    const auto dir = fresh_dir("command-input");
    std::ofstream(dir / "in.txt") << "from a file";
    auto file = run_json({"run", "--input", (dir / "in.txt").string(), wasi_command(), "_start", "cat"}, "ok", 0);
    EXPECT_EQ(file["stdout"], "from a file");
    auto exec_env = run_json({"exec", "--allow", "env", "--env", "GREETING=hi", "--", "/bin/sh", "-c", "echo $GREETING"}, "ok", 0);
    EXPECT_EQ(exec_env["stdout"], "hi\n");
    auto exec_hidden = run_json({"exec", "--env", "GREETING=hi", "--", "/bin/sh", "-c", "echo x$GREETING"}, "ok", 0);
    EXPECT_EQ(exec_hidden["stdout"], "x\n");
}

TEST(CliCommand, ACommandsArgumentsInPlaceOfAFunctionShowTheCommandForm) {
    auto r = run_cordon({"run", wasi_command(), "args", "x"});
    EXPECT_EQ(r.exit_code, 64);
    expect_one_line(r);
    EXPECT_NE(r.err.find("_start args x"), std::string::npos) << r.err;
}

// ---- cordon plugin serve: the runtime driven by JSON lines ----------------------------------
namespace {

struct served {
    std::vector<nlohmann::json> answers, notifications;
};

served serve(const std::vector<std::string>& args, const std::string& requests) {
    std::vector<std::string> all{"plugin", "serve"};
    all.insert(all.end(), args.begin(), args.end());
    const auto r = run_cordon(all, requests);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    served out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
        if (j.is_discarded()) continue;
        (j.contains("notification") ? out.notifications : out.answers).push_back(std::move(j));
    }
    return out;
}

} // namespace

TEST(CliPluginServe, AnswersEachRequestLineAndSurvivesBadOnes) {
    const std::string requests = R"({"id":1,"op":"call","plugin":"greeter","function":"greet","args":[40]})"
                                 "\nnot json at all\n"
                                 R"({"id":2,"op":"launch"})"
                                 "\n"
                                 R"({"id":"three","op":"call","plugin":"greeter","function":"greet","args":[1,2]})"
                                 "\n\n"
                                 R"({"id":4,"op":"call","plugin":"asker","function":"ask","input":""})"
                                 "\n"
                                 R"({"id":5,"op":"status"})"
                                 "\n"
                                 R"({"id":6,"op":"reload","plugin":"greeter"})"
                                 "\n"
                                 R"({"id":7,"op":"history"})"
                                 "\n"
                                 R"({"id":8,"op":"call","plugin":"flaky","function":"run","args":[]})"
                                 "\n"
                                 R"({"id":9,"op":"reload","plugin":"nobody"})"
                                 "\n";
    const auto s = serve({plugin_data.string()}, requests);
    ASSERT_EQ(s.answers.size(), 10u);
    EXPECT_EQ(s.answers[0]["id"], 1);
    EXPECT_EQ(s.answers[0]["status"], "ok");
    EXPECT_EQ(s.answers[0]["result"], nlohmann::json::array({42})) << "the same fields as cordon run --json";
    EXPECT_EQ(s.answers[0]["backend"], "wasm interpreter");
    EXPECT_TRUE(s.answers[0].contains("telemetry"));
    EXPECT_FALSE(s.answers[0]["enforcement"].empty()) << "how the plugin's sandbox enforces its policy";
    EXPECT_TRUE(s.answers[1]["id"].is_null());
    EXPECT_EQ(s.answers[1]["status"], "bad_request");
    EXPECT_EQ(s.answers[2]["status"], "bad_request");
    EXPECT_NE(s.answers[2]["error"]["message"].get<std::string>().find("unknown op \"launch\""), std::string::npos);
    EXPECT_EQ(s.answers[3]["id"], "three");
    EXPECT_EQ(s.answers[3]["status"], "bad_request") << s.answers[3].dump();
    EXPECT_EQ(s.answers[4]["result"], "1") << "asker asked counter over the bus: " << s.answers[4].dump();
    bool greeter_listed = false;
    for (const auto& p : s.answers[5]["plugins"]) greeter_listed |= p["id"] == "greeter" && p["version"] == "1.1.0";
    EXPECT_TRUE(greeter_listed) << s.answers[5].dump();
    EXPECT_EQ(s.answers[6]["status"], "ok") << s.answers[6].dump();
    ASSERT_FALSE(s.answers[7]["history"].empty());
    EXPECT_EQ(s.answers[7]["history"].back()["action"], "reload");
    EXPECT_EQ(s.answers[7]["history"].back()["outcome"], "done");
    EXPECT_EQ(s.answers[8]["status"], "trap");
    EXPECT_EQ(s.answers[9]["status"], "bad_request");

    bool ready = false, refused_tampered = false, reload_noted = false;
    for (const auto& n : s.notifications) {
        ready |= n["notification"] == "ready";
        refused_tampered |= n["notification"] == "refused" && n["plugin"] == "tampered";
        reload_noted |= n["notification"] == "recovery" && n["action"] == "reload" && n["plugin"] == "greeter";
    }
    EXPECT_TRUE(ready);
    EXPECT_TRUE(refused_tampered) << "a plugin refused at start is said, and the server runs the rest";
    EXPECT_TRUE(reload_noted) << "recovery actions arrive as notifications";
}

TEST(CliPluginServe, EndsCleanlyWhenStdinClosesAndRefusesBadFlags) {
    const auto s = serve({plugin_data.string()}, "");
    EXPECT_TRUE(s.answers.empty());
    EXPECT_EQ(run_cordon({"plugin", "serve"}).exit_code, 64) << "DIR is required";
    EXPECT_EQ(run_cordon({"plugin", "serve", "--level", "lax", plugin_data.string()}).exit_code, 64);
}
