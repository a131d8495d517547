// The plugin bus through the manager, over the none backend: calls and events under the
// manifests' bus rules, violations, loops, bounds and backpressure.
#include <cordon/none/backend.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/policy/policy.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../common/bytes.hpp"
#include "plugin_tree.hpp"

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

/// What the plugins' callables report to the test.
struct journal {
    std::mutex mutex;
    std::vector<std::string> lines;
    void add(std::string line) {
        std::lock_guard lock(mutex);
        lines.push_back(std::move(line));
    }
    /// Notes a refusal as "<who>: <kind>: <message>" and answers "refused".
    result<bytes> refused(const std::string& who, const error& e) {
        add(who + ": " + std::string(to_string(e.kind())) + ": " + e.message());
        return bytes_of("refused");
    }
    std::vector<std::string> taken() {
        std::lock_guard lock(mutex);
        return std::exchange(lines, {});
    }
};

/// "A|B" as A and B ("A" alone as A and nothing).
std::pair<std::string, std::string> split_at_bar(const std::string& text) {
    const auto bar = text.find('|');
    if (bar == std::string::npos) return {text, ""};
    return {text.substr(0, bar), text.substr(bar + 1)};
}

/// Every plugin of these tests runs the same program: its exports forward to the bus as their
/// input says, so each test wires its own conversation through the manifests.
none::program bus_program(const std::string& id, journal& seen) {
    none::program p;
    // "TARGET|payload": calls TARGET with the payload and answers what came back (or the error).
    p.export_bytes("ask", [id, &seen](none::guest& g, std::span<const std::byte> input) -> result<bytes> {
        const auto [target, payload] = split_at_bar(text_of(input));
        auto answer = g.bus_call(target, bytes_of(payload));
        if (!answer) return seen.refused(id + " was refused", answer.error());
        return *answer;
    });
    p.export_bytes("echo", [id](none::guest&, std::span<const std::byte> input) -> result<bytes> {
        return bytes_of(id + " heard " + text_of(input));
    });
    p.export_bytes("secret",
                   [](none::guest&, std::span<const std::byte>) -> result<bytes> { return bytes_of("the secret"); });
    // "TOPIC|payload": emits the payload under TOPIC.
    p.export_bytes("tell", [id, &seen](none::guest& g, std::span<const std::byte> input) -> result<bytes> {
        const auto [topic, payload] = split_at_bar(text_of(input));
        auto sent = g.bus_emit(topic, bytes_of(payload));
        if (!sent) return seen.refused(id + " could not emit", sent.error());
        return bytes_of("sent");
    });
    p.export_bytes("on_event", [id, &seen](none::guest&, std::span<const std::byte> data) -> result<bytes> {
        seen.add(id + " got " + text_of(data));
        return bytes{};
    });
    // An event handler that answers by emitting again, for event storms.
    p.export_bytes("on_ping", [id, &seen](none::guest& g, std::span<const std::byte> data) -> result<bytes> {
        seen.add(id + " got " + text_of(data));
        (void)g.bus_emit(id == "left" ? "to-right" : "to-left", data);
        return bytes{};
    });
    p.export_bytes("slow", [](none::guest&, std::span<const std::byte>) -> result<bytes> {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return bytes_of("done");
    });
    return p;
}

class Bus : public ::testing::Test {
protected:
    plugin_manager make(manager_options options = {}) {
        return plugin_manager{[this](const plugin_record& r, std::span<const unsigned char>) -> result<none::program> {
                                  return bus_program(r.id(), seen);
                              },
                              options};
    }

    /// Registers, loads and activates a plugin with these manifest fields.
    void start(plugin_manager& m, const std::string& id, nlohmann::json extra) {
        tree.add(id, "1.0.0", {}, extra);
        const fs::path roots[] = {tree.root()};
        registries.push_back(std::make_unique<registry>(registry::discover(roots).value()));
        const plugin_record* record = registries.back()->find(id, parse_version("1.0.0").value());
        ASSERT_NE(record, nullptr);
        ASSERT_TRUE(m.register_plugin(*record));
        ASSERT_TRUE(m.load(id));
        ASSERT_TRUE(m.activate(id));
    }

    static std::string answer(plugin_manager& m, const std::string& id, std::string_view function,
                              std::string_view input) {
        auto out = m.call_bytes(id, function, bytes_of(input));
        return out ? text_of(*out) : "error: " + out.error().message();
    }

    journal seen;
    plugin_tree tree;
    std::vector<std::unique_ptr<registry>> registries;
};

const nlohmann::json talker = {{"permissions", {"plugin"}}};

nlohmann::json with_bus(nlohmann::json bus, nlohmann::json fields = talker) {
    fields["bus"] = std::move(bus);
    return fields;
}

TEST_F(Bus, CallsReachWhatTheTargetsManifestAllows) {
    auto m = make();
    start(m, "app", talker);
    start(m, "echo", with_bus({{"callers", {{"app", {"echo"}}}}}, nlohmann::json::object()));
    EXPECT_EQ(answer(m, "app", "ask", "echo/echo|hi"), "echo heard hi");
    EXPECT_EQ(m.status("echo").value().calls, 1U) << "the target's call is counted as its own";
    EXPECT_TRUE(seen.taken().empty());
    const auto log = m.execution_log();
    ASSERT_EQ(log.size(), 2U);
    EXPECT_EQ(log[0].plugin + "." + log[0].function + " for '" + log[0].caller + "'", "echo.echo for 'app'");
    EXPECT_EQ(log[1].plugin + "." + log[1].function + " for '" + log[1].caller + "'", "app.ask for ''");
}

TEST_F(Bus, ACallTheTargetDoesNotAllowIsTheCallersViolation) {
    auto m = make();
    std::vector<std::string> violations;
    m.on_violation([&](const std::string& id, const error& e) { violations.push_back(id + ": " + e.message()); });
    start(m, "app", talker);
    start(m, "echo", with_bus({{"callers", {{"app", {"echo"}}}}}, nlohmann::json::object()));
    auto refused = m.call_bytes("app", "ask", bytes_of("echo/secret|give"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::violation);
    EXPECT_EQ(refused.error().info().permission, "plugin");
    EXPECT_NE(refused.error().message().find("app may not call echo/secret"), std::string::npos)
        << refused.error().message();
    ASSERT_EQ(violations.size(), 1U);
    EXPECT_EQ(violations[0].rfind("app: ", 0), 0U) << violations[0];
    EXPECT_EQ(m.state("app").value(), plugin_state::quarantined);
    EXPECT_EQ(m.state("echo").value(), plugin_state::active);
    EXPECT_EQ(m.status("echo").value().calls, 0U) << "the target never ran";
}

TEST_F(Bus, AnyCallerNeedsThePluginGrantAndAStarEntry) {
    auto m = make();
    start(m, "mute", nlohmann::json::object()); // no `plugin` permission
    start(m, "stranger", talker);
    start(m, "echo", with_bus({{"callers", {{"*", {"echo"}}}}}, nlohmann::json::object()));
    auto without_grant = m.call_bytes("mute", "ask", bytes_of("echo/echo|hi"));
    ASSERT_FALSE(without_grant);
    EXPECT_EQ(without_grant.error().kind(), error_kind::violation);
    EXPECT_EQ(without_grant.error().info().permission, "plugin");
    EXPECT_EQ(answer(m, "stranger", "ask", "echo/echo|hi"), "echo heard hi");
}

TEST_F(Bus, UnknownTargetsAndMalformedNamesAreAnswersNotViolations) {
    auto m = make();
    start(m, "app", talker);
    EXPECT_EQ(answer(m, "app", "ask", "nobody/echo|hi"), "refused");
    EXPECT_EQ(answer(m, "app", "ask", "no-slash|hi"), "refused");
    EXPECT_EQ(answer(m, "app", "ask", "/echo|hi"), "refused");
    const auto lines = seen.taken();
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_NE(lines[0].find("invalid_argument"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("is not PLUGIN/FUNCTION"), std::string::npos) << lines[1];
    EXPECT_EQ(m.state("app").value(), plugin_state::active);
}

TEST_F(Bus, ACallChainThatLoopsBackIsRefusedNotDeadlocked) {
    auto m = make();
    // a asks b, which asks a again: a is busy in its own call on this thread.
    start(m, "a", with_bus({{"callers", {{"b", {"ask", "echo"}}}}}));
    start(m, "b", with_bus({{"callers", {{"a", {"ask"}}}}}));
    EXPECT_EQ(answer(m, "a", "ask", "b/ask|a/echo|hi"), "refused");
    const auto lines = seen.taken();
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("b was refused: denied: bus call to a/echo: the call chain loops back into a 1.0.0"),
              std::string::npos)
        << lines[0];
    EXPECT_EQ(m.state("a").value(), plugin_state::active);
    EXPECT_EQ(m.state("b").value(), plugin_state::active);
}

TEST_F(Bus, ABusyTargetOnAnotherThreadIsWaitedForBoundedly) {
    manager_options options;
    options.bus_wait = std::chrono::milliseconds(50);
    auto m = make(options);
    start(m, "app", talker);
    start(m, "worker", with_bus({{"callers", {{"app", {"echo", "slow"}}}}}, nlohmann::json::object()));
    std::thread busy([&] { EXPECT_EQ(answer(m, "worker", "slow", ""), "done"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(answer(m, "app", "ask", "worker/echo|hi"), "refused");
    busy.join();
    const auto lines = seen.taken();
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("timeout"), std::string::npos) << lines[0];
    EXPECT_EQ(answer(m, "app", "ask", "worker/echo|hi"), "worker heard hi") << "idle again";
}

TEST_F(Bus, MessagesAreBounded) {
    manager_options options;
    options.bus_max_message_bytes = 64;
    auto m = make(options);
    start(m, "app", talker);
    start(m, "echo", with_bus({{"callers", {{"app", {"echo"}}}}}, nlohmann::json::object()));
    EXPECT_EQ(answer(m, "app", "ask", "echo/echo|" + std::string(65, 'x')), "refused");
    // The input fits, the answer ("echo heard " and it) does not.
    EXPECT_EQ(answer(m, "app", "ask", "echo/echo|" + std::string(60, 'x')), "refused");
    const auto lines = seen.taken();
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_NE(lines[0].find("output_limit: a bus call's input of 65 bytes"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("the answer of echo/echo"), std::string::npos) << lines[1];
    EXPECT_EQ(m.status("echo").value().calls, 1U);
}

TEST_F(Bus, EventsReachTheActiveSubscribersOfTheirTopic) {
    auto m = make();
    start(m, "app", with_bus({{"emits", {"news"}}}));
    start(m, "reader", with_bus({{"subscribes", {{"news", "on_event"}}}}, nlohmann::json::object()));
    start(m, "other", with_bus({{"subscribes", {{"weather", "on_event"}}}}, nlohmann::json::object()));
    start(m, "sleeper", with_bus({{"subscribes", {{"news", "on_event"}}}}, nlohmann::json::object()));
    ASSERT_TRUE(m.deactivate("sleeper"));
    EXPECT_EQ(answer(m, "app", "tell", "news|hello"), "sent");
    EXPECT_EQ(seen.taken(), std::vector<std::string>{"reader got hello"});
    EXPECT_EQ(m.execution_log().front().caller, "app") << "reader's handler ran for app's event";
    ASSERT_TRUE(m.emit("weather", bytes_of("rain"))); // the host may emit any topic
    EXPECT_EQ(seen.taken(), std::vector<std::string>{"other got rain"});
}

TEST_F(Bus, EmittingAnUnlistedTopicIsAViolation) {
    auto m = make();
    start(m, "app", with_bus({{"emits", {"news"}}}));
    start(m, "reader", with_bus({{"subscribes", {{"alarm", "on_event"}}}}, nlohmann::json::object()));
    auto refused = m.call_bytes("app", "tell", bytes_of("alarm|fire"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::violation);
    EXPECT_NE(refused.error().message().find("app may not emit \"alarm\""), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(seen.taken(),
              std::vector<std::string>{
                  "app could not emit: violation: plugin: app may not emit \"alarm\" (not in its bus.emits)"});
}

TEST_F(Bus, AnEventToABusyPluginWaitsForItsCallToEnd) {
    auto m = make();
    // app emits to itself during its own call: the event runs once that call is over.
    start(m, "app", with_bus({{"emits", {"self"}}, {"subscribes", {{"self", "on_event"}}}}));
    EXPECT_EQ(answer(m, "app", "tell", "self|note"), "sent");
    EXPECT_EQ(seen.taken(), std::vector<std::string>{"app got note"});
    EXPECT_EQ(m.status("app").value().calls, 2U);
}

TEST_F(Bus, AFullQueueIsBackpressure) {
    manager_options options;
    options.bus_queue_depth = 2;
    auto m = make(options);
    start(m, "app", with_bus({{"emits", {"news"}}}));
    start(m, "reader", with_bus({{"subscribes", {{"news", "on_event"}}}}, nlohmann::json::object()));
    // reader is busy on another thread: two events wait, the third is refused.
    std::thread busy([&] { EXPECT_EQ(answer(m, "reader", "slow", ""), "done"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(m.emit("news", bytes_of("one")));
    EXPECT_TRUE(m.emit("news", bytes_of("two")));
    auto third = m.emit("news", bytes_of("three"));
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().kind(), error_kind::output_limit);
    EXPECT_NE(third.error().message().find("the event queue of reader is full"), std::string::npos)
        << third.error().message();
    busy.join();
    // The busy call delivered what waited as it ended.
    EXPECT_EQ(seen.taken(), (std::vector<std::string>{"reader got one", "reader got two"}));
}

TEST_F(Bus, EventsWaitingForAPluginThatLeavesActiveAreDropped) {
    auto m = make();
    start(m, "reader", with_bus({{"subscribes", {{"news", "on_event"}}}}, nlohmann::json::object()));
    std::thread busy([&] { EXPECT_EQ(answer(m, "reader", "slow", ""), "done"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(m.emit("news", bytes_of("stale")));
    ASSERT_TRUE(m.deactivate("reader"));
    busy.join();
    ASSERT_TRUE(m.activate("reader"));
    EXPECT_TRUE(m.emit("news", bytes_of("fresh")));
    EXPECT_EQ(seen.taken(), std::vector<std::string>{"reader got fresh"});
}

TEST_F(Bus, PluginsAnsweringEachOthersEventsCannotHoldTheHostForEver) {
    auto m = make();
    start(m, "left", with_bus({{"emits", {"to-right"}}, {"subscribes", {{"to-left", "on_ping"}}}}));
    start(m, "right", with_bus({{"emits", {"to-left"}}, {"subscribes", {{"to-right", "on_ping"}}}}));
    ASSERT_TRUE(m.emit("to-left", bytes_of("ping")));
    // Each host operation moves the exchange on by what was waiting when it began.
    const auto first = seen.taken();
    EXPECT_GE(first.size(), 2U);
    EXPECT_LE(first.size(), 4U);
    EXPECT_EQ(first[0], "left got ping");
    EXPECT_EQ(first[1], "right got ping");
}

TEST_F(Bus, BusRulesInTheManifestAreValidated) {
    const auto check = [](const nlohmann::json& bus) {
        nlohmann::json m{
            {"id", "p"}, {"name", "p"}, {"version", "1.0.0"}, {"entry", "e"}, {"sha256", std::string(64, 'a')},
            {"bus", bus}};
        auto parsed = validate_manifest(m);
        return parsed ? std::string("ok") : parsed.error().message();
    };
    EXPECT_EQ(
        check({{"callers", {{"app", {"run"}}, {"*", {"ping"}}}}, {"subscribes", {{"a/b", "on"}}}, {"emits", {"x"}}}),
        "ok");
    EXPECT_EQ(check({{"callers", {{"p", {"run"}}}}}), "bus.callers.p: a plugin does not call itself over the bus");
    EXPECT_EQ(check({{"callers", {{"a b", {"run"}}}}}),
              "bus.callers.a b: plugin id \"a b\" may only hold [A-Za-z0-9._-]");
    EXPECT_EQ(check({{"callers", {{"app", {"run/x"}}}}}), "bus.callers.app[0]: \"run/x\" may only hold [A-Za-z0-9._-]");
    EXPECT_EQ(check({{"callers", {{"app", "run"}}}}), "bus.callers.app: expected an array of strings, got string");
    EXPECT_EQ(check({{"subscribes", {{"t", 3}}}}), "bus.subscribes.t: expected a function name, got integer");
    EXPECT_EQ(check({{"emits", {"ok", "ok"}}}), "bus.emits[1]: \"ok\" is listed twice");
    EXPECT_EQ(check({{"listens", {"x"}}}), "bus.listens: unknown field");
    EXPECT_EQ(check("everyone"), "bus: expected an object, got string");
}

TEST_F(Bus, ManyThreadsCallingThroughTheBusGetTheirOwnAnswers) {
    auto m = make();
    start(m, "echo", with_bus({{"callers", {{"*", {"echo"}}}}}, nlohmann::json::object()));
    constexpr int callers = 4, calls = 200;
    for (int c = 0; c < callers; ++c)
        start(m, "caller" + std::to_string(c), talker);
    std::atomic<int> right{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c)
        threads.emplace_back([&, c] {
            for (int i = 0; i < calls; ++i) {
                const std::string tag = std::to_string(c) + "." + std::to_string(i);
                if (answer(m, "caller" + std::to_string(c), "ask", "echo/echo|" + tag) == "echo heard " + tag) ++right;
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(right.load(), callers * calls);
    EXPECT_EQ(m.status("echo").value().calls, static_cast<std::uint64_t>(callers * calls));
}

} // namespace
