// The zygote's contract: it is never forked from a multithreaded host, and it takes its
// children with it when the host goes away.
#include <cordon/process/confinement.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/process/zygote.hpp>

#include "../common/sanitizers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

namespace cp = cordon::process;

namespace {

// True while the process exists and is not a zombie.
bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return false;
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (!running(pid)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// ThreadSanitizer's runtime starts a thread of its own once a program has made one, and keeps it:
// under it no host is single-threaded again, so the zygote's own rule refuses to start.
#define SKIP_UNDER_TSAN()                          \
    if (cordon::testing::under_thread_sanitizer) \
    GTEST_SKIP() << "ThreadSanitizer keeps a thread of its own: no host here is single-threaded"

} // namespace

// Runs first (tests run in declaration order): no zygote exists yet in this process.
TEST(Zygote, AMultithreadedHostWithoutAZygoteGetsAClearError) {
    SKIP_UNDER_TSAN();
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    auto started = cp::zygote::start();
    auto lazily = cp::zygote::get();
    stop = true;
    busy.join();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().kind(), cordon::error_kind::unsupported);
    EXPECT_NE(started.error().message().find("zygote::start()"), std::string::npos);
    ASSERT_FALSE(lazily);
    EXPECT_EQ(lazily.error().kind(), cordon::error_kind::unsupported);
    // Single-threaded again: now it may start.
    EXPECT_TRUE(cp::zygote::get());
}

TEST(Zygote, TheZygoteAndItsChildrenDieWithTheHost) {
    SKIP_UNDER_TSAN();
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    const pid_t host = ::fork();
    if (host == 0) {
        // A fresh host: its own zygote, one persistent child, then an abrupt end.
        ::close(report[0]);
        if (!cp::zygote::start()) ::_exit(1);
        auto setup = cp::make_confinement(cp::isolation_level::strict, {}, {}, cp::payload_kind::function);
        auto child = cp::persistent_child::start(setup, {});
        if (!child) ::_exit(2);
        auto zygote = cp::zygote::get();
        const pid_t pids[2] = {(*zygote)->pid(), child->pid()};
        [[maybe_unused]] auto written = ::write(report[1], pids, sizeof pids);
        ::_exit(0);
    }
    ::close(report[1]);
    pid_t pids[2] = {0, 0};
    ASSERT_EQ(::read(report[0], pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
    ::close(report[0]);
    int status = 0;
    ::waitpid(host, &status, 0);
    EXPECT_TRUE(gone_within(pids[0], std::chrono::seconds(3))) << "zygote " << pids[0];
    EXPECT_TRUE(gone_within(pids[1], std::chrono::seconds(3))) << "child " << pids[1];
}
