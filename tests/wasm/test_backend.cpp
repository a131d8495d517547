// sandbox<Engine, Policy> for both wasm engines (interpreter and compiled): the wasm backend
// through the core's facade, with permissions and limits coming from compile-time policies and
// runtime grants.
#include "test_support.hpp"

#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>

#include <thread>

namespace cordon::wasm::testing {
namespace {

using ::testing::HasSubstr;

using strict_policy = cordon::policy<isolation::strict>;
using strict_with_clock = cordon::policy<isolation::strict, allow<perm::clock>>;

static_assert(cordon::backend<wasm::interpreter, strict_policy>);
static_assert(cordon::backend<wasm::compiled, strict_policy>);

// The engines hold no grants of their own: they read the sandbox's context through a view that
// can record what the guest did but cannot grant, revoke or loosen; not even the escape hatch
// that reaches the engine mutably offers a way to widen.
template <class Box> constexpr bool grants_through_the_engine = requires(Box& b) {
    b.unsafe_backend_instance()->unsafe_engine().state().policy.grant("fs.write");
};
template <class Box> constexpr bool loosens_limits_through_the_engine = requires(Box& b) {
    b.unsafe_backend_instance()->unsafe_engine().state().limits().fuel = std::nullopt;
};
template <class Box> constexpr bool reaches_the_context_mutably = requires(Box& b) {
    b.context().policy().grant("net");
};
static_assert(!grants_through_the_engine<sandbox<wasm::interpreter, strict_policy>>);
static_assert(!grants_through_the_engine<sandbox<wasm::compiled, strict_policy>>);
static_assert(!loosens_limits_through_the_engine<sandbox<wasm::interpreter, strict_policy>>);
static_assert(!reaches_the_context_mutably<sandbox<wasm::compiled, strict_policy>>);
// Not vacuous: the view is there.
static_assert(requires(sandbox<wasm::interpreter, strict_policy>& b) {
    b.unsafe_backend_instance()->unsafe_engine().state().policy.granted(perm::id::clock);
});

template <class Backend> class WasmBackend : public ::testing::Test {};
using backends = ::testing::Types<wasm::interpreter, wasm::compiled>;
TYPED_TEST_SUITE(WasmBackend, backends);

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span{s.data(), s.size()}); }

TYPED_TEST(WasmBackend, CallsThroughTheFacade) {
    sandbox<TypeParam, strict_policy> box{load("basic")};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t)>("fib", 20), 6765);
    auto fib = box.template function<std::int32_t(std::int32_t)>("fib");
    ASSERT_TRUE(fib);
    EXPECT_EQ(*(*fib)(10), 55);
    const auto t = box.telemetry();
    EXPECT_EQ(t.total.calls, 2u);
    EXPECT_GT(t.last_call.fuel, 0u);
    EXPECT_EQ(t.last_call.peak_memory_bytes, 65536u);
}

TYPED_TEST(WasmBackend, CallsWithRunTimeSignatures) {
    sandbox<TypeParam, strict_policy> box{load("basic")};
    const cordon::value args[] = {cordon::value::of(std::int64_t{40}), cordon::value::of(std::int64_t{2})};
    auto sum = box.call_values("add64", args);
    ASSERT_TRUE(sum) << sum.error().message();
    ASSERT_EQ(sum->size(), 1u);
    EXPECT_EQ((*sum)[0].template as<std::int64_t>(), 42);
    const cordon::value wrong[] = {cordon::value::of(1.5)};
    auto bad = box.call_values("add64", wrong);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind(), error_kind::invalid_argument);
}

TYPED_TEST(WasmBackend, SignatureMismatchAtBind) {
    sandbox<TypeParam, strict_policy> box{load("basic")};
    auto r = box.template call<double(double)>("fib", 1.0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(r.error().message(), HasSubstr("(i32) -> i32"));
}

TYPED_TEST(WasmBackend, PolicyDecidesWhatLinks) {
    using no_clock = cordon::policy<isolation::maximum, best_effort>;
    sandbox<TypeParam, no_clock> denied{load("import_clock")};
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(denied.status().error().kind(), error_kind::denied);

    sandbox<TypeParam, strict_with_clock> allowed{load("import_clock")};
    ASSERT_TRUE(allowed.ok());
    EXPECT_GT(*allowed.template call<std::int64_t()>("now"), 0);
    EXPECT_EQ(allowed.telemetry().last_call.host_calls_by_name.at("clock_now"), 1u);
}

TYPED_TEST(WasmBackend, InCeilingButNotGrantedIsAViolation) {
    sandbox<TypeParam, strict_policy> box{load("import_clock")};  // clock may be granted, is not
    ASSERT_TRUE(box.ok());
    auto r = box.template call<std::int64_t()>("now");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    EXPECT_EQ(box.violations().size(), 1u);
    ASSERT_TRUE(box.grant(perm::clock{}));
    EXPECT_TRUE(box.template call<std::int64_t()>("now"));
    ASSERT_TRUE(box.template revoke<perm::clock>());
    EXPECT_FALSE(box.template call<std::int64_t()>("now"));
}

TYPED_TEST(WasmBackend, MaximumNeedsTwoLayersOrBestEffort) {
    sandbox<TypeParam, cordon::policy<isolation::maximum>> strictest{load("basic")};
    ASSERT_FALSE(strictest.ok());
    EXPECT_EQ(strictest.status().error().kind(), error_kind::unsupported);
    sandbox<TypeParam, cordon::policy<isolation::maximum, best_effort>> one_layer{load("basic")};
    EXPECT_TRUE(one_layer.ok());
    EXPECT_EQ(one_layer.enforcement().find(element::two_layers)->level, enforcement_level::best_effort);
}

TYPED_TEST(WasmBackend, FuelLimitFromThePolicy) {
    sandbox<TypeParam, cordon::policy<isolation::strict, limit::fuel<100'000>>> box{load("basic")};
    auto r = box.template call<void()>("spin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
    ASSERT_TRUE(box.template tighten<limit::fuel<1000>>());
    auto small = box.template call<std::int32_t(std::int32_t)>("count", 10'000);
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error().kind(), error_kind::fuel_exhausted);
    EXPECT_EQ(small.error().info().limit->limit, 1000u);
}

TYPED_TEST(WasmBackend, MemoryLimitFromThePolicy) {
    sandbox<TypeParam, cordon::policy<isolation::strict, limit::memory<4 * 65536>>> box{load("memory_nomax")};
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t)>("grow", 3), 1);
    EXPECT_EQ(*box.template call<std::int32_t(std::int32_t)>("grow", 1), -1);
}

TYPED_TEST(WasmBackend, CancelStopsARunningCall) {
    sandbox<TypeParam, cordon::policy<isolation::minimal>> box{load("endless_loop")};
    ASSERT_TRUE(box.ok());
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        box.cancel();
    });
    auto r = box.template call<std::int32_t()>("spin");
    stopper.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
}

TYPED_TEST(WasmBackend, FilesOnlyBeneathGrantedScopes) {
    scratch_tree tree;
    sandbox_options options;
    options.grants = {"fs.read=" + tree.allowed().string(), "random"};
    sandbox<TypeParam, strict_policy> reader{load("host_api"), options};
    ASSERT_TRUE(reader.ok()) << reader.status().error().message();
    const std::string inside = tree.allowed().string() + "/data.txt";
    auto ok = reader.call_bytes("read_file", as_bytes(inside));
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->size(), std::string("inside the scope\n").size());
    const std::string outside = tree.root().string() + "/secret.txt";
    auto refused = reader.call_bytes("read_file", as_bytes(outside));
    ASSERT_FALSE(refused);
    const std::string climbing = tree.allowed().string() + "/../secret.txt";
    EXPECT_FALSE(reader.call_bytes("read_file", as_bytes(climbing)));
}

TYPED_TEST(WasmBackend, ScopesGrantedAndRevokedAtRunTime) {
    scratch_tree tree;
    sandbox_options options;
    options.grants = {"random"};
    sandbox<TypeParam, strict_policy> box{load("host_api"), options};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    const std::string file = tree.allowed().string() + "/data.txt";
    EXPECT_FALSE(box.call_bytes("read_file", as_bytes(file)));
    ASSERT_TRUE(box.grant("fs.read=" + tree.allowed().string()));
    auto granted = box.call_bytes("read_file", as_bytes(file));
    ASSERT_TRUE(granted) << granted.error().message();
    ASSERT_TRUE(box.revoke("fs.read"));
    EXPECT_FALSE(box.call_bytes("read_file", as_bytes(file)));
}

// A new scope waits while the guest holds files open (a handle never outlives its directory's
// place in the table), and applies at the first call after they are closed.
TYPED_TEST(WasmBackend, ScopeChangesWaitForOpenFilesThenApply) {
    scratch_tree first, second;
    sandbox_options options;
    options.grants = {"random", "fs.read=" + first.allowed().string()};
    sandbox<TypeParam, strict_policy> box{load("host_api"), options};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    const std::string in_second = second.allowed().string() + "/data.txt";
    // White box: a file the guest holds open, as fs_open leaves it between calls.
    auto& handles = box.unsafe_backend_instance()->unsafe_engine().state().handles;
    handle_entry held;
    held.fd = cordon::detail::unique_fd{::open(first.allowed().c_str(), O_PATH | O_CLOEXEC)};
    auto handle = handles.add(std::move(held), 16);
    ASSERT_TRUE(handle);
    ASSERT_TRUE(box.grant("fs.read=" + second.allowed().string()));
    EXPECT_FALSE(box.call_bytes("read_file", as_bytes(in_second))) << "the new scope waits for the open file";
    ASSERT_TRUE(handles.close(*handle));
    auto now = box.call_bytes("read_file", as_bytes(in_second));
    ASSERT_TRUE(now) << "the new scope applies once no file is open: " << now.error().message();
    EXPECT_TRUE(box.call_bytes("read_file", as_bytes(first.allowed().string() + "/data.txt")));
}

TYPED_TEST(WasmBackend, GuestLogsReachTheHostSink) {
    std::vector<std::string> seen;
    sandbox_options options;
    options.config["greeting"] = "hello host";
    options.log_sink = [&](log_level level, std::string_view text) {
        seen.push_back(std::string(to_string(level)) + ":" + std::string(text));
    };
    sandbox<TypeParam, strict_policy> box{load("host_api"), options};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    auto out = box.call_bytes("config_echo", {});
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(seen, std::vector<std::string>{"info:hello host"});
    EXPECT_THAT(box.take_logs(), HasSubstr("hello host"));
}

TYPED_TEST(WasmBackend, WasiOutputReachesTheContext) {
    sandbox<TypeParam, strict_policy> box{load("hello")};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.template call<void()>("_start"));
    EXPECT_THAT(box.take_stdout(), HasSubstr("hello from wasm"));
}

TYPED_TEST(WasmBackend, UserHostFunctionWithPermission) {
    struct ui : perm::custom<"ui"> {};
    using ui_policy = cordon::policy<isolation::standard, allow<ui>>;
    sandbox_options options;
    options.functions.push_back(host::function<ui>("ui_beep", [] { return std::int32_t{7}; }, "app"));
    options.functions.push_back(host::function("mix", [](std::int32_t a, std::int64_t b) { return std::int64_t{a} * 100 + b; }, "app"));
    sandbox<TypeParam, ui_policy> box{load("host_user"), options};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(*box.template call<std::int32_t()>("use_beep"), 7);
    EXPECT_EQ(*box.template call<std::int64_t(std::int32_t)>("use_mix", 2), 210);
}

TYPED_TEST(WasmBackend, EnforcementReportNamesMechanisms) {
    sandbox<TypeParam, strict_policy> box{load("basic")};
    const auto report = box.enforcement();
    EXPECT_EQ(report.backend, TypeParam::name);
    ASSERT_NE(report.find(element::fuel), nullptr);
    EXPECT_THAT(report.find(element::memory)->mechanism, HasSubstr("pages"));
    EXPECT_THAT(report.find(element::fs)->mechanism, HasSubstr("RESOLVE_BENEATH"));
}

} // namespace
} // namespace cordon::wasm::testing
