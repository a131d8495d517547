// Runs the wasm behaviour suite on the interpreter engine (WABT's interpreter), and tests what is
// the interpreter's own: functions named from its call stack, CPU time without the CPU clock.
#include "behaviour_suite.hpp"

#include <cordon/wasm/interpreter.hpp>

namespace cordon::wasm::testing {

using engines = ::testing::Types<interpreter_engine>;
INSTANTIATE_TYPED_TEST_SUITE_P(Interpreter, WasmBehaviour, engines);

namespace {

using ::testing::HasSubstr;

test_sandbox<interpreter_instance> make(const std::string& name, test_policy config = strict_config(),
                                        std::vector<host_function> functions = {}, interpreter_options options = {}) {
    auto box = make_sandbox<interpreter_instance>(load(name), std::move(config), std::move(functions), options);
    if (!box) ADD_FAILURE() << box.error().message();
    return box ? std::move(*box) : test_sandbox<interpreter_instance>{nullptr, nullptr};
}

TEST(WasmInterpreter, FuelStopNamesTheFunctionThatRan) {
    auto config = strict_config();
    config.limit(limit::kind::fuel, 10'000);
    auto box = make("basic", config);
    ASSERT_TRUE(box);
    auto r = box->call<void()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
    ASSERT_FALSE(r.error().info().backtrace.empty());
    EXPECT_EQ(r.error().info().backtrace.front().function, "spin");
}

TEST(WasmInterpreter, HostErrorNamesTheCallingFunction) {
    std::vector<host_function> functions;
    functions.push_back(host_function::make<std::int64_t(std::int32_t, std::int64_t)>(
        "app", "mix", std::nullopt, [](std::int32_t, std::int64_t) -> result<std::int64_t> {
            return fail(error_kind::violation, "mix refused");
        }));
    functions.push_back(host_function::make<std::int32_t()>("app", "ui_beep", std::nullopt, [] { return 1; }));
    auto box = make("host_user", strict_config(), functions);
    ASSERT_TRUE(box);
    auto r = box->call<std::int64_t(std::int32_t)>("use_mix", 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    ASSERT_FALSE(r.error().info().backtrace.empty());
    EXPECT_EQ(r.error().info().backtrace.front().index, 2u);  // use_mix, after the two imports
}

TEST(WasmInterpreter, TrapInANestedCallNamesTheInnermostFunction) {
    auto box = make("basic");
    ASSERT_TRUE(box);
    auto r = box->call<void()>("nested_crash");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().info().backtrace.front().function, "crash_here");
    // The sandbox runs again after a trap replaced its interpreter thread.
    EXPECT_EQ(*box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 3), 5);
}

TEST(WasmInterpreter, FullBacktracesListEveryGuestFrame) {
    interpreter_options options;
    options.full_backtraces = true;
    auto box = make("basic", strict_config(), {}, options);
    ASSERT_TRUE(box);
    auto r = box->call<void()>("nested_crash");
    ASSERT_FALSE(r);
    const auto& trace = r.error().info().backtrace;
    ASSERT_EQ(trace.size(), 3u);
    EXPECT_EQ(trace[0].function, "crash_here");
    EXPECT_EQ(trace[1].function, "inner_crash");
    EXPECT_EQ(trace[2].function, "nested_crash");
    EXPECT_TRUE(r.error().info().backtrace_complete);
    EXPECT_THAT(fmt::format("{}", r.error()), HasSubstr("(backtrace: crash_here <- inner_crash <- nested_crash)"));
}

TEST(WasmInterpreter, FullBacktracesOfDeepStacksKeepTheInnermostFramesAndTheExport) {
    interpreter_options options;
    options.full_backtraces = true;
    auto box = make("basic", strict_config(), {}, options);
    ASSERT_TRUE(box);
    auto r = box->call<std::int32_t(std::int32_t)>("recurse", 0);
    ASSERT_FALSE(r);
    const auto& trace = r.error().info().backtrace;
    ASSERT_EQ(trace.size(), max_backtrace_frames);
    for (const auto& f : trace) EXPECT_EQ(f.function, "recurse");
    EXPECT_FALSE(r.error().info().backtrace_complete);
}

TEST(WasmInterpreter, WithoutTheCpuClockACallIsChargedItsWallTime) {
    auto config = strict_config();
    config.options.measure_cpu = false;
    auto box = make("basic", config);
    ASSERT_TRUE(box);
    ASSERT_TRUE(box->call<std::int32_t(std::int32_t)>("fib", 18));
    EXPECT_GT(box->last_call().wall.count(), 0);
    EXPECT_EQ(box->last_call().cpu, box->last_call().wall);

    config.options.measure_wall = false;
    config.spec.limits = {};  // no wall limit either
    config.limit(limit::kind::memory, 16u << 20);
    auto quiet = make("basic", config);
    ASSERT_TRUE(quiet);
    ASSERT_TRUE(quiet->call<std::int32_t(std::int32_t)>("fib", 18));
    EXPECT_EQ(quiet->last_call().wall.count(), 0);
    EXPECT_EQ(quiet->last_call().cpu.count(), 0);
}

TEST(WasmInterpreter, RepeatedCallsCountHostCallsPerCall) {
    std::vector<host_function> functions;
    functions.push_back(host_function::make<std::int64_t(std::int32_t, std::int64_t)>(
        "app", "mix", std::nullopt, [](std::int32_t a, std::int64_t b) { return a * b; }));
    functions.push_back(host_function::make<std::int32_t()>("app", "ui_beep", std::nullopt, [] { return 1; }));
    auto box = make("host_user", strict_config(), functions);
    ASSERT_TRUE(box);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(*box->call<std::int64_t(std::int32_t)>("use_mix", 2), 20);
        EXPECT_EQ(box->last_call().host_calls.at("mix"), 1u);
        EXPECT_FALSE(box->last_call().host_calls.contains("ui_beep"));
    }
    EXPECT_EQ(*box->call<std::int32_t()>("use_beep"), 1);
    EXPECT_FALSE(box->last_call().host_calls.contains("mix"));
    EXPECT_EQ(box->total().host_calls.at("mix"), 3u);
    auto wrong = box->call<double(double)>("use_mix", 1.0);  // a signature checked once is not trusted for another
    ASSERT_FALSE(wrong);
    EXPECT_THAT(wrong.error().message(), HasSubstr("called as"));
}

TEST(WasmInterpreter, ALoopAroundASelfCallStillStopsAtItsBudget) {
    // fib's loop body calls fib before anything else, so its header only charges and the
    // callee's entry tests; the budget must hold all the same, and fuel stay deterministic.
    auto config = strict_config();
    config.limit(limit::kind::fuel, 200'000);
    auto box = make("fib", config);
    ASSERT_TRUE(box);
    auto r = box->call<std::int32_t(std::int32_t)>("fib", 30);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->limit, 200'000u);
    EXPECT_GT(*r.error().info().limit->observed, 200'000u);

    ASSERT_EQ(*box->call<std::int32_t(std::int32_t)>("fib", 15), 610);
    const std::uint64_t fuel = box->last_call().fuel;
    auto other = make("fib", config);
    ASSERT_TRUE(other);
    ASSERT_EQ(*other->call<std::int32_t(std::int32_t)>("fib", 15), 610);
    EXPECT_EQ(other->last_call().fuel, fuel);
    config.limit(limit::kind::fuel, fuel);  // exactly enough
    auto exact = make("fib", config);
    ASSERT_TRUE(exact);
    EXPECT_TRUE(exact->call<std::int32_t(std::int32_t)>("fib", 15));
    config.limit(limit::kind::fuel, fuel - 1);
    auto short_by_one = make("fib", config);
    ASSERT_TRUE(short_by_one);
    auto failed = short_by_one->call<std::int32_t(std::int32_t)>("fib", 15);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::fuel_exhausted);
}

} // namespace
} // namespace cordon::wasm::testing
