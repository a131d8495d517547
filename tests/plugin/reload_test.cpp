// Hot reload, rollback and the recovery history, over the none backend: a version swapped in
// between calls, every refusal keeping the old version serving, state handed over, a failing
// new version rolled back, crashes held back by a backoff, and each action in the history.
#include "../common/bytes.hpp"
#include "plugin_tree.hpp"

#include <cordon/none/backend.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/policy/policy.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace cordon;
using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

using host_policy = cordon::policy<isolation::standard>;
using plugin_manager = manager<host_policy, none::backend>;
using bytes = std::vector<std::byte>;

using cordon::testing::bytes_of;
using cordon::testing::text_of;

result<std::int32_t> trap(const char* what) { return error{error_kind::trap, error_info{what}}; }

/// What each version of the test plugins runs, chosen by the loader from the record.
struct versions {
    std::promise<void> entered;       // slow: set when a call of 1.0.0's slow() has started
    std::shared_future<void> release; // slow: what that call waits for
    std::string imported;             // what 1.1.0's cordon_import_state received

    none::program program_for(const plugin_record& r) {
        const auto v = r.version().to_string();
        none::program p;
        if (r.id() == "calc") {
            const std::int32_t step = v == "1.0.0" ? 1 : 2;
            if (v != "1.2.0") p.export_function("add", [step](std::int32_t x) { return x + step; });  // 1.2.0 drops add
            if (v == "1.3.0") p.export_function("add64", [](std::int64_t x) { return x + 3; });
            if (v == "1.4.0") {  // add changed its signature
                p = none::program{};
                p.export_function("add", [](std::int64_t x) { return x + 4; });
            }
            if (v == "1.5.0") p.export_function("fails", [] { return trap("1.5.0 is broken"); });
            p.export_function("which", [step] { return step; });
            p.export_function("slow", [this, step] {
                if (step == 1) {
                    entered.set_value();
                    release.wait();
                }
                return 100 * step;
            });
            if (v == "1.0.0") {
                p.export_bytes("cordon_export_state", [](none::guest&, std::span<const std::byte>) -> result<bytes> {
                    return bytes_of("count=7");
                });
            }
            if (v == "1.1.0")
                p.export_bytes("cordon_import_state", [this](none::guest&, std::span<const std::byte> state) -> result<bytes> {
                    imported = text_of(state);
                    return bytes{};
                });
            p.export_function("crash", [] { return result<std::int32_t>{error{error_kind::crash, error_info{"killed by SIGSEGV"}}}; });
        }
        if (r.id() == "echo") {
            if (v == "1.0.0") p.export_bytes("echo", [](none::guest&, std::span<const std::byte> in) -> result<bytes> {
                return bytes(in.begin(), in.end());
            });
            p.export_function("which", [] { return 0; });
        }
        if (r.id() == "asker")
            p.export_bytes("ask", [](none::guest& g, std::span<const std::byte> in) -> result<bytes> { return g.bus_call("echo/echo", in); });
        if (r.id() == "app") p.export_function("main", [] { return 1; });
        return p;
    }
};

class Reload : public ::testing::Test {
protected:
    plugin_manager make(manager_options options = {}) {
        return plugin_manager{[this](const plugin_record& r, std::span<const unsigned char>) -> result<none::program> {
                                  return code.program_for(r);
                              },
                              options};
    }

    const plugin_record& add(const std::string& id, const std::string& version, nlohmann::json extra = nlohmann::json::object(),
                             std::map<std::string, std::string> deps = {}) {
        tree.add(id, version, deps, extra);
        const fs::path roots[] = {tree.root()};
        registries.push_back(std::make_unique<registry>(registry::discover(roots).value()));
        return *registries.back()->find(id, parse_version(version).value());
    }

    void start(plugin_manager& m, const plugin_record& r) {
        if (watched.insert(&m).second) m.on_recovery([this](const recovery_record& e) { observed.push_back(e); });
        ASSERT_TRUE(m.register_plugin(r));
        ASSERT_TRUE(m.load(r.id()));
        ASSERT_TRUE(m.activate(r.id()));
    }

    /// Two crashes in a row disable a plugin, and a crashed plugin may be called again at once.
    static manager_options disabled_after_two_crashes() {
        manager_options options;
        options.max_consecutive_failures = 2;
        options.restart_backoff = std::chrono::milliseconds(0);
        return options;
    }

    static std::int32_t add_one(plugin_manager& m, std::int32_t x) { return m.call<std::int32_t(std::int32_t)>("calc", "add", x).value_or(-1); }

    /// "action outcome version" of each history entry.
    static std::vector<std::string> summary(const std::vector<recovery_record>& history) {
        std::vector<std::string> out;
        for (const auto& r : history)
            out.push_back(std::string(to_string(r.action)) + " " + std::string(to_string(r.outcome)) + " " + r.version);
        return out;
    }

    plugin_tree tree;
    std::vector<std::unique_ptr<registry>> registries;
    versions code;
    std::vector<recovery_record> observed;
    std::set<const plugin_manager*> watched;
};

} // namespace

TEST_F(Reload, ANewVersionTakesOverBetweenCallsAndIsRecorded) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    EXPECT_EQ(add_one(m, 40), 41);
    ASSERT_TRUE(m.reload("calc", add("calc", "1.1.0")));
    EXPECT_EQ(add_one(m, 40), 42);
    EXPECT_EQ(m.status("calc")->version, "1.1.0");
    EXPECT_EQ(m.state("calc").value(), plugin_state::active) << "a reload keeps the plugin's state";
    const auto history = m.recovery_history();
    ASSERT_EQ(summary(history), std::vector<std::string>{"reload done 1.1.0"});
    EXPECT_EQ(history[0].plugin, "calc");
    EXPECT_EQ(history[0].detail, "1.0.0 -> 1.1.0");
    EXPECT_EQ(history[0].cause, "requested by the host");
    EXPECT_EQ(summary(observed), summary(history)) << "observers see every entry";
}

TEST_F(Reload, ReloadReadsThePluginsDirectoryAgain) {
    auto m = make();
    const auto& first = add("calc", "1.0.0");
    start(m, first);
    // The plugin's files are replaced in place by version 1.1.0.
    const std::string entry = "entry of calc 1.1.0";
    plugin_tree::write(first.directory / "entry.bin", entry);
    const nlohmann::json manifest{{"id", "calc"}, {"name", "calc plugin"}, {"version", "1.1.0"}, {"entry", "entry.bin"},
                                  {"sha256", sha256_hex(std::string_view(entry))}};
    plugin_tree::write(first.directory / "plugin.json", manifest.dump());
    ASSERT_TRUE(m.reload("calc"));
    EXPECT_EQ(add_one(m, 40), 42);

    // Now the entry no longer matches its digest: refused, 1.1.0 keeps serving.
    plugin_tree::write(first.directory / "entry.bin", "tampered");
    auto refused = m.reload("calc");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("reload of calc refused; calc 1.1.0 keeps serving"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(add_one(m, 40), 42);
    fs::remove(first.directory / "plugin.json");
    EXPECT_FALSE(m.reload("calc"));
    EXPECT_EQ(summary(m.recovery_history()),
              (std::vector<std::string>{"reload done 1.1.0", "reload refused 1.1.0", "reload refused 1.1.0"}));
}

TEST_F(Reload, AVersionThatDropsOrChangesAnExportInUseIsRefused) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    ASSERT_EQ(add_one(m, 1), 2);  // the host now uses add as (i32) -> i32

    auto dropped = m.reload("calc", add("calc", "1.2.0"));
    ASSERT_FALSE(dropped);
    EXPECT_EQ(dropped.error().kind(), error_kind::load_error);
    EXPECT_NE(dropped.error().message().find("calc 1.2.0 no longer offers add, but the host calls it"), std::string::npos)
        << dropped.error().message();

    auto changed = m.reload("calc", add("calc", "1.4.0"));
    ASSERT_FALSE(changed);
    EXPECT_NE(changed.error().message().find("calc 1.4.0 offers add as (i64) -> i64, not (i32) -> i32, but the host calls it"),
              std::string::npos)
        << changed.error().message();
    EXPECT_EQ(add_one(m, 1), 2) << "1.0.0 keeps serving";
    EXPECT_EQ(m.status("calc")->version, "1.0.0");

    EXPECT_TRUE(m.reload("calc", add("calc", "1.3.0"))) << "a version adding an export is fine";
    const auto history = m.recovery_history();
    EXPECT_EQ(summary(history), (std::vector<std::string>{"reload refused 1.2.0", "reload refused 1.4.0", "reload done 1.3.0"}));
    EXPECT_NE(history[0].detail.find("no longer offers add"), std::string::npos) << history[0].detail;
}

TEST_F(Reload, AnExportAnotherPluginCallsOverTheBusMustStay) {
    auto m = make();
    start(m, add("echo", "1.0.0", {{"bus", {{"callers", {{"asker", {"echo"}}}}}}}));
    start(m, add("asker", "1.0.0", {{"permissions", {"plugin"}}}));
    ASSERT_EQ(text_of(m.call_bytes("asker", "ask", bytes_of("hi")).value()), "hi");
    auto refused = m.reload("echo", add("echo", "1.1.0", {{"bus", {{"callers", {{"asker", {"echo"}}}}}}}));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("echo 1.1.0 no longer offers echo, but asker calls it"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(text_of(m.call_bytes("asker", "ask", bytes_of("again")).value()), "again");
}

TEST_F(Reload, DependenciesAndDependantsMustStillFit) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    start(m, add("app", "1.0.0", {}, {{"calc", "^1.0"}}));
    auto breaking = m.reload("calc", add("calc", "2.0.0"));
    ASSERT_FALSE(breaking);
    EXPECT_NE(breaking.error().message().find("app 1.0.0 requires calc ^1.0, which calc 2.0.0 does not satisfy"), std::string::npos)
        << breaking.error().message();
    auto other = m.reload("calc", add("app", "1.1.0"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().kind(), error_kind::invalid_argument);
    auto over_ceiling = m.reload("calc", add("calc", "1.1.0", {{"permissions", {"process"}}}));
    ASSERT_FALSE(over_ceiling);
    EXPECT_EQ(over_ceiling.error().kind(), error_kind::permission_outside_policy) << over_ceiling.error().message();
    EXPECT_EQ(add_one(m, 1), 2);
}

TEST_F(Reload, ACallInFlightFinishesOnTheOldVersion) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    std::promise<void> go;
    code.release = go.get_future().share();
    auto running = std::async(std::launch::async, [&] { return m.call<std::int32_t()>("calc", "slow").value_or(-1); });
    code.entered.get_future().wait();
    const auto& next = add("calc", "1.1.0");
    auto reloading = std::async(std::launch::async, [&] { return m.reload("calc", next); });
    EXPECT_EQ(reloading.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout) << "the swap waits for the call";
    go.set_value();
    EXPECT_EQ(running.get(), 100) << "answered by 1.0.0";
    EXPECT_TRUE(reloading.get());
    EXPECT_EQ(m.call<std::int32_t()>("calc", "slow").value_or(-1), 200) << "the next call reaches 1.1.0";
}

TEST_F(Reload, StateIsHandedOverWhenBothVersionsOfferIt) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    ASSERT_TRUE(m.reload("calc", add("calc", "1.1.0")));
    EXPECT_EQ(code.imported, "count=7");
}

TEST_F(Reload, AFailingNewVersionIsRolledBack) {
    manager_options options;
    options.rollback_after_failures = 3;
    auto m = make(options);
    start(m, add("calc", "1.0.0"));
    ASSERT_TRUE(m.reload("calc", add("calc", "1.5.0")));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(m.call<std::int32_t()>("calc", "fails"));
    EXPECT_EQ(m.status("calc")->version, "1.0.0") << "rolled back after the third failure";
    EXPECT_EQ(m.state("calc").value(), plugin_state::active);
    EXPECT_EQ(m.call<std::int32_t()>("calc", "which").value(), 1);
    const auto history = m.recovery_history();
    ASSERT_EQ(summary(history), (std::vector<std::string>{"reload done 1.5.0", "rollback done 1.0.0"}));
    EXPECT_EQ(history[1].detail, "1.5.0 -> 1.0.0");
    EXPECT_NE(history[1].cause.find("3 failed calls of 1.5.0 since it was loaded (last: 1.5.0 is broken)"), std::string::npos)
        << history[1].cause;
    auto again = m.rollback("calc");
    ASSERT_FALSE(again) << "nothing left to roll back to";
    EXPECT_NE(again.error().message().find("no reload replaced a version"), std::string::npos);
}

TEST_F(Reload, AVersionThatPassesProbationStays) {
    manager_options options;
    options.probation_calls = 2;
    options.rollback_after_failures = 1;
    auto m = make(options);
    start(m, add("calc", "1.0.0"));
    ASSERT_TRUE(m.reload("calc", add("calc", "1.5.0")));
    EXPECT_TRUE(m.call<std::int32_t()>("calc", "which"));
    EXPECT_TRUE(m.call<std::int32_t()>("calc", "which"));
    EXPECT_FALSE(m.call<std::int32_t()>("calc", "fails"));
    EXPECT_EQ(m.status("calc")->version, "1.5.0") << "off probation, a failure is only a failure";
    ASSERT_TRUE(m.rollback("calc")) << "the host may still roll back";
    EXPECT_EQ(m.status("calc")->version, "1.0.0");
}

TEST_F(Reload, ACrashHoldsCallsBackForTheBackoff) {
    manager_options options;
    options.restart_backoff = options.restart_backoff_max = std::chrono::hours(1);
    auto m = make(options);
    start(m, add("calc", "1.0.0"));
    auto crashed = m.call<std::int32_t()>("calc", "crash");
    ASSERT_FALSE(crashed);
    auto held = m.call<std::int32_t()>("calc", "which");
    ASSERT_FALSE(held);
    EXPECT_EQ(held.error().kind(), error_kind::crash);
    EXPECT_NE(held.error().message().find("crashed 1 time(s) in a row; it starts again in"), std::string::npos)
        << held.error().message();
    const auto history = m.recovery_history();
    ASSERT_EQ(summary(history), std::vector<std::string>{"restart done 1.0.0"});
    EXPECT_EQ(history[0].cause, "killed by SIGSEGV");
    EXPECT_EQ(history[0].detail, "the next call after 3600000 ms starts it again");

    options.restart_backoff = std::chrono::milliseconds(0);
    auto quick = make(options);
    ASSERT_TRUE(quick.register_plugin(*registries.back()->find("calc", parse_version("1.0.0").value())));
    ASSERT_TRUE(quick.load("calc"));
    ASSERT_TRUE(quick.activate("calc"));
    ASSERT_FALSE(quick.call<std::int32_t()>("calc", "crash"));
    EXPECT_EQ(quick.call<std::int32_t()>("calc", "which").value(), 1) << "without a backoff the next call runs";
}

TEST_F(Reload, QuarantinesAndDisablesAreInTheHistory) {
    auto m = make(disabled_after_two_crashes());
    start(m, add("calc", "1.0.0"));
    start(m, add("echo", "1.0.0"));  // offers echo to nobody
    start(m, add("asker", "1.0.0", {{"permissions", {"plugin"}}}));
    EXPECT_FALSE(m.call_bytes("asker", "ask", bytes_of("x"))) << "echo does not admit asker: a violation";
    EXPECT_EQ(m.state("asker").value(), plugin_state::quarantined);
    (void)m.call<std::int32_t()>("calc", "crash");
    (void)m.call<std::int32_t()>("calc", "crash");
    EXPECT_EQ(m.state("calc").value(), plugin_state::disabled);
    const auto history = m.recovery_history();
    EXPECT_EQ(summary(history), (std::vector<std::string>{"quarantine done 1.0.0", "restart done 1.0.0", "restart done 1.0.0",
                                                          "disable done 1.0.0"}));
    EXPECT_EQ(history[0].plugin, "asker");
    EXPECT_EQ(history[3].detail, "2 consecutive failures");
}

TEST_F(Reload, APluginKeepsItsStateAcrossAReload) {
    auto m = make(disabled_after_two_crashes());
    start(m, add("calc", "1.0.0"));
    (void)m.call<std::int32_t()>("calc", "crash");
    (void)m.call<std::int32_t()>("calc", "crash");
    ASSERT_EQ(m.state("calc").value(), plugin_state::disabled);
    ASSERT_TRUE(m.reload("calc", add("calc", "1.1.0")));
    EXPECT_EQ(m.state("calc").value(), plugin_state::disabled) << "the host enables it, not the reload";
    auto refused = m.call<std::int32_t()>("calc", "which");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("disabled after 2 consecutive failures"), std::string::npos) << refused.error().message();
    ASSERT_TRUE(m.enable("calc"));
    EXPECT_EQ(m.call<std::int32_t()>("calc", "which").value(), 2);

    ASSERT_TRUE(m.deactivate("calc"));
    ASSERT_TRUE(m.unload("calc"));
    ASSERT_TRUE(m.load("calc"));
    EXPECT_EQ(m.status("calc")->version, "1.1.0") << "loads the version it was reloaded to";
    EXPECT_FALSE(m.rollback("calc")) << "an unloaded plugin has nothing to roll back to";
}
