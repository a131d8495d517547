// Conformance cases: calls (typed, bound, by values, bytes) and signatures (mismatch, missing export).
// Included by suite.hpp, which registers them; one expectation for every backend.
#pragma once

#include "fixture.hpp"

namespace cordon::conformance {

// ---- calls ------------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, TypedCallsReturnValues) {
    if constexpr (!TypeParam::typed_calls.supported) {
        CORDON_CONFORMANCE_SKIP(typed_calls);
    } else {
        auto box = this->template make<strict>();
        EXPECT_EQ(box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40).value(), 42);
        EXPECT_EQ(
            box.template call<std::int64_t(std::int64_t, std::int64_t)>("add64", std::int64_t{1} << 40, 2).value(),
            (std::int64_t{1} << 40) + 2);
        EXPECT_DOUBLE_EQ(box.template call<double(double, float)>("scale", 1.5, 2.0F).value(), 3.0);
        EXPECT_EQ(box.template call<std::int32_t(std::int32_t)>("fib", 20).value(), 6765);
        EXPECT_TRUE(box.template call<void()>("nothing"));
        EXPECT_EQ(box.telemetry().total.calls, 5U);
        EXPECT_EQ(box.telemetry().total.errors, 0U);
    }
}

TYPED_TEST_P(Conformance, BoundFunctionIsReusable) {
    if constexpr (!TypeParam::typed_calls.supported) {
        CORDON_CONFORMANCE_SKIP(typed_calls);
    } else {
        auto box = this->template make<strict>();
        auto fib = box.template function<std::int32_t(std::int32_t)>("fib");
        ASSERT_TRUE(fib) << fib.error().message();
        const std::int32_t expected[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34};
        for (std::int32_t n = 0; n < 10; ++n)
            EXPECT_EQ((*fib)(n).value(), expected[n]);
        EXPECT_EQ(box.telemetry().total.calls, 10U);
        auto wrong = box.template function<std::int64_t(std::int32_t)>("fib");
        ASSERT_FALSE(wrong);
        EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
    }
}

TYPED_TEST_P(Conformance, CallValuesAreChecked) {
    if constexpr (!TypeParam::call_values.supported) {
        CORDON_CONFORMANCE_SKIP(call_values);
    } else {
        auto box = this->template make<strict>();
        const value args[] = {value::of(std::int32_t{5}), value::of(std::int32_t{6})};
        auto r = box.call_values("add", args);
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_EQ(r->size(), 1U);
        EXPECT_EQ((*r)[0].template as<std::int32_t>(), 11);
        const value wrong[] = {value::of(std::int64_t{5}), value::of(std::int32_t{6})};
        auto bad = box.call_values("add", wrong);
        ASSERT_FALSE(bad);
        EXPECT_EQ(bad.error().kind(), error_kind::invalid_argument);
        auto missing = box.call_values("no_such_export", args);
        ASSERT_FALSE(missing);
        EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
        EXPECT_THAT(missing.error().message(), HasSubstr("no_such_export"));
    }
}

TYPED_TEST_P(Conformance, BytesInBytesOut) {
    auto box = this->template make<strict>();
    auto out = box.call_bytes("reverse", bytes_of("stressed"));
    EXPECT_EQ(text_of(out), "desserts");
    auto empty = box.call_bytes("reverse", {});
    ASSERT_TRUE(empty) << empty.error().message();
    EXPECT_TRUE(empty->empty());
}

// ---- signatures -------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, SignatureMismatchIsInvalidArgument) {
    if constexpr (!TypeParam::typed_calls.supported) {
        CORDON_CONFORMANCE_SKIP(typed_calls);
    } else {
        auto box = this->template make<strict>();
        auto wrong = box.template call<double(double)>("fib", 1.0);
        ASSERT_FALSE(wrong);
        EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
        // One wording on every backend, with the export named in the error's details.
        EXPECT_EQ(wrong.error().message(), "export fib has signature (i32) -> i32, called as (f64) -> f64");
        EXPECT_EQ(wrong.error().info().function, "fib");
        EXPECT_EQ(box.telemetry().total.calls, 0U) << "a refused call never reaches the guest";
        EXPECT_EQ(box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1).value(), 2);
    }
}

TYPED_TEST_P(Conformance, MissingExportIsInvalidArgument) {
    auto box = this->template make<strict>();
    if constexpr (TypeParam::typed_calls.supported) {
        auto missing = box.template call<void()>("no_such_export");
        ASSERT_FALSE(missing);
        EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
        EXPECT_EQ(missing.error().message(), "no exported function named no_such_export");
        EXPECT_EQ(missing.error().info().function, "no_such_export");
    }
    auto missing_bytes = box.call_bytes("no_such_export", bytes_of("x"));
    ASSERT_FALSE(missing_bytes);
    EXPECT_EQ(missing_bytes.error().kind(), error_kind::invalid_argument) << missing_bytes.error().message();
    EXPECT_THAT(missing_bytes.error().message(), HasSubstr("no_such_export"));
    EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
}

} // namespace cordon::conformance
