// Guests that attack the interpreter engine's own machinery: its call and value stacks, and the
// host functions it links. Each must end as a clear error (or a value), never a host crash.
#include "../common/sanitizers.hpp"
#include "module_builder.hpp"
#include "test_support.hpp"

#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>
#include <cordon/wasm/interpreter.hpp>

#include <sys/resource.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cordon::wasm::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

test_sandbox<interpreter_instance> make(const module& m, test_policy config = strict_config()) {
    auto box = make_sandbox<interpreter_instance>(m, std::move(config));
    if (!box) ADD_FAILURE() << box.error().message();
    return box ? std::move(*box) : test_sandbox<interpreter_instance>{nullptr, nullptr};
}

void expect_stack_exhausted(const result<std::vector<value>>& r) {
    ASSERT_FALSE(r) << "an exhausted call stack was reported as success";
    EXPECT_EQ(r.error().kind(), error_kind::trap);
    EXPECT_THAT(r.error().message(), HasSubstr("call stack exhausted"));
}

TEST(WasmInterpreterAttacks, IndirectRecursionThatExhaustsTheStackIsATrap) {
    auto box = make(load("runaway"));
    ASSERT_TRUE(box);
    expect_stack_exhausted(box->call("runaway", {}));
    // The sandbox stays usable, and the same holds again.
    auto again = box->call<std::int32_t()>("shallow");
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, 7);
    expect_stack_exhausted(box->call("runaway", {}));
}

TEST(WasmInterpreterAttacks, IndirectRecursionWithAResultIsATrap) {
    auto box = make(load("runaway"));
    ASSERT_TRUE(box);
    expect_stack_exhausted(box->call("runaway_i32", {}));
    auto typed = box->call<std::int32_t()>("runaway_i32");
    ASSERT_FALSE(typed);
    EXPECT_THAT(typed.error().message(), HasSubstr("call stack exhausted"));
    EXPECT_EQ(*box->call<std::int32_t()>("shallow"), 7);
}

TEST(WasmInterpreterAttacks, IndirectRecursionStopsAtThePolicysDepth) {
    auto config = strict_config();
    config.limit(limit::kind::call_depth, 100);
    auto box = make(load("runaway"), config);
    ASSERT_TRUE(box);
    auto r = box->call("runaway_i32", {});
    ASSERT_FALSE(r);
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->name, "call_depth");
}

TEST(WasmInterpreterAttacks, AReexportedHostImportCanBeCalledFromTheHost) {
    auto box = make(load("reexport_clock"), allowing({"clock"}));
    ASSERT_TRUE(box);
    const value monotonic[] = {value::of<std::int32_t>(1)};
    auto direct = box->call("clock", monotonic);
    ASSERT_TRUE(direct) << direct.error().message();
    ASSERT_EQ(direct->size(), 1u);
    EXPECT_GT((*direct)[0].as<std::int64_t>(), 0);
    auto typed = box->call<std::int64_t(std::int32_t)>("clock", 1);
    ASSERT_TRUE(typed) << typed.error().message();
    EXPECT_GE(*typed, (*direct)[0].as<std::int64_t>());
    EXPECT_GT(*box->call<std::int64_t()>("now"), 0);
}

TEST(WasmInterpreterAttacks, TheEnforcementReportSaysHowStacksAreBounded) {
    sandbox<wasm::interpreter, cordon::policy<isolation::strict>> box{load("basic")};
    ASSERT_TRUE(box.ok());
    const auto report = box.enforcement();
    const auto* stack = report.find(element::stack);
    ASSERT_NE(stack, nullptr);
    EXPECT_THAT(stack->mechanism, HasSubstr("memory limit"));
}

TEST(WasmInterpreterAttacks, AReexportedHostImportThroughTheFacade) {
    sandbox<wasm::interpreter, cordon::policy<isolation::strict, allow<perm::clock>>> box{load("reexport_clock")};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    auto now = box.call<std::int64_t(std::int32_t)>("clock", 1);
    ASSERT_TRUE(now) << now.error().message();
    EXPECT_GT(*now, 0);
}

/// (i32) -> (): recurses n deep, each frame holding `locals` i64 locals.
bytes fat_recursion(std::uint32_t locals) {
    const bytes type{0x01, 0x60, 0x01, 0x7F, 0x00};
    const bytes code{
        0x20, 0x00, 0x45,                    // local.get 0; i32.eqz
        0x04, 0x40, 0x05,                    // if else
        0x20, 0x00, 0x41, 0x01, 0x6B,        // local.get 0; i32.const 1; i32.sub
        0x10, 0x00,                          // call 0
        0x0B, 0x0B};                         // end end
    return one_function(type, {{locals, 0x7E}}, code);
}

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/// The resident set now (peak_rss_kib's maximum never comes down).
long current_rss_kib() { return process_status_kib("VmRSS"); }

/// A sandbox of fat_recursion(locals) under a memory limit of `memory_bytes`.
test_sandbox<interpreter_instance> fat_sandbox(std::uint32_t locals, std::uint64_t memory_bytes = 64u << 20) {
    auto m = module::from_bytes(fat_recursion(locals));
    if (!m) {
        ADD_FAILURE() << m.error().message();
        return {nullptr, nullptr};
    }
    auto config = strict_config();
    config.limit(limit::kind::memory, memory_bytes);
    return make(*m, config);
}

TEST(WasmInterpreterAttacks, FatFramesCountAgainstTheMemoryLimit) {
    auto box = fat_sandbox(49'999);
    ASSERT_TRUE(box);
    const long before = peak_rss_kib();
    const value depth[] = {value::of<std::int32_t>(100'000)};
    auto r = box->call("f", depth);
    const long grown_mib = (peak_rss_kib() - before) / 1024;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::memory_limit);
    EXPECT_THAT(r.error().message(), HasSubstr("call stack exhausted"));
    ASSERT_TRUE(r.error().info().limit);
    EXPECT_EQ(r.error().info().limit->name, "memory");
    // The value stack may take the memory limit once more; before, it took 1.5 GiB.
    EXPECT_LT(grown_mib, 200);
    // Shallow calls of the same function still run.
    const value shallow[] = {value::of<std::int32_t>(10)};
    EXPECT_TRUE(box->call("f", shallow));
}

TEST(WasmInterpreterAttacks, ATighterMemoryLimitAllowsFewerFatFrames) {
    auto box = fat_sandbox(10'000, 4u << 20);
    ASSERT_TRUE(box);
    const value deep[] = {value::of<std::int32_t>(1'000)};
    auto r = box->call("f", deep);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::memory_limit);
    const value shallow[] = {value::of<std::int32_t>(5)};
    EXPECT_TRUE(box->call("f", shallow)) << "five frames of 160 KB fit in 4 MiB";
}

TEST(WasmInterpreterAttacks, OrdinaryRecursionStillEndsAsCallStackExhausted) {
    auto box = fat_sandbox(1);
    ASSERT_TRUE(box);
    const value depth[] = {value::of<std::int32_t>(1'000'000)};
    auto r = box->call("f", depth);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message(), AnyOf(HasSubstr("call stack exhausted")));
    EXPECT_EQ(r.error().kind(), error_kind::trap);
}

// Every trap made an object in WABT's store that nothing collected: 100 000 trapping calls grew
// the host by ~21 MB, outside any limit of the sandbox. RSS is read around 50 000 traps (the
// leak would be ~10 MB); ASan keeps freed memory in quarantine, so this runs without it.
TEST(WasmInterpreterAttacks, TrapsDoNotGrowTheHost) {
    if (cordon::testing::under_sanitizer) GTEST_SKIP() << "a sanitizer's quarantine keeps freed memory resident";
    auto box = make(load("basic"));
    ASSERT_TRUE(box);
    for (int i = 0; i < 1000; ++i) ASSERT_FALSE(box->call<void()>("crash"));  // the thread and stacks exist now
    const long before = current_rss_kib();
    for (int i = 0; i < 50'000; ++i) ASSERT_FALSE(box->call<void()>("crash"));
    const long grown = current_rss_kib() - before;
    EXPECT_LT(grown, 2 * 1024) << "50 000 traps grew the host by " << grown << " KiB";
    EXPECT_EQ(*box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 3), 5) << "the sandbox still serves calls";
}

} // namespace
} // namespace cordon::wasm::testing
