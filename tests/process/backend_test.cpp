// The process backend behind the sandbox facade: the backend concept, typed and bytes calls,
// the three payloads, crash replacement, violations, limits from the policy, cancel, grants,
// and the enforcement report.
#include <cordon/process/backend.hpp>
#include <cordon/process/call_host.hpp>
#include <cordon/sandbox.hpp>

#include <gtest/gtest.h>

#include <sys/ptrace.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {
using namespace cordon;
namespace fs = std::filesystem;

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
double scale(std::int64_t a, double b) { return static_cast<double>(a) * b; }
// A fault no sanitizer intercepts (an invalid instruction), so every build sees a plain crash.
std::int32_t crash(std::int32_t) { __builtin_trap(); }
std::int32_t trace(std::int32_t pid) { return static_cast<std::int32_t>(::ptrace(PTRACE_ATTACH, pid, 0, 0)); }
std::int32_t spin(std::int32_t) {
    volatile std::int32_t n = 0;
    for (;;) n = n + 1;
}
std::vector<std::byte> reverse(std::span<const std::byte> in) { return {in.rbegin(), in.rend()}; }
std::vector<std::byte> read_file(std::span<const std::byte> in) {
    const std::string path(reinterpret_cast<const char*>(in.data()), in.size());
    std::ifstream file(path);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const std::string answer = file ? "read:" + text : "refused";
    const auto* bytes = reinterpret_cast<const std::byte*>(answer.data());
    return {bytes, bytes + answer.size()};
}

process::function_table functions() {
    return process::function_table{}
        .add<&add>("add")
        .add<&scale>("scale")
        .add<&crash>("crash")
        .add<&trace>("trace")
        .add<&spin>("spin")
        .add_bytes<&reverse>("reverse")
        .add_bytes<&read_file>("read_file");
}

std::vector<std::byte> bytes_of(std::string_view text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}
std::string text_of(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

using strict_policy = policy<isolation::strict>;
using standard_policy = policy<isolation::standard>;
using maximum_policy = policy<isolation::maximum>;
using quick_cpu = policy<isolation::strict, limit::cpu_time_ms<100>>;

} // namespace

TEST(ProcessBackend, MeetsTheBackendConcept) {
    static_assert(backend<process::backend, strict_policy>);
    static_assert(backend<process::backend, standard_policy>);
    static_assert(backend<process::backend, maximum_policy>);
    static_assert(backend<process::backend, policy<isolation::minimal>>);
}

TEST(ProcessBackend, TypedAndBytesCallsRunInTheChild) {
    sandbox<process::backend, strict_policy> box{functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40), 42);
    EXPECT_DOUBLE_EQ(*box.call<double(std::int64_t, double)>("scale", 1ll << 40, 0.5), static_cast<double>(1ll << 39));
    auto reversed = box.call_bytes("reverse", bytes_of("cordon"));
    ASSERT_TRUE(reversed);
    EXPECT_EQ(text_of(*reversed), "nodroc");
    auto wrong = box.call<std::int64_t(std::int32_t, std::int32_t)>("add", 1, 2);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(box.call<void()>("missing").error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(box.telemetry().total.calls, 3U);
    // Each call is charged once: the total is the sum of the calls, not of running totals.
    EXPECT_LE(box.telemetry().total.cpu_ns, box.telemetry().total.wall_ns);
}

TEST(ProcessBackend, ACrashedChildIsReplacedOnTheNextCall) {
    sandbox<process::backend, strict_policy> box{functions()};
    ASSERT_TRUE(box.ok());
    auto crashed = box.call<std::int32_t(std::int32_t)>("crash", 0);
    ASSERT_FALSE(crashed);
    EXPECT_EQ(crashed.error().kind(), error_kind::crash);
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1), 2);
    EXPECT_EQ(box.telemetry().restarts, 1U);
}

TEST(ProcessBackend, AViolationIsRecordedWithTheSyscall) {
    sandbox<process::backend, standard_policy> box{functions()};
    ASSERT_TRUE(box.ok());
    auto traced = box.call<std::int32_t(std::int32_t)>("trace", static_cast<std::int32_t>(::getpid()));
    ASSERT_FALSE(traced);
    EXPECT_EQ(traced.error().kind(), error_kind::violation);
    EXPECT_EQ(traced.error().info().syscall, "ptrace");
    ASSERT_EQ(box.violations().size(), 1U);
    EXPECT_EQ(box.violations().front().info().syscall, "ptrace");
}

TEST(ProcessBackend, ThePolicysCpuLimitStopsASpin) {
    sandbox<process::backend, quick_cpu> box{functions()};
    ASSERT_TRUE(box.ok());
    auto spun = box.call<std::int32_t(std::int32_t)>("spin", 0);
    ASSERT_FALSE(spun);
    EXPECT_EQ(spun.error().kind(), error_kind::cpu_limit);
}

TEST(ProcessBackend, CancelFromAnotherThreadEndsTheCallAsTimeout) {
    sandbox<process::backend, policy<isolation::strict, limit::cpu_time_ms<20000>, limit::wall_time_ms<20000>>> box{
        functions()};
    ASSERT_TRUE(box.ok());
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        box.cancel();
    });
    auto spun = box.call<std::int32_t(std::int32_t)>("spin", 0);
    canceller.join();
    ASSERT_FALSE(spun);
    EXPECT_EQ(spun.error().kind(), error_kind::timeout);
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 2), 4);
}

TEST(ProcessBackend, RuntimeGrantsReachTheChild) {
    char pattern[] = "/tmp/cordon-backend-XXXXXX";
    const fs::path dir = ::mkdtemp(pattern);
    std::ofstream(dir / "data.txt") << "payload";
    sandbox<process::backend, strict_policy> box{functions()};
    ASSERT_TRUE(box.ok());
    const auto file = bytes_of((dir / "data.txt").string());
    auto before = box.call_bytes("read_file", file);
    EXPECT_TRUE(!before || text_of(*before) == "refused");
    ASSERT_TRUE(box.grant(perm::fs_read{dir.string()}));
    auto after = box.call_bytes("read_file", file);
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(text_of(*after), "read:payload");
    fs::remove_all(dir);
}

TEST(ProcessBackend, AGrantOutsideTheCeilingIsRefused) {
    sandbox<process::backend, strict_policy> box{functions()};
    auto refused = box.grant("net=example.org:80");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::permission_outside_policy);
}

TEST(ProcessBackend, ANativePluginIsLoadedAfterConfinement) {
    sandbox<process::backend, strict_policy> box{process::native_plugin{CORDON_TEST_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    auto reversed = box.call_bytes("reverse", bytes_of("plugin"));
    ASSERT_TRUE(reversed) << reversed.error().message();
    EXPECT_EQ(text_of(*reversed), "nigulp");
    auto secret = box.call_bytes("open_file", bytes_of("/etc/passwd"));
    ASSERT_TRUE(secret) << secret.error().message();
    EXPECT_EQ(text_of(*secret), "refused");
    auto missing = box.call_bytes("no_such_export", {});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
    auto forked = box.call_bytes("fork_child", {});
    ASSERT_FALSE(forked);
    EXPECT_EQ(forked.error().kind(), error_kind::violation);
    EXPECT_EQ(forked.error().info().syscall, "clone");
}

TEST(ProcessBackend, AMissingPluginIsALoadError) {
    sandbox<process::backend, strict_policy> box{process::native_plugin{"/nonexistent/plugin.so"}};
    ASSERT_FALSE(box.ok());
    EXPECT_EQ(box.status().error().kind(), error_kind::load_error);
}

TEST(ProcessBackend, AnExecutableRunsPerCall) {
    sandbox<process::backend, strict_policy> box{process::executable{CORDON_TEST_ATTACKER, {"echo", "arg"}, {}}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    auto out = box.call_bytes("", bytes_of("input"));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(text_of(*out), "arg|input");
    EXPECT_EQ(box.take_stderr(), "err:");
}

TEST(ProcessBackend, TheEnforcementReportNamesTheMechanisms) {
    sandbox<process::backend, strict_policy> box{functions()};
    const auto report = box.enforcement();
    EXPECT_EQ(report.backend, "process");
    ASSERT_NE(report.find(element::syscalls), nullptr);
    EXPECT_NE(report.find(element::syscalls)->mechanism.find("seccomp"), std::string::npos);
    ASSERT_NE(report.find(element::fs), nullptr);
    EXPECT_NE(report.find(element::fs)->mechanism.find("landlock"), std::string::npos);
    ASSERT_NE(report.find(element::memory), nullptr);
    EXPECT_NE(report.find(element::memory)->mechanism.find("cgroup"), std::string::npos);
    ASSERT_NE(report.find(element::namespaces), nullptr);
    EXPECT_NE(report.find(element::namespaces)->mechanism.find("mount"), std::string::npos);
    // Every fact the confinement found stands in the report, under its row of the table.
    const auto facts = process::enforcement_of(process::default_confinement<strict_policy>(functions()));
    for (const auto& fact : facts) {
        EXPECT_NE(find_capability(process::backend::capabilities, fact.element), nullptr) << to_string(fact.element);
        ASSERT_NE(report.find(fact.element), nullptr) << to_string(fact.element);
        EXPECT_EQ(report.find(fact.element)->mechanism, fact.mechanism);
    }
}

namespace {
// Calls the host's functions from the child: one with the sandbox's context, one of no result.
float halve_configured(std::int32_t) {
    if (!process::call_host<void()>("host", "touch")) return -1;
    return process::call_host<float(float)>("host", "halve", 5.0F).value_or(-2);
}
} // namespace

TEST(ProcessBackend, AFunctionPayloadCallsHostFunctionsWithTheContext) {
    int touched = 0;
    sandbox_options options;
    options.config["divisor"] = "2";
    options.functions.push_back(host::function("touch", [&] { ++touched; }));
    options.functions.push_back(host::function("halve", [](host::context& ctx, float x) {
        return x / static_cast<float>(std::stoi(ctx.config.at("divisor")));
    }));
    sandbox<process::backend, strict_policy> box{process::function_table{}.add<&halve_configured>("halve_configured"),
                                                 std::move(options)};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_FLOAT_EQ(box.call<float(std::int32_t)>("halve_configured", 0).value(), 2.5F);
    EXPECT_EQ(touched, 1) << "the host function ran in the host, not in the child's copy";
    EXPECT_EQ(box.telemetry().last_call.host_calls, 2U);
    // Outside a sandboxed call there is no host to ask.
    const auto outside = process::call_host<void()>("host", "touch");
    ASSERT_FALSE(outside);
    EXPECT_EQ(outside.error().kind(), error_kind::unsupported);
}

namespace {

// A custom preset that calls itself "minimal" but requires strict's mechanisms, and one that
// calls itself "maximum" and requires nothing: the level follows the type and the mechanisms,
// never the name.
struct calls_itself_minimal : isolation::strict {
    static constexpr std::string_view name = "minimal";
};
struct calls_itself_maximum : isolation::minimal {
    static constexpr std::string_view name = "maximum";
};

TEST(ProcessBackend, TheLevelFollowsThePresetsTypeNotItsName) {
    EXPECT_EQ(process::level_of(policy<isolation::standard>::spec()), process::isolation_level::standard);
    EXPECT_EQ(process::level_of(policy<isolation::maximum, best_effort>::spec()), process::isolation_level::maximum);
    EXPECT_EQ(process::level_of(policy<calls_itself_minimal>::spec()), process::isolation_level::strict);
    EXPECT_EQ(process::level_of(policy<calls_itself_maximum>::spec()), process::isolation_level::minimal);
}

} // namespace
