// The facade over the none backend: typed calls, signature checks, the host API's permission
// checks, violations, output caps, user host functions, telemetry and the enforcement report.

#include <cordon/cordon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace {
using namespace cordon;

struct ui : perm::custom<"ui"> {};
using strict_clock = policy<isolation::strict, allow<perm::clock>, limit::output_bytes<64>>;
using standard = policy<isolation::standard>;

none::program demo() {
    none::program p;
    p.export_function("add", [](std::int32_t a, std::int32_t b) { return a + b; })
        .export_function("wide", [](std::int64_t a, double b) { return static_cast<double>(a) * b; })
        .export_function("now", [](none::guest& g) -> result<std::uint64_t> { return g.clock_ns(); })
        .export_function("entropy", [](none::guest& g) -> std::int32_t {
            std::byte b[8];
            return g.random(b) ? 0 : -1;  // the guest sees an error code and carries on
        })
        .export_function("shout", [](none::guest& g, std::int32_t times) {
            for (int i = 0; i < times; ++i) (void)g.write("0123456789");
        })
        .export_function("murmur", [](none::guest& g, std::int32_t length) -> result<void> {
            if (auto r = g.write("0123456789012345678901234567890"); !r) return r;
            return g.log(log_level::info, std::string(static_cast<std::size_t>(length), 'm'));
        })
        .export_function("show", [](none::guest& g, std::int32_t id) -> result<std::int32_t> {
            return g.call_host<std::int32_t(std::int32_t)>("show_dialog", id);
        })
        .export_function("spin", [](none::guest& g, std::int32_t ms) {
            const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
            while (std::chrono::steady_clock::now() < end && !g.context().cancelled()) {}
        });
    p.export_bytes("reverse", [](none::guest&, std::span<const std::byte> in) -> result<std::vector<std::byte>> {
        return std::vector<std::byte>(in.rbegin(), in.rend());
    });
    return p;
}

TEST(NoneBackend, MeetsTheBackendConcept) {
    static_assert(backend<none::backend, strict_clock>);
    static_assert(backend<none::backend, standard>);
}

TEST(NoneBackend, TypedCallsRunAndAreChecked) {
    sandbox<none::backend, strict_clock> box{demo()};
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40), 42);
    EXPECT_DOUBLE_EQ(*box.call<double(std::int64_t, double)>("wide", 1ll << 40, 0.5), static_cast<double>(1ll << 39));
    auto wrong = box.call<std::int64_t(std::int32_t, std::int32_t)>("add", 1, 2);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
    EXPECT_NE(wrong.error().message().find("(i32, i32) -> i32"), std::string::npos) << wrong.error().message();
    EXPECT_EQ(box.call<void()>("missing").error().kind(), error_kind::invalid_argument);
}

TEST(NoneBackend, BoundFunctionsSurviveMovingTheSandbox) {
    sandbox<none::backend, strict_clock> box{demo()};
    auto add = box.function<std::int32_t(std::int32_t, std::int32_t)>("add");
    ASSERT_TRUE(add);
    auto moved = std::move(box);
    EXPECT_EQ(*(*add)(20, 22), 42);
    EXPECT_EQ(moved.telemetry().total.calls, 1u);
}

TEST(NoneBackend, HostApiHonoursGrantsAndRecordsViolations) {
    sandbox<none::backend, strict_clock> box{demo()};
    EXPECT_TRUE(box.call<std::uint64_t()>("now"));
    auto denied = box.call<std::int32_t()>("entropy");  // random is in strict's ceiling but not granted
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    EXPECT_EQ(denied.error().info().permission, "random");
    EXPECT_EQ(box.violations().size(), 1u);
    EXPECT_EQ(box.telemetry().total.violations, 1u);
    ASSERT_TRUE(box.grant(perm::random{}));
    EXPECT_EQ(*box.call<std::int32_t()>("entropy"), 0);
    ASSERT_TRUE(box.revoke<perm::clock>());
    EXPECT_EQ(box.call<std::uint64_t()>("now").error().kind(), error_kind::violation);
}

TEST(NoneBackend, RecordOnlyViolationsLetTheCallSucceed) {
    sandbox_options options;
    options.on_violation = violation_action::record;
    sandbox<none::backend, strict_clock> box{demo(), std::move(options)};
    EXPECT_EQ(*box.call<std::int32_t()>("entropy"), -1);
    EXPECT_EQ(box.telemetry().last_call.violations, 1u);
}

TEST(NoneBackend, OptionsGrantAndTightenBeforeStart) {
    sandbox_options options;
    options.grants = {"random"};
    options.limits = limit_set{}.with(limit::kind::output_bytes, 16);
    sandbox<none::backend, strict_clock> box{demo(), std::move(options)};
    ASSERT_TRUE(box.ok());
    EXPECT_TRUE(box.call<std::int32_t()>("entropy"));
    auto flood = box.call<void(std::int32_t)>("shout", 5);
    ASSERT_FALSE(flood);
    EXPECT_EQ(flood.error().kind(), error_kind::output_limit);
    EXPECT_EQ(box.take_stdout().size(), 16u) << "output is cut at the limit";

    sandbox_options outside;
    outside.grants = {"net=example.org:443"};
    sandbox<none::backend, strict_clock> refused{demo(), std::move(outside)};
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(refused.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2).error().kind(),
              error_kind::permission_outside_policy);
    sandbox_options looser;
    looser.limits = limit_set{}.with(limit::kind::memory, 1 * GiB);
    EXPECT_EQ((sandbox<none::backend, strict_clock>::create(demo(), std::move(looser)).error().kind()),
              error_kind::limit_outside_policy);
}

TEST(NoneBackend, OutputBeyondTheLimitIsCutNotBuffered) {
    sandbox<none::backend, strict_clock> box{demo()};  // output_bytes<64>
    auto r = box.call<void(std::int32_t)>("shout", 100000);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::output_limit);
    EXPECT_EQ(box.take_stdout().size(), 64u);
}

TEST(NoneBackend, LogLinesShareTheOutputCapAndAreCutAtIt) {
    sandbox<none::backend, strict_clock> box{demo()};  // output_bytes<64>
    ASSERT_TRUE(box.call<void(std::int32_t)>("murmur", 20));  // 31 + "info: " + 20 + "\n" = 58
    EXPECT_EQ(box.take_logs(), "info: " + std::string(20, 'm') + "\n");
    EXPECT_EQ(box.take_stdout().size(), 31u);
    // Taken output frees its room; a line that does not fit is cut inside its message.
    auto cut = box.call<void(std::int32_t)>("murmur", 50);
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().kind(), error_kind::output_limit);
    EXPECT_EQ(box.take_logs(), "info: " + std::string(64 - 31 - 6, 'm'));
}

TEST(NoneBackend, UserHostFunctionsNeedTheirPermission) {
    int shown = 0;
    auto make = [&](std::vector<std::string> grants) {
        sandbox_options options;
        options.grants = std::move(grants);
        options.functions.push_back(host::function<ui>("show_dialog", [&](std::int32_t id) { shown = id; return id * 2; }));
        return sandbox<none::backend, standard>{demo(), std::move(options)};
    };
    auto without = make({});
    auto denied = without.call<std::int32_t(std::int32_t)>("show", 7);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    EXPECT_EQ(denied.error().info().permission, "ui");
    EXPECT_EQ(shown, 0);
    auto with = make({"ui"});
    EXPECT_EQ(*with.call<std::int32_t(std::int32_t)>("show", 7), 14);
    EXPECT_EQ(shown, 7);
    EXPECT_EQ(with.telemetry().total.host_calls_by_name.at("show_dialog"), 1u);
}

TEST(NoneBackend, ValuesKnownOnlyAtRunTime) {
    sandbox<none::backend, strict_clock> box{demo()};
    const std::vector<value> args{value::of(std::int32_t{40}), value::of(std::int32_t{2})};
    auto r = box.call_values("add", args);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].as<std::int32_t>(), 42);
    const std::vector<value> wrong{value::of(std::int64_t{40}), value::of(std::int32_t{2})};
    auto bad = box.call_values("add", wrong);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind(), error_kind::invalid_argument);
    EXPECT_NE(bad.error().message().find("(i32, i32) -> i32"), std::string::npos);
    EXPECT_FALSE(box.call_values("add", std::span<const value>{}));
}

TEST(NoneBackend, BytesConvention) {
    sandbox<none::backend, strict_clock> box{demo()};
    const std::vector<std::byte> in{std::byte{1}, std::byte{2}, std::byte{3}};
    auto out = box.call_bytes("reverse", in);
    ASSERT_TRUE(out);
    EXPECT_EQ((*out)[0], std::byte{3});
    EXPECT_EQ(box.call_bytes("add", in).error().kind(), error_kind::invalid_argument);
}

TEST(NoneBackend, TimeLimitsAreCheckedAfterTheCall) {
    using tight = policy<isolation::standard, limit::wall_time_ms<20>>;
    sandbox<none::backend, tight> box{demo()};
    auto slow = box.call<void(std::int32_t)>("spin", 60);
    ASSERT_FALSE(slow);
    EXPECT_TRUE(slow.error().kind() == error_kind::timeout || slow.error().kind() == error_kind::cpu_limit);
    EXPECT_TRUE(box.call<void(std::int32_t)>("spin", 0));
}

// cancel() from another thread, while `call` runs; returns what the call returned.
template <class Box, class Call> auto cancelled_during(Box& box, Call&& call) {
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        box.cancel();
    });
    auto r = call();
    canceller.join();
    return r;
}

TEST(NoneBackend, CancelIsVisibleToTheGuestAndEndsTheCallAsTimeout) {
    sandbox<none::backend, standard> box{demo()};
    const auto start = std::chrono::steady_clock::now();
    // The guest polls cancelled(), stops and returns normally: the call still ends as timeout.
    auto r = cancelled_during(box, [&] { return box.call<void(std::int32_t)>("spin", 20000); });
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_NE(r.error().message().find("cancelled"), std::string::npos) << r.error().message();
    EXPECT_EQ(box.telemetry().last_call.errors, 1u);
    EXPECT_TRUE(box.call<void(std::int32_t)>("spin", 0)) << "a cancel ends one call, not the next";
}

TEST(NoneBackend, CancelEndsAGuestThatIgnoresItAsTimeout) {
    none::program p;
    p.export_function("nap", [](std::int32_t ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return ms;
    });
    sandbox<none::backend, standard> box{p};
    auto nap = box.function<std::int32_t(std::int32_t)>("nap");
    ASSERT_TRUE(nap);
    auto r = cancelled_during(box, [&] { return (*nap)(200); });
    ASSERT_FALSE(r) << "the guest returned " << *r << ", but cancel() came while it ran";
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_EQ(*(*nap)(0), 0);
}

TEST(NoneBackend, BoundFunctionsGoThroughTheCallProtocol) {
    sandbox<none::backend, strict_clock> box{demo()};
    auto entropy = box.function<std::int32_t()>("entropy");
    ASSERT_TRUE(entropy);
    auto denied = (*entropy)();  // the guest carries on with an error code; the call ends as the violation
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    EXPECT_EQ(box.telemetry().last_call.violations, 1u);
    EXPECT_EQ(box.telemetry().total.errors, 1u);

    using tight = policy<isolation::standard, limit::wall_time_ms<20>>;
    sandbox<none::backend, tight> timed{demo()};
    auto spin = timed.function<void(std::int32_t)>("spin");
    ASSERT_TRUE(spin);
    auto slow = (*spin)(60);
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().kind(), error_kind::timeout);
    ASSERT_TRUE(slow.error().info().limit);
    EXPECT_EQ(slow.error().info().limit->name, "wall_time");
    EXPECT_EQ(timed.telemetry().total.calls, 1u);
}

TEST(NoneBackend, CountedTelemetryReadsNoClock) {
    sandbox_options options;
    options.detail = telemetry_detail::counted;
    sandbox<none::backend, standard> box{demo(), std::move(options)};
    ASSERT_TRUE(box.call<void(std::int32_t)>("spin", 5));
    EXPECT_EQ(box.telemetry().last_call.wall_ns, 0u);
    EXPECT_EQ(box.telemetry().last_call.cpu_ns, 0u);
    EXPECT_EQ(box.telemetry().total.calls, 1u);
}


TEST(NoneBackend, AfterTheFactWallTimeIsWordedAsOnEveryBackend) {
    // none cannot stop the callable, so the facade finds the limit passed once it returns; the
    // error reads and carries its detail as every backend's wall-time stop does.
    sandbox<none::backend, policy<isolation::strict, limit::wall_time_ms<20>>> box{demo()};
    auto slow = box.call<void(std::int32_t)>("spin", 60);
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().kind(), error_kind::timeout);
    EXPECT_THAT(slow.error().message(), ::testing::StartsWith("wall_time limit of 20 ms exceeded"));
    ASSERT_TRUE(slow.error().info().limit);
    EXPECT_EQ(slow.error().info().limit->name, "wall_time");
    EXPECT_EQ(slow.error().info().limit->limit, 20u);
    ASSERT_TRUE(slow.error().info().limit->observed);
    EXPECT_GE(*slow.error().info().limit->observed, 20u);
}

TEST(NoneBackend, TelemetryAndEnforcementReport) {
    sandbox<none::backend, strict_clock> box{demo()};
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(box.call<std::uint64_t()>("now"));
    const auto t = box.telemetry();
    EXPECT_EQ(t.total.calls, 3u);
    EXPECT_EQ(t.total.host_calls, 3u);
    EXPECT_EQ(t.last_call.calls, 1u);
    EXPECT_EQ(t.total.errors, 0u);
    const auto report = box.enforcement();
    EXPECT_EQ(report.backend, "none");
    ASSERT_NE(report.find(element::isolation), nullptr);
    EXPECT_EQ(report.find(element::isolation)->level, enforcement_level::not_enforced);
    // The preset's memory and open_files limits stay accepted, reported with why nothing enforces them.
    ASSERT_NE(report.find(element::memory), nullptr);
    EXPECT_EQ(report.find(element::memory)->level, enforcement_level::not_enforced);
    EXPECT_NE(report.find(element::memory)->mechanism.find("heap"), std::string::npos);
    ASSERT_NE(report.find(element::open_files), nullptr);
    EXPECT_EQ(report.find(element::open_files)->level, enforcement_level::not_enforced);
    EXPECT_EQ(report.find(element::output_bytes)->level, enforcement_level::enforced);
    EXPECT_EQ(report.find(element::call_depth), nullptr);  // no such limit in force
    // Each entry is the table's row, word for word.
    for (const auto& entry : report.entries)
        EXPECT_EQ(entry.mechanism, find_capability(none::backend::capabilities, entry.element)->mechanism);
}

} // namespace
