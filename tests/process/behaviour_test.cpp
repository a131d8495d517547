// The behaviour shared with the wasm backends (tests/common/behaviour_expectations.hpp), run
// through the facade on the process backend and, where it is built, on the wasm interpreter
// with the wasm suite's guests, so both are held to the very same expectations.
#include "../common/behaviour_expectations.hpp"

#include <cordon/process/backend.hpp>
#include <cordon/sandbox.hpp>
#ifdef CORDON_TEST_WASM_MODULES
#include <cordon/wasm.hpp>
#endif

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace {
using namespace cordon;
namespace expect = cordon::behaviour;

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
std::int32_t fib(std::int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void nothing() {}
void spin() {
    volatile std::int64_t n = 0;
    for (;;) n = n + 1;
}
std::vector<std::byte> reverse(std::span<const std::byte> in) { return {in.rbegin(), in.rend()}; }

process::function_table guest() {
    return process::function_table{}
        .add<&add>("add")
        .add<&fib>("fib")
        .add<&nothing>("nothing")
        .add<&spin>("spin")
        .add_bytes<&reverse>("reverse");
}

using strict = policy<isolation::strict>;
using walled = policy<isolation::strict, limit::wall_time_ms<200>>;
using cpu_capped = policy<isolation::strict, limit::cpu_time_ms<100>, limit::wall_time_ms<5000>>;
using output_capped = policy<isolation::strict, limit::output_bytes<100'000>>;
using cancellable = policy<isolation::strict, limit::cpu_time_ms<20'000>, limit::wall_time_ms<20'000>>;

template <class Policy> using process_box = sandbox<process::backend, Policy>;

template <class Box> void cancel_a_spin(Box& box) {
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        box.cancel();
    });
    auto r = box.template call<void()>("spin");
    canceller.join();
    expect::cancelled_call_is_a_timeout(r);
}

} // namespace

TEST(ProcessBehaviour, TypedCallsReturnValues) {
    process_box<strict> box{guest()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    expect::typed_calls_return_values(box);
}

TEST(ProcessBehaviour, SignatureMismatchIsAnErrorValue) {
    process_box<strict> box{guest()};
    ASSERT_TRUE(box.ok());
    expect::signature_mismatch_is_an_error_value(box);
}

TEST(ProcessBehaviour, BytesInBytesOut) {
    process_box<strict> box{guest()};
    ASSERT_TRUE(box.ok());
    expect::bytes_in_bytes_out(box);
}

TEST(ProcessBehaviour, ADeniedHostCallIsAViolation) {
    process_box<strict> box{process::native_plugin{CORDON_TEST_GUEST_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    expect::denied_host_call_is_a_violation(box, box.call_bytes("clock_ok", {}), "clock");
}

TEST(ProcessBehaviour, LogsAreCappedAtTheOutputLimit) {
    process_box<output_capped> box{process::native_plugin{CORDON_TEST_FLOOD_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    expect::output_is_capped(box, box.call_bytes("flood", {}), 100'000);
    EXPECT_EQ(box.telemetry().restarts, 0U) << "stopping a flood is not a crash";
}

TEST(ProcessBehaviour, OutputIsCappedAtTheOutputLimit) {
    process_box<output_capped> box{process::native_plugin{CORDON_TEST_FLOOD_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    expect::output_is_capped(box, box.call_bytes("output_flood", {}), 100'000);
}

TEST(ProcessBehaviour, WallTimeStopsAnEndlessCall) {
    process_box<walled> box{guest()};
    ASSERT_TRUE(box.ok());
    expect::spin_hits_the_limit(box, error_kind::timeout);
}

TEST(ProcessBehaviour, ErrorsAreWordedAsOnEveryBackend) {
    process_box<walled> box{guest()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    expect::errors_are_worded_alike(box, 200, [](auto& b) { return b.template call<void()>("spin").error(); });
}

TEST(ProcessBehaviour, CpuTimeStopsAnEndlessCall) {
    process_box<cpu_capped> box{guest()};
    ASSERT_TRUE(box.ok());
    expect::spin_hits_the_limit(box, error_kind::cpu_limit);
}

TEST(ProcessBehaviour, CancelEndsTheCallAsTimeout) {
    process_box<cancellable> box{guest()};
    ASSERT_TRUE(box.ok());
    cancel_a_spin(box);
}

#ifdef CORDON_TEST_WASM_MODULES
namespace {
template <class Policy> using wasm_box = sandbox<wasm::interpreter, Policy>;
wasm::module load(const std::string& name) {
    auto m = wasm::module::from_file(std::string(CORDON_TEST_WASM_MODULES) + "/" + name + ".wasm");
    EXPECT_TRUE(m) << name << ": " << m.error().message();
    return *m;
}
} // namespace

// The same expectations on the wasm interpreter, with the wasm suite's own guests: if one of
// these fails, the expectations (not the process backend) moved away from the wasm backend.
TEST(WasmBehaviourSharedWithProcess, TheSameExpectationsHold) {
    {
        wasm_box<strict> box{load("basic")};
        ASSERT_TRUE(box.ok()) << box.status().error().message();
        expect::typed_calls_return_values(box);
        expect::signature_mismatch_is_an_error_value(box);
    }
    {
        wasm_box<strict> box{load("bytes_echo")};
        ASSERT_TRUE(box.ok());
        expect::bytes_in_bytes_out(box);
    }
    {
        wasm_box<strict> box{load("host_api")};
        ASSERT_TRUE(box.ok());
        expect::denied_host_call_is_a_violation(box, box.call_bytes("clock_ok", {}), "clock");
    }
    {
        wasm_box<output_capped> box{load("log_flood")};
        ASSERT_TRUE(box.ok());
        expect::output_is_capped(box, box.template call<void()>("flood"), 100'000);
    }
    {
        wasm_box<walled> box{load("basic")};
        expect::spin_hits_the_limit(box, error_kind::timeout);
    }
    {
        wasm_box<cpu_capped> box{load("basic")};
        expect::spin_hits_the_limit(box, error_kind::cpu_limit);
    }
    {
        wasm_box<cancellable> box{load("basic")};
        cancel_a_spin(box);
    }
}
#endif
