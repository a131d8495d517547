// Telemetry read from another thread while calls end: every copy is one consistent moment, the
// counters and the maps by name agree, and totals only grow. end_call publishes the counters
// without a lock, so this is what holds that publication to account (run it under TSan too).
#include <cordon/host/context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <numeric>
#include <thread>

namespace {
using namespace cordon;

std::uint64_t sum_by_name(const usage& u) {
    return std::accumulate(u.host_calls_by_name.begin(), u.host_calls_by_name.end(), std::uint64_t{0},
                           [](std::uint64_t s, const auto& entry) { return s + entry.second; });
}

// Call i uses i + 1 ns of wall time, 3 * (i + 1) ns of CPU, 7 units of fuel and i bytes of
// peak memory; every third call makes two host calls by name, every fifth fails.
void run_call(host::context& ctx, std::uint64_t i) {
    ctx.begin_call();
    if (i % 3 == 0) {
        ctx.count_host_call("clock_now");
        ctx.count_host_call("log");
    }
    usage measured;
    measured.wall_ns = i + 1;
    measured.cpu_ns = 3 * (i + 1);
    measured.fuel = 7;
    measured.peak_memory_bytes = i;
    (void)ctx.end_call(measured, i % 5 == 0);
}

TEST(Telemetry, ReadersOnOtherThreadsSeeWholeCallsAndAgreeingTotals) {
    host::owned_context ctx{policy_spec{}};
    constexpr std::uint64_t calls = 200'000;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> reads{0};
    std::atomic<std::uint64_t> torn{0};

    auto reader = [&] {
        std::uint64_t seen_calls = 0;
        while (!done.load(std::memory_order_acquire)) {
            const telemetry t = ctx->telemetry();
            const usage& last = t.last_call;
            const usage& total = t.total;
            const std::uint64_t n = total.calls;
            bool whole = total.fuel == 7 * n && total.cpu_ns == 3 * total.wall_ns &&
                         total.wall_ns == n * (n + 1) / 2 && total.host_calls == sum_by_name(total) &&
                         total.host_calls == 2 * ((n + 2) / 3) && total.errors == (n + 4) / 5;
            if (n > 0) {
                const std::uint64_t i = n - 1;  // the last call's number
                whole = whole && last.calls == 1 && last.wall_ns == i + 1 && last.cpu_ns == 3 * (i + 1) &&
                        last.fuel == 7 && last.peak_memory_bytes == i && total.peak_memory_bytes == i &&
                        last.host_calls == (i % 3 == 0 ? 2u : 0u) && last.host_calls == sum_by_name(last) &&
                        last.errors == (i % 5 == 0 ? 1u : 0u);
            }
            if (!whole || n < seen_calls) torn.fetch_add(1, std::memory_order_relaxed);
            seen_calls = n;
            reads.fetch_add(1, std::memory_order_relaxed);
        }
    };
    std::thread first{reader}, second{reader};
    for (std::uint64_t i = 0; i < calls; ++i) run_call(*ctx, i);
    // Let the readers see the finished totals at least once each.
    const std::uint64_t reads_before_the_end = reads.load(std::memory_order_relaxed);
    while (reads.load(std::memory_order_relaxed) < reads_before_the_end + 4) std::this_thread::yield();
    done.store(true, std::memory_order_release);
    first.join();
    second.join();

    EXPECT_EQ(torn.load(), 0u) << "of " << reads.load() << " reads";
    const telemetry t = ctx->telemetry();
    EXPECT_EQ(t.total.calls, calls);
    EXPECT_EQ(t.total.fuel, 7 * calls);
    EXPECT_EQ(t.total.host_calls_by_name.at("clock_now"), (calls + 2) / 3);
    EXPECT_EQ(t.total.host_calls_by_name.at("log"), (calls + 2) / 3);
    EXPECT_TRUE(t.last_call.host_calls_by_name.empty()) << "call " << calls - 1 << " made no host call";
    EXPECT_EQ(t.total.peak_memory_bytes, calls - 1);
}

TEST(Telemetry, RestartsAreCountedBesideTheCalls) {
    host::owned_context ctx{policy_spec{}};
    ctx->count_restart();
    ctx->count_restart();
    run_call(*ctx, 1);
    const telemetry t = ctx->telemetry();
    EXPECT_EQ(t.restarts, 2u);
    EXPECT_EQ(t.total.calls, 1u);
    EXPECT_TRUE(t.last_call.host_calls_by_name.empty());
}

} // namespace
