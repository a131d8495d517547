// The plugin manager over the none backend: lifecycle, the policy ceiling, runtime grants,
// auto-disable, quarantine, import allow-lists, logs, observers and integrity at load.
#include "plugin_tree.hpp"

#include <cordon/none/backend.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/policy/policy.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace cordon;
using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

using host_policy = cordon::policy<isolation::standard>;
using plugin_manager = manager<host_policy, none::backend>;

none::program calculator() {
    none::program p;
    p.export_function("add", [](std::int32_t a, std::int32_t b) { return a + b; });
    p.export_function("uses_clock", [](none::guest& g) -> result<std::int32_t> {
        auto t = g.clock_ns();
        if (!t) return t.error();
        return 1;
    });
    p.export_function("uses_random", [](none::guest& g) -> result<std::int32_t> {
        std::array<std::byte, 4> bytes{};
        if (auto r = g.random(bytes); !r) return r.error();
        return 2;
    });
    p.export_function("fails", []() -> result<std::int32_t> {
        error_info info{"unreachable executed"};
        info.backtrace = {frame{"inner", 3, 17}, frame{"outer", 1, 4}};
        return error{error_kind::trap, std::move(info)};
    });
    p.export_function("calls_host", [](none::guest& g) -> result<std::int32_t> {
        return g.call_host<std::int32_t(std::int32_t, std::int32_t)>("host_add", 20, 22);
    });
    return p;
}

class Manager : public ::testing::Test {
protected:
    plugin_manager make(manager_options options = {}) {
        host::functions functions{host::function("host_add", [](std::int32_t a, std::int32_t b) { return a + b; })};
        return plugin_manager{[this](const plugin_record& r, std::span<const unsigned char> bytes) -> result<none::program> {
                                  ++loads;
                                  if (bytes.empty()) return fail(error_kind::load_error, "empty entry");
                                  (void)r;
                                  return calculator();
                              },
                              options, std::move(functions)};
    }

    const plugin_record& add(const std::string& id, const std::string& version, nlohmann::json extra = nlohmann::json::object(),
                             std::map<std::string, std::string> deps = {}) {
        tree.add(id, version, deps, extra);
        const fs::path roots[] = {tree.root()};
        registries.push_back(std::make_unique<registry>(registry::discover(roots).value()));
        return *registries.back()->find(id, parse_version(version).value());
    }

    /// Registers, loads and activates.
    void start(plugin_manager& m, const plugin_record& r) {
        ASSERT_TRUE(m.register_plugin(r));
        ASSERT_TRUE(m.load(r.id()));
        ASSERT_TRUE(m.activate(r.id()));
    }

    plugin_tree tree;
    std::vector<std::unique_ptr<registry>> registries;
    int loads = 0;
};

} // namespace

TEST_F(Manager, LifecycleAndStateObservers) {
    auto m = make();
    std::vector<std::string> seen;
    m.on_state_change([&](const std::string& id, plugin_state from, plugin_state to) {
        seen.push_back(id + ":" + std::string(to_string(from)) + "->" + std::string(to_string(to)));
    });
    const auto& calc = add("calc", "1.0.0");
    ASSERT_TRUE(m.register_plugin(calc));
    EXPECT_EQ(m.state("calc").value(), plugin_state::registered);
    EXPECT_EQ(m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", 1, 2).error().kind(), error_kind::invalid_argument);
    ASSERT_TRUE(m.load("calc"));
    EXPECT_FALSE(m.load("calc"));  // already loaded
    EXPECT_NE(m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", 1, 2).error().message().find("activate it first"),
              std::string::npos);
    ASSERT_TRUE(m.activate("calc"));
    EXPECT_EQ(m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", 1, 2).value(), 3);
    ASSERT_TRUE(m.deactivate("calc"));
    ASSERT_TRUE(m.unload("calc"));
    EXPECT_FALSE(m.unload("calc"));
    EXPECT_EQ(seen, (std::vector<std::string>{"calc:registered->loaded", "calc:loaded->active", "calc:active->loaded",
                                              "calc:loaded->registered"}));
    EXPECT_FALSE(m.register_plugin(calc));  // one plugin per id
    EXPECT_FALSE(m.load("nobody"));
    EXPECT_EQ(loads, 1);
}

TEST_F(Manager, PermissionsAndLimitsOutsideTheCeilingAreRefused) {
    auto m = make();
    auto wants_process = m.register_plugin(add("spawner", "1.0.0", {{"permissions", {"clock", "process"}}}));
    ASSERT_FALSE(wants_process);
    EXPECT_EQ(wants_process.error().kind(), error_kind::permission_outside_policy);
    EXPECT_NE(wants_process.error().message().find("spawner 1.0.0 requests process"), std::string::npos)
        << wants_process.error().message();

    auto too_much_memory = m.register_plugin(add("hog", "1.0.0", {{"limits", {{"memory", "1GiB"}}}}));
    ASSERT_FALSE(too_much_memory);
    EXPECT_EQ(too_much_memory.error().kind(), error_kind::limit_outside_policy);
    EXPECT_NE(too_much_memory.error().message().find("hog 1.0.0 asks for a memory limit"), std::string::npos);

    EXPECT_TRUE(m.register_plugin(add("modest", "1.0.0", {{"permissions", {"net=example.org:443", "fs.read=/srv"}},
                                                          {"limits", {{"memory", "64MiB"}, {"timeout", "2s"}}}})));
    ASSERT_TRUE(m.load("modest"));
    const auto limits = m.limits("modest").value();
    EXPECT_EQ(limits.get(limit::kind::memory), 64 * MiB);
    EXPECT_EQ(limits.get(limit::kind::wall_time_ms), 2000U);
}

TEST_F(Manager, PluginsGetOnlyWhatTheirManifestAsksFor) {
    auto m = make();
    start(m, add("calc", "1.0.0", {{"permissions", {"clock"}}}));
    EXPECT_EQ(m.call<std::int32_t()>("calc", "uses_clock").value(), 1);
    // random is a default grant of the standard preset, but calc did not ask for it.
    std::vector<std::string> violations;
    m.on_violation([&](const std::string& id, const error& e) { violations.push_back(id + ": " + e.message()); });
    auto denied = m.call<std::int32_t()>("calc", "uses_random");
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    ASSERT_EQ(violations.size(), 1U);
    EXPECT_NE(violations[0].find("random: cordon.random_fill called without the grant"), std::string::npos) << violations[0];
}

TEST_F(Manager, ViolationQuarantinesUntilReleased) {
    auto m = make();
    start(m, add("calc", "1.0.0"));
    ASSERT_FALSE(m.call<std::int32_t()>("calc", "uses_clock"));
    EXPECT_EQ(m.state("calc").value(), plugin_state::quarantined);
    auto refused = m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", 1, 1);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::denied);
    EXPECT_NE(refused.error().message().find("quarantined"), std::string::npos);
    EXPECT_FALSE(m.activate("calc"));
    ASSERT_TRUE(m.release("calc"));
    ASSERT_TRUE(m.activate("calc"));
    EXPECT_EQ(m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", 1, 1).value(), 2);
    EXPECT_EQ(m.status("calc").value().violations, 1U);

    manager_options lenient;
    lenient.quarantine_on_violation = false;
    auto m2 = make(lenient);
    start(m2, add("calc2", "1.0.0"));
    ASSERT_FALSE(m2.call<std::int32_t()>("calc2", "uses_clock"));
    EXPECT_EQ(m2.state("calc2").value(), plugin_state::active);
    // A later call that never starts is not blamed for the earlier violation.
    EXPECT_EQ(m2.call<std::int32_t()>("calc2", "no_such_export").error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(m2.status("calc2").value().violations, 1U);
}

TEST_F(Manager, RuntimeGrantRevokeAndTighten) {
    auto m = make();
    manager_options lenient;
    lenient.quarantine_on_violation = false;
    auto m2 = make(lenient);
    start(m2, add("calc", "1.0.0", {{"permissions", {"clock"}}}));
    EXPECT_TRUE(m2.call<std::int32_t()>("calc", "uses_clock"));
    ASSERT_TRUE(m2.revoke("calc", "clock"));
    EXPECT_EQ(m2.call<std::int32_t()>("calc", "uses_clock").error().kind(), error_kind::violation);
    ASSERT_TRUE(m2.grant("calc", "clock"));
    EXPECT_TRUE(m2.call<std::int32_t()>("calc", "uses_clock"));
    EXPECT_EQ(m2.grant("calc", "process").error().kind(), error_kind::permission_outside_policy);
    ASSERT_TRUE(m2.tighten("calc", limit::kind::wall_time_ms, 1000));
    EXPECT_EQ(m2.tighten("calc", limit::kind::wall_time_ms, 5000).error().kind(), error_kind::limit_outside_policy);
    EXPECT_EQ(m2.limits("calc").value().get(limit::kind::wall_time_ms), 1000U);
    EXPECT_FALSE(m.grant("calc", "clock"));  // not registered in m
}

TEST_F(Manager, DisablesAfterConsecutiveFailuresAndReEnables) {
    manager_options options;
    options.max_consecutive_failures = 3;
    auto m = make(options);
    std::vector<std::string> disabled, errors;
    m.on_disable([&](const std::string& id, const error& e) { disabled.push_back(id + ": " + e.message()); });
    m.on_error([&](const std::string& id, const error&) { errors.push_back(id); });
    start(m, add("flaky", "0.1.0"));
    // A host mistake (unknown export) is recorded but does not count towards disabling.
    EXPECT_EQ(m.call<std::int32_t()>("flaky", "no_such_export").error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(m.status("flaky").value().consecutive_failures, 0U);
    ASSERT_FALSE(m.call<std::int32_t()>("flaky", "fails"));
    ASSERT_TRUE(m.call<std::int32_t(std::int32_t, std::int32_t)>("flaky", "add", 1, 1));  // success resets the count
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(m.call<std::int32_t()>("flaky", "fails"));
    EXPECT_EQ(m.state("flaky").value(), plugin_state::disabled);
    ASSERT_EQ(disabled.size(), 1U);
    EXPECT_NE(disabled[0].find("unreachable executed"), std::string::npos);
    EXPECT_EQ(errors.size(), 5U);
    auto refused = m.call<std::int32_t(std::int32_t, std::int32_t)>("flaky", "add", 1, 1);
    EXPECT_EQ(refused.error().kind(), error_kind::denied);
    EXPECT_NE(refused.error().message().find("disabled after 3 consecutive failures"), std::string::npos)
        << refused.error().message();
    ASSERT_TRUE(m.enable("flaky"));
    EXPECT_EQ(m.status("flaky").value().consecutive_failures, 0U);
    EXPECT_EQ(m.call<std::int32_t(std::int32_t, std::int32_t)>("flaky", "add", 2, 2).value(), 4);

    const auto history = m.errors("flaky").value();
    ASSERT_EQ(history.size(), 5U);
    EXPECT_EQ(history.back().function, "fails");
    ASSERT_EQ(history.back().failure.info().backtrace.size(), 2U);
    EXPECT_EQ(history.back().failure.info().backtrace[0].function, "inner");
}

TEST_F(Manager, ExecutionLogIsBoundedAndTimed) {
    manager_options options;
    options.execution_log_capacity = 4;
    auto m = make(options);
    start(m, add("calc", "1.0.0"));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(m.call<std::int32_t(std::int32_t, std::int32_t)>("calc", "add", i, 1));
    ASSERT_FALSE(m.call<std::int32_t()>("calc", "fails"));
    const auto log = m.execution_log();
    ASSERT_EQ(log.size(), 4U);
    EXPECT_EQ(log.back().function, "fails");
    ASSERT_TRUE(log.back().failure.has_value());
    EXPECT_EQ(log.back().failure->kind(), error_kind::trap);
    EXPECT_FALSE(log.front().failure.has_value());
    for (const auto& entry : log) {
        EXPECT_EQ(entry.plugin, "calc");
        EXPECT_GT(entry.duration.count(), 0);
    }
    EXPECT_EQ(m.status("calc").value().calls, 11U);
    EXPECT_EQ(m.telemetry("calc").value().total.calls, 11U);
}

TEST_F(Manager, ImportAllowListIsEditableAtRunTime) {
    manager_options options;
    options.quarantine_on_violation = false;
    auto m = make(options);
    start(m, add("calc", "1.0.0"));
    EXPECT_EQ(m.call<std::int32_t()>("calc", "calls_host").value(), 42);
    ASSERT_TRUE(m.deny_import("calc", "host_add"));
    auto denied = m.call<std::int32_t()>("calc", "calls_host");
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    EXPECT_NE(denied.error().message().find("host function \"host_add\" is not allowed"), std::string::npos);
    ASSERT_TRUE(m.allow_import("calc", "host_add"));
    EXPECT_EQ(m.call<std::int32_t()>("calc", "calls_host").value(), 42);
    EXPECT_EQ(m.deny_import("calc", "no_such_function").error().kind(), error_kind::invalid_argument);

    manager_options closed;
    closed.imports_allowed_by_default = false;
    closed.quarantine_on_violation = false;
    auto m2 = make(closed);
    start(m2, add("calc2", "1.0.0"));
    EXPECT_FALSE(m2.call<std::int32_t()>("calc2", "calls_host"));
    ASSERT_TRUE(m2.allow_import("calc2", "host_add"));
    EXPECT_EQ(m2.call<std::int32_t()>("calc2", "calls_host").value(), 42);
}

TEST_F(Manager, EntryIsCheckedAgainItsDigestAtLoad) {
    auto m = make();
    const auto& calc = add("calc", "1.0.0");
    ASSERT_TRUE(m.register_plugin(calc));
    plugin_tree::write(calc.directory / "entry.bin", "swapped after discovery");
    auto loaded = m.load("calc");
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("does not match its sha256"), std::string::npos);
    EXPECT_EQ(m.state("calc").value(), plugin_state::registered);
    EXPECT_EQ(loads, 0);
}

TEST_F(Manager, RejectedRecordsCannotBeRegistered) {
    auto m = make();
    const auto& calc = add("calc", "1.0.0");
    plugin_tree::write(calc.directory / "entry.bin", "tampered");
    const fs::path roots[] = {tree.root()};
    const auto reg = registry::discover(roots).value();
    auto registered = m.register_plugin(*reg.versions_of("calc")[0]);
    ASSERT_FALSE(registered);
    EXPECT_NE(registered.error().message().find("cannot register: entry \"entry.bin\" of calc 1.0.0"), std::string::npos);
}

TEST_F(Manager, DependenciesLoadFirstAndUnloadLast) {
    auto m = make();
    tree.add("log", "1.2.0");
    tree.add("app", "1.0.0", {{"log", "^1"}});
    const fs::path roots[] = {tree.root()};
    const auto reg = registry::discover(roots).value();
    const requirement root{"app", std::nullopt};
    const auto chosen = resolve(reg, std::span{&root, 1});
    ASSERT_TRUE(chosen.ok());
    ASSERT_TRUE(m.register_plugins(chosen));
    auto early = m.load("app");
    ASSERT_FALSE(early);
    EXPECT_NE(early.error().message().find("its dependency log 1.2.0 is not loaded"), std::string::npos);
    ASSERT_TRUE(m.load("log"));
    ASSERT_TRUE(m.load("app"));
    auto too_soon = m.unload("log");
    ASSERT_FALSE(too_soon);
    EXPECT_NE(too_soon.error().message().find("app 1.0.0 depends on it"), std::string::npos);
    ASSERT_TRUE(m.unload("app"));
    ASSERT_TRUE(m.unload("log"));
    EXPECT_EQ(m.statuses().size(), 2U);
}

TEST_F(Manager, ConcurrentCallsGrantsAndLifecycleFromManyThreads) {
    manager_options options;
    options.quarantine_on_violation = false;
    options.max_consecutive_failures = 0;
    auto m = make(options);
    start(m, add("a", "1.0.0", {{"permissions", {"clock"}}}));
    start(m, add("b", "1.0.0", {{"permissions", {"clock", "random"}}}));
    constexpr int threads = 4, calls_each = 200;
    std::atomic<int> ok_calls{0}, observed_errors{0};
    m.on_error([&](const std::string&, const error&) { ++observed_errors; });
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            const std::string id = t % 2 ? "a" : "b";
            for (int i = 0; i < calls_each; ++i)
                if (m.call<std::int32_t(std::int32_t, std::int32_t)>(id, "add", i, t).value_or(-1) == i + t) ++ok_calls;
        });
    workers.emplace_back([&] {
        for (int i = 0; i < 100; ++i) {
            (void)m.revoke("b", "random");
            (void)m.call<std::int32_t()>("b", "uses_random");
            (void)m.grant("b", "random");
            (void)m.statuses();
            (void)m.execution_log();
        }
    });
    for (auto& w : workers) w.join();
    EXPECT_EQ(ok_calls.load(), threads * calls_each);
    const auto a = m.status("a").value(), b = m.status("b").value();
    EXPECT_EQ(a.calls + b.calls, static_cast<std::uint64_t>(threads * calls_each + 100));
    EXPECT_EQ(static_cast<std::uint64_t>(observed_errors.load()), b.failures);
}
