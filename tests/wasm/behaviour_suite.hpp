// The behaviour suite every wasm engine must pass, written once and instantiated per engine
// (test_<engine>.cpp): calls, traps, limits, permissions, WASI, telemetry, attacks.
#pragma once

#include "test_support.hpp"

#include <cordon/format.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>

#include <gmock/gmock.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <utility>
#include <limits>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>

namespace cordon::wasm::testing {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

template <class Engine> class WasmBehaviour : public ::testing::Test {
protected:
    using instance = typename Engine::instance;

    static std::unique_ptr<instance> make(const std::string& name, sandbox_config config = strict_config(),
                                          std::vector<host_function> functions = {}) {
        auto created = instance::create(load(name), std::move(config), std::move(functions));
        if (!created) ADD_FAILURE() << "cannot create sandbox for " << name << ": " << created.error().message();
        return created ? std::move(*created) : nullptr;
    }
    static error make_error(const std::string& name, sandbox_config config = strict_config(),
                            std::vector<host_function> functions = {}) {
        auto created = instance::create(load(name), std::move(config), std::move(functions));
        if (created) {
            ADD_FAILURE() << "sandbox for " << name << " was created but should not have been";
            return fail(error_kind::internal, "created");
        }
        return created.error();
    }
};

TYPED_TEST_SUITE_P(WasmBehaviour);

// ---- calls -----------------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, TypedCallsReturnValues) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40), 42);
    EXPECT_EQ(*box->template call<std::int64_t(std::int64_t, std::int64_t)>("add64", std::int64_t{1} << 40, 2), (std::int64_t{1} << 40) + 2);
    EXPECT_DOUBLE_EQ(*box->template call<double(double, float)>("scale", 1.5, 2.0f), 3.0);
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t)>("fib", 20), 6765);
    EXPECT_TRUE(box->template call<void()>("nothing"));
}

TYPED_TEST_P(WasmBehaviour, DynamicCallsAreCheckedToo) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    const value args[] = {value::of_i32(5), value::of_i32(6)};
    auto r = box->call("add", args);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)[0].i32, 11);
    const value wrong[] = {value::of_i64(5), value::of_i32(6)};
    auto bad = box->call("add", wrong);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind(), error_kind::invalid_argument);
}

TYPED_TEST_P(WasmBehaviour, WrongSignatureIsAnErrorValue) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    auto r = box->template call<std::int64_t(std::int32_t)>("fib", 3);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(r.error().message(), HasSubstr("(i32) -> i32"));
    auto missing = box->template call<void()>("no_such_export");
    ASSERT_FALSE(missing);
    EXPECT_THAT(missing.error().message(), HasSubstr("no exported function named no_such_export"));
    auto not_a_function = box->template call<void()>("memory");
    EXPECT_FALSE(not_a_function);
}

TYPED_TEST_P(WasmBehaviour, BytesInBytesOut) {
    auto box = this->make("bytes_echo");
    ASSERT_TRUE(box);
    auto out = box->call_bytes("reverse", bytes_of("stressed"));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(std::string(out->begin(), out->end()), "desserts");
}

TYPED_TEST_P(WasmBehaviour, HostChecksGuestPointers) {
    auto box = this->make("bytes_echo");
    ASSERT_TRUE(box);
    auto out = box->call_bytes("bad_pointer", {});
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().kind(), error_kind::trap);
    EXPECT_THAT(out.error().message(), HasSubstr("out of bounds"));
}

TYPED_TEST_P(WasmBehaviour, PointerArithmeticCannotWrap) {
    auto box = this->make("bytes_echo");
    ASSERT_TRUE(box);
    auto out = box->call_bytes("wrapping_pointer", {});
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().kind(), error_kind::trap);
}

TYPED_TEST_P(WasmBehaviour, HostFunctionCannotReenterItsSandbox) {
    typename TestFixture::instance* self = nullptr;
    std::optional<error> reentry;
    std::vector<host_function> functions;
    functions.push_back(host_function::make<std::int64_t(std::int32_t, std::int64_t)>(
        "app", "mix", std::nullopt, [&](std::int32_t, std::int64_t) -> std::int64_t {
            auto inner = self->template call<std::int32_t()>("use_beep");
            if (!inner) reentry = inner.error();
            return 0;
        }));
    functions.push_back(host_function::make<std::int32_t()>("app", "ui_beep", std::nullopt, [] { return 1; }));
    auto box = this->make("host_user", strict_config(), functions);
    ASSERT_TRUE(box);
    self = box.get();
    EXPECT_TRUE(box->template call<std::int64_t(std::int32_t)>("use_mix", 1));
    ASSERT_TRUE(reentry);
    EXPECT_EQ(reentry->kind(), error_kind::invalid_argument);
    EXPECT_EQ(*box->template call<std::int32_t()>("use_beep"), 1);  // still usable afterwards
}

// ---- traps -----------------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, TrapsBecomeErrorsWithReasons) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    auto expect_trap = [](const auto& r, std::string_view reason) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind(), error_kind::trap);
        EXPECT_THAT(r.error().message(), HasSubstr(std::string(reason)));
    };
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("divide", 1, 0), "integer divide by zero");
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("divide", INT32_MIN, -1), "integer overflow");
    expect_trap(box->template call<void()>("crash"), "unreachable");
    expect_trap(box->template call<std::int32_t(std::int32_t)>("load", 4 * 65536), "out of bounds memory access");
    expect_trap(box->template call<std::int32_t(std::int32_t)>("load", -1), "out of bounds memory access");
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("call_slot", 1, 5), "indirect call");
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("call_slot", 7, 5), "indirect call");
    expect_trap(box->template call<std::int64_t(std::int32_t)>("call_slot_wrong", 0), "indirect call signature mismatch");
    expect_trap(box->template call<std::int32_t(double)>("trunc", 1e300), "integer overflow");
    expect_trap(box->template call<std::int32_t(double)>("trunc", std::numeric_limits<double>::quiet_NaN()),
                "invalid conversion");
    // The sandbox stays usable after each trap.
    auto after = box->template call<std::int32_t(std::int32_t, std::int32_t)>("call_slot", 0, 41);
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(*after, 42);
}

TYPED_TEST_P(WasmBehaviour, TrapsCarryABacktraceWithNames) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    auto r = box->template call<void()>("nested_crash");
    ASSERT_FALSE(r);
    const auto& trace = r.error().info().backtrace;
    ASSERT_GE(trace.size(), 2u);
    EXPECT_EQ(trace.front().function, "crash_here");
    EXPECT_EQ(trace.back().function, "nested_crash");
    EXPECT_FALSE(r.error().info().backtrace_complete) << "the frames between are not known to the interpreter";
    EXPECT_THAT(fmt::format("{}", r.error()), HasSubstr("(backtrace: crash_here <- ... <- nested_crash)"));
}

TYPED_TEST_P(WasmBehaviour, UnboundedRecursionIsStopped) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    auto r = box->template call<std::int32_t(std::int32_t)>("recurse", 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::trap);
    EXPECT_THAT(r.error().message(), ::testing::AnyOf(HasSubstr("call_depth"), HasSubstr("stack exhausted")));
}

TYPED_TEST_P(WasmBehaviour, CallDepthLimitHolds) {
    auto config = strict_config();
    config.call_depth = 50;
    auto box = this->make("basic", config);
    ASSERT_TRUE(box);
    EXPECT_TRUE(box->template call<std::int32_t(std::int32_t)>("fib", 20));  // depth 20 is fine
    auto r = box->template call<std::int32_t(std::int32_t)>("recurse", 0);
    ASSERT_FALSE(r);
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->name, "call_depth");
    EXPECT_EQ(r.error().info().limit->limit, 50u);
}

// ---- fuel, time, cancel ----------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, FuelIsExactAndDeterministic) {
    auto a = this->make("basic");
    auto b = this->make("basic");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->template call<std::int32_t(std::int32_t)>("fib", 15));
    ASSERT_TRUE(b->template call<std::int32_t(std::int32_t)>("fib", 15));
    const std::uint64_t used = a->last_call().fuel;
    EXPECT_GT(used, 1000u);
    EXPECT_EQ(used, b->last_call().fuel);
    // A budget of exactly what it needs is enough; one less is not.
    auto exact = strict_config();
    exact.fuel = used;
    auto c = this->make("basic", exact);
    EXPECT_TRUE(c->template call<std::int32_t(std::int32_t)>("fib", 15));
    exact.fuel = used - 1;
    auto d = this->make("basic", exact);
    auto r = d->template call<std::int32_t(std::int32_t)>("fib", 15);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
}

TYPED_TEST_P(WasmBehaviour, FuelStopsEndlessLoops) {
    auto config = strict_config();
    config.fuel = 1'000'000;
    auto box = this->make("basic", config);
    ASSERT_TRUE(box);
    auto r = box->template call<void()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
    EXPECT_THAT(r.error().message(), HasSubstr("spin"));
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t)>("count", 100), 100);  // budget renews per call
}

TYPED_TEST_P(WasmBehaviour, WallTimeStopsEndlessLoops) {
    auto config = strict_config();
    config.wall_time = 100ms;
    auto box = this->make("endless_loop", config);
    ASSERT_TRUE(box);
    const auto start = std::chrono::steady_clock::now();
    auto r = box->template call<std::int32_t()>("spin");
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_LT(took, 2s);
}

TYPED_TEST_P(WasmBehaviour, CpuTimeStopsEndlessLoops) {
    auto config = strict_config();
    config.cpu_time = 50ms;
    auto box = this->make("endless_loop", config);
    ASSERT_TRUE(box);
    auto r = box->template call<std::int32_t()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::cpu_limit);
    EXPECT_GE(box->last_call().cpu, 50ms);
}

TYPED_TEST_P(WasmBehaviour, CancelFromAnotherThread) {
    auto config = strict_config();
    config.wall_time.reset();
    auto box = this->make("endless_loop", config);
    ASSERT_TRUE(box);
    std::thread canceller([&] {
        std::this_thread::sleep_for(50ms);
        box->cancel();
    });
    auto r = box->template call<std::int32_t()>("spin");
    canceller.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_THAT(r.error().message(), HasSubstr("cancelled"));
}

TYPED_TEST_P(WasmBehaviour, StartFunctionIsMetered) {
    auto config = strict_config();
    config.fuel = 100'000;
    auto e = this->make_error("start_spin", config);
    EXPECT_EQ(e.kind(), error_kind::fuel_exhausted);
}

// ---- memory and tables -----------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, MemoryMaximumIsClampedEvenWithoutOne) {
    auto config = strict_config();
    config.memory_bytes = 4 * 65536;
    auto box = this->make("memory_nomax", config);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t)>("grow", 3), 1);
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t)>("grow", 1), -1);  // refused, not trapped
    EXPECT_EQ(*box->template call<std::int32_t(std::int32_t)>("grow", 60000), -1);
    EXPECT_EQ(*box->template call<std::int32_t()>("size"), 4);
    EXPECT_EQ(box->total().peak_memory_bytes, 4u * 65536);
}

TYPED_TEST_P(WasmBehaviour, MemoryBombHitsTheLimit) {
    auto config = strict_config();
    config.memory_bytes = 8u << 20;
    config.args = {"memory_bomb"};
    auto box = this->make("memory_bomb", config);
    ASSERT_TRUE(box);
    auto r = box->run_start();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::memory_limit);
    EXPECT_LE(box->total().peak_memory_bytes, 8u << 20);
}

TYPED_TEST_P(WasmBehaviour, HugeInitialMemoryOrTableIsRefused) {
    EXPECT_EQ(this->make_error("memory_huge_initial").kind(), error_kind::memory_limit);
    EXPECT_EQ(this->make_error("table_huge").kind(), error_kind::memory_limit);
}

TYPED_TEST_P(WasmBehaviour, OutOfBoundsWriteTrapsAndHostSurvives) {
    auto box = this->make("oob_write");
    ASSERT_TRUE(box);
    auto r = box->template call<void()>("smash");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::trap);
    EXPECT_THAT(r.error().message(), HasSubstr("out of bounds memory access"));
    EXPECT_THAT(r.error().message(), HasSubstr("smash"));
}

// ---- linking by permission -------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, ImportOutsideCeilingIsDenied) {
    auto e = this->make_error("import_clock");
    EXPECT_EQ(e.kind(), error_kind::denied);
    EXPECT_EQ(e.info().permission, "clock");
    EXPECT_THAT(e.message(), HasSubstr("cordon.clock_now"));
    EXPECT_EQ(this->make_error("forbidden_import").kind(), error_kind::denied);
}

TYPED_TEST_P(WasmBehaviour, UnknownOrMistypedImportIsLoadError) {
    auto unknown = this->make_error("import_unknown");
    EXPECT_EQ(unknown.kind(), error_kind::load_error);
    EXPECT_THAT(unknown.message(), HasSubstr("cordon.launch_missiles"));
    auto mistyped = this->make_error("import_wrong_type", allowing({"clock"}));
    EXPECT_EQ(mistyped.kind(), error_kind::load_error);
    EXPECT_THAT(mistyped.message(), HasSubstr("has type"));
    EXPECT_EQ(this->make_error("import_meter").kind(), error_kind::load_error);
    EXPECT_EQ(this->make_error("import_memory").kind(), error_kind::load_error);
}

TYPED_TEST_P(WasmBehaviour, NotGrantedAtRunTimeIsAViolation) {
    auto config = strict_config();
    config.ceiling = {"clock"};  // may be granted, but is not
    auto box = this->make("import_clock", config);
    ASSERT_TRUE(box);
    auto r = box->template call<std::int64_t()>("now");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, -1);
    ASSERT_EQ(box->last_call().violations.size(), 1u);
    EXPECT_EQ(box->last_call().violations[0].info().permission, "clock");
    EXPECT_THAT(box->last_call().violations[0].message(), HasSubstr("clock"));
    box->state().config.granted.insert("clock");
    EXPECT_GT(*box->template call<std::int64_t()>("now"), 0);
    EXPECT_TRUE(box->last_call().violations.empty());
    EXPECT_EQ(box->total().host_calls.at("clock_now"), 2u);
}

TYPED_TEST_P(WasmBehaviour, UserHostFunctionsWithCppSignatures) {
    std::vector<host_function> functions;
    functions.push_back(host_function::make<std::int64_t(std::int32_t, std::int64_t)>(
        "app", "mix", std::nullopt, [](std::int32_t a, std::int64_t b) { return std::int64_t{a} * 100 + b; }));
    functions.push_back(host_function::make<std::int32_t()>("app", "ui_beep", "ui", [] { return 7; }));
    auto denied = this->make_error("host_user", strict_config(), functions);
    EXPECT_EQ(denied.kind(), error_kind::denied);
    EXPECT_EQ(denied.info().permission, "ui");
    auto config = strict_config();
    config.ceiling = {"ui"};
    auto box = this->make("host_user", config, functions);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->template call<std::int64_t(std::int32_t)>("use_mix", 3), 310);
    EXPECT_EQ(*box->template call<std::int32_t()>("use_beep"), -1);  // in the ceiling, not granted
    EXPECT_EQ(box->last_call().violations.size(), 1u);
    box->state().config.granted.insert("ui");
    EXPECT_EQ(*box->template call<std::int32_t()>("use_beep"), 7);
}

TYPED_TEST_P(WasmBehaviour, HostFunctionErrorsStopTheGuestWithTheirKind) {
    std::vector<host_function> functions;
    functions.push_back(host_function::make<std::int64_t(std::int32_t, std::int64_t)>(
        "app", "mix", std::nullopt, [](std::int32_t, std::int64_t) -> result<std::int64_t> {
            return fail(error_kind::violation, "mix refused");
        }));
    functions.push_back(host_function::make<std::int32_t()>("app", "ui_beep", std::nullopt, [] { return 0; }));
    auto box = this->make("host_user", strict_config(), functions);
    ASSERT_TRUE(box);
    auto r = box->template call<std::int64_t(std::int32_t)>("use_mix", 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    EXPECT_THAT(r.error().message(), HasSubstr("mix refused"));
}

// ---- host API from C -------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, HostApiFromC) {
    scratch_tree tree;
    auto config = allowing({"clock", "random", "fs.read"});
    config.ceiling.insert("fs.write");  // imported by the plugin, never granted here
    config.preopens.push_back({tree.allowed(), "/data", false});
    config.config["greeting"] = "hi there";
    auto box = this->make("host_api", config);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->template call<std::int32_t()>("clock_ok"), 1);
    EXPECT_EQ(*box->template call<std::int32_t()>("random_status"), 0);
    auto file = box->call_bytes("read_file", bytes_of("/data/data.txt"));
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_EQ(std::string(file->begin(), file->end()), "inside the scope\n");
    auto greeting = box->call_bytes("config_echo", {});
    ASSERT_TRUE(greeting);
    EXPECT_EQ(std::string(greeting->begin(), greeting->end()), "hi there");
    EXPECT_THAT(box->state().stderr_text, HasSubstr("[info] hi there"));
}

TYPED_TEST_P(WasmBehaviour, HostApiFilesStayInsideTheirScope) {
    scratch_tree tree;
    auto config = allowing({"fs.read", "fs.write"});
    config.granted.erase("fs.write");  // in the ceiling, not granted
    config.ceiling.insert({"clock", "random"});
    config.preopens.push_back({tree.allowed(), "/data", false});
    auto box = this->make("host_api", config);
    ASSERT_TRUE(box);
    for (const char* attack : {"/data/../secret.txt", "/data/escape", "/etc/passwd", "/data/sub/../../secret.txt", "/"}) {
        auto r = box->call_bytes("read_file", bytes_of(attack));
        ASSERT_FALSE(r) << attack << " was readable";
        EXPECT_THAT(r.error().message(), ::testing::AnyOf(HasSubstr("status -1"), HasSubstr("status -2"), HasSubstr("status -3")))
            << attack;
    }
    auto write = box->call_bytes("write_file", bytes_of("/data/new.txt"));
    ASSERT_FALSE(write);
    EXPECT_FALSE(std::filesystem::exists(tree.allowed() / "new.txt"));
    EXPECT_FALSE(box->last_call().violations.empty());
}

TYPED_TEST_P(WasmBehaviour, OpenFilesLimitHolds) {
    scratch_tree tree;
    auto config = allowing({"fs.read"});
    config.ceiling.insert({"fs.write", "clock", "random"});
    config.open_files = 5;
    config.preopens.push_back({tree.allowed(), "/data", false});
    auto box = this->make("host_api", config);
    ASSERT_TRUE(box);
    auto r = box->call_bytes("hoard_files", bytes_of("/data/data.txt"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::file_limit);
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->limit, 5u);
}

TYPED_TEST_P(WasmBehaviour, OutputIsCapped) {
    auto config = strict_config();
    config.output_bytes = 100'000;
    auto box = this->make("log_flood", config);
    ASSERT_TRUE(box);
    auto r = box->template call<void()>("flood");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::output_limit);
    EXPECT_LE(box->state().stderr_text.size(), 100'000u);
}

// ---- WASI ------------------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, WasiHelloRunsStart) {
    auto config = strict_config();
    config.args = {"hello", "cordon", "world"};
    auto box = this->make("hello", config);
    ASSERT_TRUE(box);
    auto code = box->run_start();
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, 0);
    EXPECT_EQ(box->state().stdout_text, "hello from wasm cordon world\n");
}

TYPED_TEST_P(WasmBehaviour, WasiFileReaderReadsInsideScope) {
    scratch_tree tree;
    auto config = allowing({"fs.read"});
    config.preopens.push_back({tree.allowed(), "/data", false});
    config.args = {"file_reader", "/data/data.txt"};
    auto box = this->make("file_reader", config);
    ASSERT_TRUE(box);
    auto code = box->run_start();
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, 0) << box->state().stderr_text;
    EXPECT_EQ(box->state().stdout_text, "inside the scope\n");
}

TYPED_TEST_P(WasmBehaviour, WasiFileReaderCannotEscape) {
    scratch_tree tree;
    for (const std::string& path : std::vector<std::string>{"/data/../secret.txt", "/data/escape", tree.root().string() + "/secret.txt", "/etc/passwd",
                             "../secret.txt"}) {
        auto config = allowing({"fs.read"});
        config.preopens.push_back({tree.allowed(), "/data", false});
        config.args = {"file_reader", path};
        auto box = this->make("file_reader", config);
        ASSERT_TRUE(box);
        auto code = box->run_start();
        ASSERT_TRUE(code) << code.error().message();
        EXPECT_EQ(*code, 2) << path << " was opened: " << box->state().stdout_text;
        EXPECT_THAT(box->state().stdout_text, ::testing::Not(HasSubstr("outside the scope")));
    }
}

TYPED_TEST_P(WasmBehaviour, FifoInScopeCannotBlockTheHost) {
    scratch_tree tree;
    ASSERT_EQ(::mkfifo((tree.allowed() / "pipe").c_str(), 0600), 0);
    auto config = allowing({"fs.read"});
    config.wall_time = 2s;
    config.preopens.push_back({tree.allowed(), "/data", false});
    config.args = {"file_reader", "/data/pipe"};
    auto box = this->make("file_reader", config);
    ASSERT_TRUE(box);
    const auto start = std::chrono::steady_clock::now();
    auto code = box->run_start();  // no writer: would block in open() forever without O_NONBLOCK
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(box->state().stdout_text, "");
}

TYPED_TEST_P(WasmBehaviour, WasiWritesNeedFsWrite) {
    scratch_tree tree;
    auto read_only = allowing({"fs.read"});
    read_only.preopens.push_back({tree.allowed(), "/data", false});
    read_only.args = {"file_reader", "/data/out.txt", "write"};
    auto box = this->make("file_reader", read_only);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->run_start(), 2);
    EXPECT_FALSE(std::filesystem::exists(tree.allowed() / "out.txt"));
    EXPECT_FALSE(box->last_call().violations.empty());

    auto writable = allowing({"fs.read", "fs.write"});
    writable.preopens.push_back({tree.allowed(), "/data", true});
    writable.args = {"file_reader", "/data/out.txt", "write"};
    auto writer = this->make("file_reader", writable);
    ASSERT_TRUE(writer);
    EXPECT_EQ(*writer->run_start(), 0) << writer->state().stderr_text;
    EXPECT_TRUE(std::filesystem::exists(tree.allowed() / "out.txt"));
}

TYPED_TEST_P(WasmBehaviour, WasiDirectoriesStatAndSeek) {
    scratch_tree tree;
    auto config = allowing({"fs.read", "clock"});
    config.ceiling.insert("env");  // the probe imports environ_get; never granted here
    config.preopens.push_back({tree.allowed(), "/data", false});
    auto run = [&](std::vector<std::string> args) {
        config.args = args;
        config.args.insert(config.args.begin(), "wasi_probe");
        auto box = this->make("wasi_probe", config);
        if (!box) return std::pair{-1, std::string()};
        auto code = box->run_start();
        return std::pair{code ? *code : -1, box->state().stdout_text};
    };
    auto [list_code, listing] = run({"list", "/data"});
    EXPECT_EQ(list_code, 0);
    EXPECT_THAT(listing, HasSubstr("data.txt\n"));
    EXPECT_THAT(listing, HasSubstr("sub\n"));
    EXPECT_EQ(run({"stat", "/data/data.txt"}), (std::pair{0, std::string("17 file\n")}));
    EXPECT_THAT(run({"stat", "/data/sub"}).second, HasSubstr(" dir"));
    EXPECT_EQ(run({"seek", "/data/data.txt"}), (std::pair{0, std::string("the scope\n")}));
    EXPECT_EQ(run({"stat", "/data/../secret.txt"}).first, 2);
    EXPECT_EQ(run({"list", "/data/.."}).first, 2);
    EXPECT_EQ(run({"clock"}).first, 0);
}

TYPED_TEST_P(WasmBehaviour, WasiEnvironmentOnlyWithEnv) {
    auto config = allowing({"env"});
    config.ceiling.insert({"clock", "fs.read"});
    config.env = {"GREETING=hello"};
    config.args = {"wasi_probe", "env", "GREETING"};
    auto with_env = this->make("wasi_probe", config);
    ASSERT_TRUE(with_env);
    ASSERT_TRUE(with_env->run_start());
    EXPECT_EQ(with_env->state().stdout_text, "hello\n");
    config.granted.erase("env");  // in the ceiling, not granted: the guest sees an empty environment
    auto without = this->make("wasi_probe", config);
    ASSERT_TRUE(without);
    ASSERT_TRUE(without->run_start());
    EXPECT_EQ(without->state().stdout_text, "(unset)\n");
}

TYPED_TEST_P(WasmBehaviour, WasiStdinIsTheInput) {
    auto config = strict_config();
    config.ceiling = {"clock", "fs.read", "env"};  // what the probe imports; nothing granted
    config.args = {"wasi_probe", "stdin"};
    auto box = this->make("wasi_probe", config);
    ASSERT_TRUE(box);
    auto code = box->run_start(bytes_of("shout"));
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(box->state().stdout_text, "SHOUT");
}

TYPED_TEST_P(WasmBehaviour, WasiWithoutFsReadIsDenied) {
    EXPECT_EQ(this->make_error("file_reader").kind(), error_kind::denied);
}

// ---- telemetry and sharing -------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, TelemetryPerCallAndCumulative) {
    auto box = this->make("basic");
    ASSERT_TRUE(box);
    ASSERT_TRUE(box->template call<std::int32_t(std::int32_t)>("fib", 18));
    const usage first = box->last_call();
    ASSERT_TRUE(box->template call<std::int32_t(std::int32_t)>("fib", 18));
    EXPECT_GT(first.fuel, 0u);
    EXPECT_GT(first.wall.count(), 0);
    EXPECT_GT(first.cpu.count(), 0);
    EXPECT_EQ(first.peak_memory_bytes, 65536u);
    EXPECT_EQ(box->total().fuel, 2 * first.fuel);
}

TYPED_TEST_P(WasmBehaviour, OneModuleServesManySandboxes) {
    module shared = load("basic");
    std::vector<std::unique_ptr<typename TestFixture::instance>> boxes;
    for (int i = 0; i < 50; ++i) {
        auto box = TestFixture::instance::create(shared, strict_config());
        ASSERT_TRUE(box);
        boxes.push_back(std::move(*box));
    }
    ASSERT_TRUE(boxes[0]->template call<void(std::int32_t, std::int32_t)>("store", 0, 1234));
    EXPECT_EQ(*boxes[0]->template call<std::int32_t(std::int32_t)>("load", 0), 1234);
    EXPECT_EQ(*boxes[1]->template call<std::int32_t(std::int32_t)>("load", 0), 0);  // memories are separate
}

TYPED_TEST_P(WasmBehaviour, SandboxesRunInParallelThreads) {
    module shared = load("basic");
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            auto box = TestFixture::instance::create(shared, strict_config());
            if (box && (*box)->template call<std::int32_t(std::int32_t)>("fib", 18).value_or(0) == 2584) ++good;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), 4);
}

REGISTER_TYPED_TEST_SUITE_P(WasmBehaviour, PointerArithmeticCannotWrap, HostFunctionCannotReenterItsSandbox,
                            WasiDirectoriesStatAndSeek, WasiEnvironmentOnlyWithEnv, WasiStdinIsTheInput,
                            FifoInScopeCannotBlockTheHost,
                            TypedCallsReturnValues, DynamicCallsAreCheckedToo, WrongSignatureIsAnErrorValue,
                            BytesInBytesOut, HostChecksGuestPointers, TrapsBecomeErrorsWithReasons,
                            TrapsCarryABacktraceWithNames, UnboundedRecursionIsStopped, CallDepthLimitHolds,
                            FuelIsExactAndDeterministic, FuelStopsEndlessLoops, WallTimeStopsEndlessLoops,
                            CpuTimeStopsEndlessLoops, CancelFromAnotherThread, StartFunctionIsMetered,
                            MemoryMaximumIsClampedEvenWithoutOne, MemoryBombHitsTheLimit,
                            HugeInitialMemoryOrTableIsRefused, OutOfBoundsWriteTrapsAndHostSurvives,
                            ImportOutsideCeilingIsDenied, UnknownOrMistypedImportIsLoadError,
                            NotGrantedAtRunTimeIsAViolation, UserHostFunctionsWithCppSignatures,
                            HostFunctionErrorsStopTheGuestWithTheirKind, HostApiFromC,
                            HostApiFilesStayInsideTheirScope, OpenFilesLimitHolds, OutputIsCapped, WasiHelloRunsStart,
                            WasiFileReaderReadsInsideScope, WasiFileReaderCannotEscape, WasiWritesNeedFsWrite,
                            WasiWithoutFsReadIsDenied, TelemetryPerCallAndCumulative, OneModuleServesManySandboxes,
                            SandboxesRunInParallelThreads);

} // namespace cordon::wasm::testing
