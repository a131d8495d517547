// fmt output of errors, policies, telemetry and enforcement reports.
#include <cordon/cordon.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace {
using namespace cordon;

TEST(Format, ErrorsSayKindMessageAndDetails) {
    error_info info{"cpu_time limit 500 ms exceeded in fib"};
    info.backtrace = {{"fib"}, {"main"}};
    EXPECT_EQ(fmt::format("{}", error{error_kind::cpu_limit, info}),
              "cpu_limit: cpu_time limit 500 ms exceeded in fib (backtrace: fib <- main)");
    error_info sys{"syscall not allowed"};
    sys.syscall = "ptrace";
    sys.syscall_number = 101;
    EXPECT_EQ(fmt::format("{}", error{error_kind::violation, sys}), "violation: syscall not allowed (syscall ptrace #101)");
    EXPECT_EQ(fmt::format("{}", error_kind::fuel_exhausted), "fuel_exhausted");
}

TEST(Format, PolicyPrintsAsAReadableList) {
    using p = policy<isolation::strict, allow<perm::fs_read::under<"/srv">, perm::clock>, limit::cpu_time_ms<500>>;
    EXPECT_EQ(fmt::format("{}", p{}),
              "policy(strict; ceiling: fs.read, fs.write, clock, random; granted: fs.read=/srv, clock; "
              "limits: memory 64 MiB, cpu_time 500 ms, wall_time 5 s, open_files 16, processes 1)");
    using q = policy<isolation::maximum, best_effort>;
    EXPECT_EQ(fmt::format("{}", q{}),
              "policy(maximum; ceiling: nothing; granted: nothing; limits: memory 16 MiB, cpu_time 1 s, "
              "wall_time 2 s, open_files 4; best effort)");
    using r = policy<isolation::standard, ceiling<perm::fs_read::under<"/a">, perm::fs_read::under<"/b">>>;
    EXPECT_NE(fmt::format("{}", r{}).find("fs.read within {/a, /b}"), std::string::npos);
}

TEST(Format, TelemetryAndReport) {
    telemetry t;
    t.last_call.calls = 1;
    t.last_call.wall_ns = 1'500'000;
    t.last_call.fuel = 42;
    t.total = t.last_call;
    EXPECT_EQ(fmt::format("{}", t.last_call), "calls 1 wall 1.500 ms cpu 0.000 ms fuel 42 host calls 0 violations 0");
    enforcement_report report{"process", {}};
    report.add(element::memory, "cgroup v1 memory.limit_in_bytes");
    report.add(element::fs, "landlock ABI 7", enforcement_level::best_effort);
    EXPECT_EQ(fmt::format("{}", report),
              "enforcement (process):\n  memory:          cgroup v1 memory.limit_in_bytes\n  fs:              landlock ABI 7 [best effort]");
}

} // namespace
