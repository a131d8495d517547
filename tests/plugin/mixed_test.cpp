// One manager for plugins of several backends: the same C plugin (guests/relay.c) built as a wasm
// module and as a native plugin, run by the wasm interpreter and the process backend side by
// side, talking over the bus, depending on each other, crashing, and run from verified copies.
#include <cordon/plugin/loaders.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/plugin/resolver.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/process.hpp>
#include <cordon/wasm.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "../common/bytes.hpp"
#include "plugin_tree.hpp"

using namespace cordon;
using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

// The process backend forks its children from a zygote started while the program has one thread.
const auto zygote_started = process::zygote::start();

using host_policy = cordon::policy<isolation::standard>;
using mixed_manager = manager<host_policy, wasm::interpreter, process::backend>;
using bytes = std::vector<std::byte>;

using cordon::testing::bytes_of;
std::string text_of(const result<bytes>& answer) {
    if (!answer) return std::string(to_string(answer.error().kind())) + ": " + answer.error().message();
    return {reinterpret_cast<const char*>(answer->data()), answer->size()};
}

class MixedBackends : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(zygote_started) << zygote_started.error().message();
        // Each may call the other's answer and relay; wasm-relay needs native-relay.
        tree.add_program("native-relay", "1.0.0", CORDON_RELAY_NATIVE, "librelay.so", {},
                         {{"permissions", {"plugin"}}, {"bus", {{"callers", {{"wasm-relay", {"answer", "relay"}}}}}}});
        tree.add_program("wasm-relay", "1.0.0", CORDON_RELAY_WASM, "relay.wasm", {{"native-relay", "^1.0"}},
                         {{"permissions", {"plugin"}}, {"bus", {{"callers", {{"native-relay", {"answer", "relay"}}}}}}});
        const fs::path roots[] = {tree.root()};
        found.emplace(registry::discover(roots).value());
        const std::vector<requirement> wanted{{"wasm-relay", std::nullopt}};
        const auto chosen = resolve(*found, wanted);
        ASSERT_TRUE(chosen.ok()) << chosen.to_error().message();
        ASSERT_TRUE(plugins.register_plugins(chosen)) << "a resolution across backends registers in its load order";
        for (const auto* record : chosen.load_order) {
            ASSERT_TRUE(plugins.load(record->id())) << record->id();
            ASSERT_TRUE(plugins.activate(record->id())) << record->id();
        }
    }

    result<bytes> call(const std::string& id, const std::string& function, std::string_view input) {
        return plugins.call_bytes(id, function, bytes_of(input));
    }

    plugin_tree tree;
    std::optional<registry> found;
    static manager_options restart_at_once() {
        manager_options options;
        options.restart_backoff = std::chrono::milliseconds(0);  // the crash test calls again at once
        return options;
    }

    process_loader native_copies;
    mixed_manager plugins{load_wasm_module, native_copies, restart_at_once()};
};

} // namespace

TEST_F(MixedBackends, EachPluginRunsOnTheBackendItWasBuiltFor) {
    EXPECT_EQ(plugins.status("native-relay")->backend, "process");
    EXPECT_EQ(plugins.status("wasm-relay")->backend, "wasm interpreter");
    EXPECT_EQ(text_of(call("native-relay", "answer", "hi")), "pong from native: hi");
    EXPECT_EQ(text_of(call("wasm-relay", "answer", "hi")), "pong from wasm: hi");
}

TEST_F(MixedBackends, WasmAndNativePluginsCallEachOtherOverTheBus) {
    EXPECT_EQ(text_of(call("wasm-relay", "relay", "native-relay/answer from wasm")), "pong from native: from wasm");
    EXPECT_EQ(text_of(call("native-relay", "relay", "wasm-relay/answer from native")), "pong from wasm: from native");
    // Two hops: host -> wasm -> native -> wasm would loop back; host -> native -> wasm -> native too.
    bool saw_nested = false;
    for (const auto& entry : plugins.execution_log())
        if (entry.plugin == "native-relay" && entry.function == "answer" && entry.caller == "wasm-relay") saw_nested = true;
    EXPECT_TRUE(saw_nested) << "the execution log names the plugin a bus call ran for";
}

TEST_F(MixedBackends, ACallChainThatLoopsBackAcrossBackendsIsRefusedNotDeadlocked) {
    // wasm-relay -> native-relay -> wasm-relay: wasm-relay is busy on this call chain.
    EXPECT_EQ(text_of(call("wasm-relay", "relay", "native-relay/relay wasm-relay/answer x")), "denied");
    EXPECT_EQ(text_of(call("native-relay", "relay", "wasm-relay/relay native-relay/answer x")), "denied");
    EXPECT_EQ(plugins.state("wasm-relay").value(), plugin_state::active) << "a refused loop is nobody's violation";
    EXPECT_EQ(plugins.state("native-relay").value(), plugin_state::active);
}

TEST_F(MixedBackends, ANativePluginCallingOutsideTheTargetsCallersIsQuarantined) {
    auto refused = call("native-relay", "relay", "wasm-relay/crash");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::violation) << refused.error().message();
    EXPECT_NE(refused.error().message().find("native-relay may not call wasm-relay/crash"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(plugins.state("native-relay").value(), plugin_state::quarantined);
    EXPECT_EQ(plugins.status("wasm-relay")->calls, 0u) << "the target never ran";
}

TEST_F(MixedBackends, DependenciesCrossBackends) {
    auto refused = plugins.unload("native-relay");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("wasm-relay 1.0.0 depends on it"), std::string::npos) << refused.error().message();
    ASSERT_TRUE(plugins.unload("wasm-relay"));
    EXPECT_TRUE(plugins.unload("native-relay"));
}

TEST_F(MixedBackends, AManagerRefusesAPluginForABackendItDoesNotRun) {
    manager<host_policy, wasm::interpreter, wasm::compiled> wasm_only{load_wasm_module, load_wasm_module};
    const auto* native = found->find("native-relay", parse_version("1.0.0").value());
    ASSERT_NE(native, nullptr);
    auto refused = wasm_only.register_plugin(*native);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(),
              "native-relay 1.0.0 is built for the process backend; this manager runs wasm interpreter, wasm compiled");
    const auto* wasm = found->find("wasm-relay", parse_version("1.0.0").value());
    ASSERT_TRUE(wasm_only.register_plugin(*wasm));
    EXPECT_EQ(wasm_only.status("wasm-relay")->backend, "wasm interpreter") << "the first backend that runs it";

    manager<host_policy, wasm::interpreter, process::backend> no_native_loader{load_wasm_module, {}};
    ASSERT_TRUE(no_native_loader.register_plugin(*native));
    auto unloadable = no_native_loader.load("native-relay");
    ASSERT_FALSE(unloadable);
    EXPECT_NE(unloadable.error().message().find("no loader for the process backend"), std::string::npos)
        << unloadable.error().message();
}

TEST_F(MixedBackends, ACrashedNativePluginFailsItsCallAndRunsAgainAfter) {
    auto crashed = call("native-relay", "crash", "");
    ASSERT_FALSE(crashed);
    EXPECT_EQ(crashed.error().kind(), error_kind::crash) << crashed.error().message();
    EXPECT_EQ(text_of(call("native-relay", "answer", "again")), "pong from native: again");
    EXPECT_EQ(plugins.telemetry("native-relay")->restarts, 1u);
    EXPECT_EQ(plugins.status("native-relay")->failures, 1u);

    auto trapped = call("wasm-relay", "crash", "");
    ASSERT_FALSE(trapped);
    EXPECT_EQ(trapped.error().kind(), error_kind::trap) << trapped.error().message();
}

TEST_F(MixedBackends, ANativePluginRunsTheVerifiedCopyNotTheFileOnDisk) {
    // Swap the plugin's file after its digest was checked, then make its process start again.
    const auto original = tree.directory_of("native-relay", "1.0.0") / "librelay.so";
    plugin_tree::write(original, "not a shared object");
    ASSERT_FALSE(call("native-relay", "crash", ""));
    EXPECT_EQ(text_of(call("native-relay", "answer", "still")), "pong from native: still");

    const auto copies = native_copies.directory();
    ASSERT_FALSE(copies.empty());
    struct stat dir{};
    ASSERT_EQ(::stat(copies.c_str(), &dir), 0);
    EXPECT_EQ(dir.st_mode & 0777, 0700u);
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(copies)) {
        ++files;
        struct stat copy{};
        ASSERT_EQ(::stat(entry.path().c_str(), &copy), 0);
        EXPECT_EQ(copy.st_mode & 0777, 0500u) << entry.path();
    }
    EXPECT_EQ(files, 1u);
}

TEST(MixedBackendsLifetime, TheCopiesGoWithTheLoader) {
    fs::path copies;
    {
        process_loader loader;
        plugin_tree tree;
        tree.add_program("native-relay", "1.0.0", CORDON_RELAY_NATIVE, "librelay.so");
        const fs::path roots[] = {tree.root()};
        const auto found = registry::discover(roots).value();
        const auto* record = found.find("native-relay", parse_version("1.0.0").value());
        ASSERT_NE(record, nullptr);
        const auto entry = read_verified_entry(record->definition, record->directory, default_max_entry_bytes).value();
        auto payload = loader(*record, entry);
        ASSERT_TRUE(payload) << payload.error().message();
        ASSERT_TRUE(std::holds_alternative<process::native_plugin>(*payload));
        EXPECT_TRUE(fs::exists(std::get<process::native_plugin>(*payload).path));
        copies = loader.directory();
        EXPECT_TRUE(fs::exists(copies));
    }
    EXPECT_FALSE(fs::exists(copies));
}

TEST_F(MixedBackends, AReloadMayMoveAPluginToAnotherBackend) {
    ASSERT_EQ(text_of(call("wasm-relay", "answer", "v1")), "pong from wasm: v1");  // the host now uses answer
    const nlohmann::json rules{{"callers", {{"native-relay", {"answer", "relay"}}}}};
    tree.add_program("wasm-relay", "1.1.0", CORDON_RELAY_WASM, "relay.wasm", {}, {{"permissions", {"plugin"}}, {"bus", rules}});
    tree.add_program("wasm-relay", "2.0.0", CORDON_RELAY_NATIVE, "librelay.so", {}, {{"permissions", {"plugin"}}, {"bus", rules}});
    const fs::path roots[] = {tree.root()};
    const auto later = registry::discover(roots).value();
    ASSERT_TRUE(plugins.reload("wasm-relay", *later.find("wasm-relay", parse_version("1.1.0").value())));
    EXPECT_EQ(text_of(call("wasm-relay", "answer", "v2")), "pong from wasm: v2");
    ASSERT_TRUE(plugins.reload("wasm-relay", *later.find("wasm-relay", parse_version("2.0.0").value())));
    EXPECT_EQ(plugins.status("wasm-relay")->backend, "process");
    EXPECT_EQ(text_of(call("wasm-relay", "answer", "v3")), "pong from native: v3");
    EXPECT_EQ(text_of(call("native-relay", "relay", "wasm-relay/answer over the bus")), "pong from native: over the bus");
    const auto history = plugins.recovery_history();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[1].detail, "1.1.0 -> 2.0.0");
}
