// Outcomes every backend must give where their meanings overlap (calls, bytes, signature
// mismatches, denied host calls, output caps, time limits), asserted through the sandbox facade.
#pragma once

// Each check takes a sandbox<Backend, Policy> (or the result of a call on one) whose payload
// provides the named exports; how a backend provides them (a wasm module, a function table, a
// native plugin) is the caller's business. The expectations are written once, here, so that a
// backend cannot drift from the others unnoticed.
//
//   typed guest:  add(i32, i32) -> i32, fib(i32) -> i32, nothing() -> (), spin() -> () (never returns)
//   bytes guest:  reverse (bytes in, the same bytes reversed out)

#include <cordon/result.hpp>
#include <cordon/sandbox.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::behaviour {

inline std::vector<std::byte> bytes_of(std::string_view text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}

template <class Box> void typed_calls_return_values(Box& box) {
    const auto calls_before = box.telemetry().total.calls;
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40), 42);
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t)>("fib", 20), 6765);
    EXPECT_TRUE(box.template call<void()>("nothing"));
    EXPECT_EQ(box.telemetry().total.calls, calls_before + 3);
    EXPECT_EQ(box.telemetry().last_call.calls, 1U);
    EXPECT_EQ(box.telemetry().last_call.errors, 0U);
}

template <class Box> void signature_mismatch_is_an_error_value(Box& box) {
    auto wrong = box.template call<double(double)>("fib", 1.0);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(wrong.error().message(), ::testing::HasSubstr("(i32) -> i32"));
    EXPECT_THAT(wrong.error().message(), ::testing::HasSubstr("called as (f64) -> f64"));
    auto missing = box.template call<void()>("no_such_export");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(missing.error().message(), ::testing::HasSubstr("no exported function named no_such_export"));
    // The sandbox is still usable afterwards.
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1), 2);
}

/// The same words on every backend for a missing export, a signature mismatch and a wall-time
/// limit, with the export's name and the limit's detail attached. `run_too_long` makes a call
/// on `box` that outlasts its policy's wall_time limit of `wall_ms`.
template <class Box, class Call> void errors_are_worded_alike(Box& box, std::uint64_t wall_ms, Call run_too_long) {
    auto missing = box.template call<std::int32_t(std::int32_t, std::int32_t)>("no_such_export", 1, 2);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(missing.error().message(), "no exported function named no_such_export");
    EXPECT_EQ(missing.error().info().function, "no_such_export");
    auto wrong = box.template call<double(double)>("add", 1.0);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(wrong.error().message(), "export add has signature (i32, i32) -> i32, called as (f64) -> f64");
    EXPECT_EQ(wrong.error().info().function, "add");
    const error slow = run_too_long(box);
    EXPECT_EQ(slow.kind(), error_kind::timeout) << slow.message();
    EXPECT_THAT(slow.message(), ::testing::StartsWith("wall_time limit of " + std::to_string(wall_ms) + " ms exceeded"));
    ASSERT_TRUE(slow.info().limit) << slow.message();
    EXPECT_EQ(slow.info().limit->name, "wall_time");
    EXPECT_EQ(slow.info().limit->limit, wall_ms);
    ASSERT_TRUE(slow.info().limit->observed) << slow.message();
    EXPECT_GE(*slow.info().limit->observed, wall_ms);
    // The sandbox is still usable afterwards.
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1), 2);
}

template <class Box> void bytes_in_bytes_out(Box& box) {
    auto out = box.call_bytes("reverse", bytes_of("stressed"));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out->data()), out->size()), "desserts");
    auto empty = box.call_bytes("reverse", {});
    ASSERT_TRUE(empty) << empty.error().message();
    EXPECT_TRUE(empty->empty());
    auto missing = box.call_bytes("no_such_export", bytes_of("x"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(missing.error().message(), ::testing::HasSubstr("no exported function named no_such_export"));
}

/// A call that used a permission in the ceiling but not granted: the guest was refused, and
/// the call ends as a violation naming the permission, recorded once.
template <class Box, class R>
void denied_host_call_is_a_violation(Box& box, const result<R>& r, std::string_view permission) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    EXPECT_EQ(r.error().info().permission, std::string(permission));
    ASSERT_EQ(box.violations().size(), 1U);
    EXPECT_EQ(box.violations().front().info().permission, std::string(permission));
    EXPECT_EQ(box.telemetry().last_call.violations, 1U);
}

/// A guest that writes without end is stopped at the output cap, and the host holds no more
/// than the cap.
template <class Box, class R> void output_is_capped(Box& box, const result<R>& r, std::uint64_t cap) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::output_limit);
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->name, "output_bytes");
    EXPECT_EQ(r.error().info().limit->limit, cap);
    EXPECT_LE(box.take_logs().size() + box.take_stdout().size() + box.take_stderr().size(), cap);
}

/// An endless call under a wall limit ends as timeout, under a CPU limit as cpu_limit; either
/// way the message names the limit it hit, and the sandbox serves the next call.
template <class Box> void spin_hits_the_limit(Box& box, error_kind expected) {
    auto r = box.template call<void()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), expected);
    const std::string limit = expected == error_kind::timeout ? "wall_time" : "cpu_time";
    EXPECT_THAT(r.error().message(), ::testing::HasSubstr(limit));
    // The wasm interpreter does not attach the limit's details to every time limit yet.
    if (r.error().info().limit) {
        EXPECT_EQ(r.error().info().limit->name, limit);
    }
    EXPECT_EQ(box.telemetry().last_call.errors, 1U);
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 2), 4);
}

/// cancel() from another thread ends the running call as timeout, saying it was cancelled.
template <class R> void cancelled_call_is_a_timeout(const result<R>& r) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_THAT(r.error().message(), ::testing::HasSubstr("cancelled"));
}

} // namespace cordon::behaviour
