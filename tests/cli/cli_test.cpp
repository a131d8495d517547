// The cordon program driven from outside: usage errors, the signing commands, plugin directories.
// Backend commands (run, exec, inspect) have their own cases below them as the backends build.
#include "run_cordon.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
