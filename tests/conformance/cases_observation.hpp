// Conformance cases: cancel from another thread, telemetry counts and the enforcement report.
// Included by suite.hpp, which registers them; one expectation for every backend.
#pragma once

#include "fixture.hpp"

namespace cordon::conformance {

// ---- cancel, telemetry, enforcement -----------------------------------------------------------

TYPED_TEST_P(Conformance, CancelFromAnotherThreadIsTimeout) {
    if constexpr (!TypeParam::cancel.supported) {
        CORDON_CONFORMANCE_SKIP(cancel);
    } else {
        auto box =
            this->template make<policy<isolation::strict, limit::cpu_time_ms<20'000>, limit::wall_time_ms<20'000>>>();
        std::thread canceller([&] {
            std::this_thread::sleep_for(100ms);
            box.cancel();
        });
        const auto start = std::chrono::steady_clock::now();
        auto r = box.call_bytes("spin", {});
        canceller.join();
        ASSERT_FALSE(r) << "a cancelled call answered " << text_of(r);
        EXPECT_EQ(r.error().kind(), error_kind::timeout) << r.error().message();
        EXPECT_THAT(r.error().message(), HasSubstr("cancel"));
        EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
        EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba")
            << "a cancel ends one call, not the sandbox";
    }
}

TYPED_TEST_P(Conformance, TelemetryCountsCallsHostCallsViolationsAndErrors) {
    auto box = this->template make<strict>();
    ASSERT_TRUE(box.call_bytes("reverse", bytes_of("one")));
    ASSERT_TRUE(box.call_bytes("reverse", bytes_of("two")));
    auto t = box.telemetry();
    EXPECT_EQ(t.total.calls, 2U);
    EXPECT_EQ(t.last_call.calls, 1U);
    EXPECT_EQ(t.total.errors, 0U);
    EXPECT_EQ(t.total.violations, 0U);
    ASSERT_FALSE(box.call_bytes("violate", {}));
    t = box.telemetry();
    EXPECT_EQ(t.total.calls, 3U);
    EXPECT_EQ(t.last_call.violations, 1U);
    EXPECT_EQ(t.last_call.errors, 1U);
    EXPECT_EQ(t.total.errors, 1U);
    EXPECT_EQ(t.total.violations, 1U);
    ASSERT_FALSE(box.call_bytes("no_such_export", {}));
    if constexpr (TypeParam::host_api.supported) {
        auto clocked = this->template make<policy<isolation::strict, allow<perm::clock>>>();
        ASSERT_EQ(text_of(clocked.call_bytes("probe_clock", {})), "ok");
        const auto c = clocked.telemetry();
        EXPECT_GE(c.last_call.host_calls, 1U) << "the clock read and the log are host calls";
        EXPECT_FALSE(c.last_call.host_calls_by_name.empty());
        EXPECT_EQ(c.total.host_calls, c.last_call.host_calls);
        EXPECT_EQ(c.last_call.violations, 0U);
    }
}

TYPED_TEST_P(Conformance, EnforcementReportNamesTheElements) {
    auto box = this->template make<policy<isolation::strict, limit::wall_time_ms<5'000>, limit::output_bytes<4096>>>();
    const auto report = box.enforcement();
    EXPECT_EQ(report.backend, TypeParam::backend::name);
    ASSERT_FALSE(report.entries.empty());
    for (const auto& entry : report.entries) {
        EXPECT_FALSE(to_string(entry.element).empty());
        EXPECT_FALSE(entry.mechanism.empty()) << to_string(entry.element);
    }
    // Every limit the policy sets is reported, with its mechanism and whether it holds.
    for (const auto e : {element::wall_time, element::output_bytes})
        EXPECT_NE(report.find(e), nullptr) << to_string(e);
}

} // namespace cordon::conformance
