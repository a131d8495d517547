// What every wasm engine must do beyond the conformance suite (tests/conformance), written once
// and instantiated per engine (test_<engine>.cpp): traps, memories, linking, WASI, attacks.
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

    static test_sandbox<instance> make(const std::string& name, test_policy config = strict_config(),
                                       std::vector<host_function> functions = {}) {
        auto created = make_sandbox<instance>(load(name), std::move(config), std::move(functions));
        if (!created) ADD_FAILURE() << "cannot create sandbox for " << name << ": " << created.error().message();
        return created ? std::move(*created) : test_sandbox<instance>{nullptr, nullptr};
    }
    static error make_error(const std::string& name, test_policy config = strict_config(),
                            std::vector<host_function> functions = {}) {
        auto created = make_sandbox<instance>(load(name), std::move(config), std::move(functions));
        if (created) {
            ADD_FAILURE() << "sandbox for " << name << " was created but should not have been";
            return fail(error_kind::internal, "created");
        }
        return created.error();
    }
};

TYPED_TEST_SUITE_P(WasmBehaviour);

// ---- guest pointers --------------------------------------------------------------------

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
    // The spec's three ways an indirect call fails: a null element, an index past the table, a type.
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("call_slot", 1, 5), "uninitialized element");
    expect_trap(box->template call<std::int32_t(std::int32_t, std::int32_t)>("call_slot", 7, 5), "undefined element");
    expect_trap(box->template call<std::int64_t(std::int32_t)>("call_slot_wrong", 0), "indirect call type mismatch");
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

// ---- metering before the first call ----------------------------------------------------

TYPED_TEST_P(WasmBehaviour, StartFunctionIsMetered) {
    auto config = strict_config();
    config.limit(limit::kind::fuel, 100'000);
    auto e = this->make_error("start_spin", config);
    EXPECT_EQ(e.kind(), error_kind::fuel_exhausted);
}

TYPED_TEST_P(WasmBehaviour, CpuLimitStopsASpinWithFewClockReadings) {
    // The thread CPU clock is a system call: a 300 ms spin ends at its cpu limit after a
    // handful of readings, not one per fuel slice (thousands here, with small slices).
    auto config = strict_config();
    config.limit(limit::kind::cpu_time_ms, 300).limit(limit::kind::wall_time_ms, 60'000);
    config.options.measure_cpu = false;
    config.options.fuel_slice = 1024;
    auto box = this->make("basic", config);
    ASSERT_TRUE(box);
    auto r = box->template call<void()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::cpu_limit) << r.error().message();
    const usage& spent = box->last_call();
    EXPECT_TRUE(spent.cpu_measured);
    EXPECT_GE(spent.cpu, 300ms);
    EXPECT_GT(spent.fuel, 200 * config.options.fuel_slice) << "the spin ran through many slices";
    EXPECT_GE(box->state().meter.cpu_readings(), 1u);
    EXPECT_LE(box->state().meter.cpu_readings(), 64u);
}

// ---- memory and tables -----------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, MemoryMaximumIsClampedEvenWithoutOne) {
    auto config = strict_config();
    config.limit(limit::kind::memory, 4 * 65536);
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
    config.limit(limit::kind::memory, 8u << 20);
    config.options.args = {"memory_bomb"};
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

TYPED_TEST_P(WasmBehaviour, FailedInstantiationReleasesWhatItMade) {
    // The memory and the table exist when the data segment traps; a sandbox that is never made
    // must give them back. One leaked reservation of the compiled engine is 8 GiB of address space.
    const long before = process_status_kib("VmSize");
    for (int i = 0; i < 16; ++i) {
        const error e = this->make_error("segment_out_of_bounds");
        EXPECT_EQ(e.kind(), error_kind::trap);
        EXPECT_THAT(e.message(), HasSubstr("out of bounds memory access"));
    }
    const long grown_gib = (process_status_kib("VmSize") - before) >> 20;
    EXPECT_LT(grown_gib, 8) << "instantiations that failed kept their address space";
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

// ---- host API from C -------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, HostApiFromC) {
    scratch_tree tree;
    auto config = allowing({"clock", "random", "fs.read"});
    config.admit("fs.write");  // imported by the plugin, never granted here
    config.scope("fs.read", tree.allowed());
    config.config["greeting"] = "hi there";
    auto box = this->make("host_api", config);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->template call<std::int32_t()>("clock_ok"), 1);
    EXPECT_EQ(*box->template call<std::int32_t()>("random_status"), 0);
    auto file = box->call_bytes("read_file", bytes_of(tree.in("/data.txt")));
    ASSERT_TRUE(file) << file.error().message();
    EXPECT_EQ(std::string(file->begin(), file->end()), "inside the scope\n");
    auto greeting = box->call_bytes("config_echo", {});
    ASSERT_TRUE(greeting);
    EXPECT_EQ(std::string(greeting->begin(), greeting->end()), "hi there");
    EXPECT_THAT(box.logs(), HasSubstr("info: hi there"));
}

TYPED_TEST_P(WasmBehaviour, HostApiFilesStayInsideTheirScope) {
    scratch_tree tree;
    auto config = allowing({"fs.read", "fs.write"});
    config.revoke("fs.write");  // in the ceiling, not granted
    config.admit("clock").admit("random");
    config.scope("fs.read", tree.allowed());
    auto box = this->make("host_api", config);
    ASSERT_TRUE(box);
    for (const std::string& attack : std::vector<std::string>{tree.in("/../secret.txt"), tree.in("/escape"), "/etc/passwd", tree.in("/sub/../../secret.txt"), "/"}) {
        auto r = box->call_bytes("read_file", bytes_of(attack));
        ASSERT_FALSE(r) << attack << " was readable";
        EXPECT_THAT(r.error().message(), ::testing::AnyOf(HasSubstr("status -1"), HasSubstr("status -2"), HasSubstr("status -3")))
            << attack;
    }
    auto write = box->call_bytes("write_file", bytes_of(tree.in("/new.txt")));
    ASSERT_FALSE(write);
    EXPECT_FALSE(std::filesystem::exists(tree.allowed() / "new.txt"));
    EXPECT_FALSE(box.context().violations().empty());
}

// ---- WASI ------------------------------------------------------------------------------

TYPED_TEST_P(WasmBehaviour, WasiHelloRunsStart) {
    auto config = strict_config();
    config.options.args = {"hello", "cordon", "world"};
    auto box = this->make("hello", config);
    ASSERT_TRUE(box);
    auto code = box->run_start();
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, 0);
    EXPECT_EQ(box.out(), "hello from wasm cordon world\n");
}

TYPED_TEST_P(WasmBehaviour, WasiFileReaderReadsInsideScope) {
    scratch_tree tree;
    auto config = allowing({"fs.read"});
    config.scope("fs.read", tree.allowed());
    config.options.args = {"file_reader", tree.in("/data.txt")};
    auto box = this->make("file_reader", config);
    ASSERT_TRUE(box);
    auto code = box->run_start();
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, 0) << box.err();
    EXPECT_EQ(box.out(), "inside the scope\n");
}

TYPED_TEST_P(WasmBehaviour, WasiFileReaderCannotEscape) {
    scratch_tree tree;
    for (const std::string& path : std::vector<std::string>{tree.in("/../secret.txt"), tree.in("/escape"), tree.root().string() + "/secret.txt", "/etc/passwd",
                             "../secret.txt"}) {
        auto config = allowing({"fs.read"});
        config.scope("fs.read", tree.allowed());
        config.options.args = {"file_reader", path};
        auto box = this->make("file_reader", config);
        ASSERT_TRUE(box);
        auto code = box->run_start();
        ASSERT_TRUE(code) << code.error().message();
        EXPECT_EQ(*code, 2) << path << " was opened: " << box.out();
        EXPECT_THAT(box.out(), ::testing::Not(HasSubstr("outside the scope")));
    }
}

TYPED_TEST_P(WasmBehaviour, FifoInScopeCannotBlockTheHost) {
    scratch_tree tree;
    ASSERT_EQ(::mkfifo((tree.allowed() / "pipe").c_str(), 0600), 0);
    auto config = allowing({"fs.read"});
    config.limit(limit::kind::wall_time_ms, 2000);
    config.scope("fs.read", tree.allowed());
    config.options.args = {"file_reader", tree.in("/pipe")};
    auto box = this->make("file_reader", config);
    ASSERT_TRUE(box);
    const auto start = std::chrono::steady_clock::now();
    auto code = box->run_start();  // no writer: would block in open() forever without O_NONBLOCK
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(box.out(), "");
}

TYPED_TEST_P(WasmBehaviour, WasiWritesNeedFsWrite) {
    scratch_tree tree;
    auto read_only = allowing({"fs.read"});
    read_only.scope("fs.read", tree.allowed());
    read_only.options.args = {"file_reader", tree.in("/out.txt"), "write"};
    auto box = this->make("file_reader", read_only);
    ASSERT_TRUE(box);
    EXPECT_EQ(*box->run_start(), 2);
    EXPECT_FALSE(std::filesystem::exists(tree.allowed() / "out.txt"));
    EXPECT_FALSE(box.context().violations().empty());

    auto writable = allowing({"fs.read", "fs.write"});
    writable.scope("fs.read", tree.allowed()).scope("fs.write", tree.allowed());
    writable.options.args = {"file_reader", tree.in("/out.txt"), "write"};
    auto writer = this->make("file_reader", writable);
    ASSERT_TRUE(writer);
    EXPECT_EQ(*writer->run_start(), 0) << writer.err();
    EXPECT_TRUE(std::filesystem::exists(tree.allowed() / "out.txt"));
}

TYPED_TEST_P(WasmBehaviour, WasiDirectoriesStatAndSeek) {
    scratch_tree tree;
    auto config = allowing({"fs.read", "clock"});
    config.admit("env");  // the probe imports environ_get; never granted here
    config.scope("fs.read", tree.allowed());
    auto run = [&](std::vector<std::string> args) {
        config.options.args = args;
        config.options.args.insert(config.options.args.begin(), "wasi_probe");
        auto box = this->make("wasi_probe", config);
        if (!box) return std::pair{-1, std::string()};
        auto code = box->run_start();
        return std::pair{code ? *code : -1, box.out()};
    };
    auto [list_code, listing] = run({"list", tree.in("")});
    EXPECT_EQ(list_code, 0);
    EXPECT_THAT(listing, HasSubstr("data.txt\n"));
    EXPECT_THAT(listing, HasSubstr("sub\n"));
    EXPECT_EQ(run({"stat", tree.in("/data.txt")}), (std::pair{0, std::string("17 file\n")}));
    EXPECT_THAT(run({"stat", tree.in("/sub")}).second, HasSubstr(" dir"));
    EXPECT_EQ(run({"seek", tree.in("/data.txt")}), (std::pair{0, std::string("the scope\n")}));
    EXPECT_EQ(run({"stat", tree.in("/../secret.txt")}).first, 2);
    EXPECT_EQ(run({"list", tree.in("/..")}).first, 2);
    EXPECT_EQ(run({"clock"}).first, 0);
}

TYPED_TEST_P(WasmBehaviour, WasiEnvironmentOnlyWithEnv) {
    auto config = allowing({"env"});
    config.admit("clock").admit("fs.read");
    config.environment = {{"GREETING", "hello"}};
    config.options.args = {"wasi_probe", "env", "GREETING"};
    auto with_env = this->make("wasi_probe", config);
    ASSERT_TRUE(with_env);
    ASSERT_TRUE(with_env->run_start());
    EXPECT_EQ(with_env.out(), "hello\n");
    config.revoke("env");  // in the ceiling, not granted: the guest sees an empty environment
    auto without = this->make("wasi_probe", config);
    ASSERT_TRUE(without);
    ASSERT_TRUE(without->run_start());
    EXPECT_EQ(without.out(), "(unset)\n");
}

TYPED_TEST_P(WasmBehaviour, WasiStdinIsTheInput) {
    auto config = strict_config();
    config.admit("clock").admit("fs.read").admit("env");  // what the probe imports; nothing granted
    config.options.args = {"wasi_probe", "stdin"};
    auto box = this->make("wasi_probe", config);
    ASSERT_TRUE(box);
    auto code = box->run_start(bytes_of("shout"));
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(box.out(), "SHOUT");
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
    std::vector<test_sandbox<typename TestFixture::instance>> boxes;
    for (int i = 0; i < 50; ++i) {
        auto box = make_sandbox<typename TestFixture::instance>(shared, strict_config());
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
            auto box = make_sandbox<typename TestFixture::instance>(shared, strict_config());
            if (box && (*box)->template call<std::int32_t(std::int32_t)>("fib", 18).value_or(0) == 2584) ++good;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), 4);
}

REGISTER_TYPED_TEST_SUITE_P(WasmBehaviour, PointerArithmeticCannotWrap, WasiDirectoriesStatAndSeek,
                            WasiEnvironmentOnlyWithEnv, WasiStdinIsTheInput, FifoInScopeCannotBlockTheHost,
                            HostChecksGuestPointers, TrapsBecomeErrorsWithReasons, TrapsCarryABacktraceWithNames,
                            UnboundedRecursionIsStopped, StartFunctionIsMetered, CpuLimitStopsASpinWithFewClockReadings,
                            MemoryMaximumIsClampedEvenWithoutOne, MemoryBombHitsTheLimit,
                            HugeInitialMemoryOrTableIsRefused, FailedInstantiationReleasesWhatItMade,
                            OutOfBoundsWriteTrapsAndHostSurvives,
                            ImportOutsideCeilingIsDenied, UnknownOrMistypedImportIsLoadError, HostApiFromC,
                            HostApiFilesStayInsideTheirScope, WasiHelloRunsStart, WasiFileReaderReadsInsideScope,
                            WasiFileReaderCannotEscape, WasiWritesNeedFsWrite, WasiWithoutFsReadIsDenied,
                            TelemetryPerCallAndCumulative, OneModuleServesManySandboxes,
                            SandboxesRunInParallelThreads);

} // namespace cordon::wasm::testing
