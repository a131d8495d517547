// Attacks on the landlock layer: reads outside the scope, writes into a read-only grant, `..`
// and symlink escapes, a TCP connect to a host listener, the host's abstract unix socket.
#include "child_harness.hpp"

#include <cordon/process/landlock.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cp = cordon::process;
namespace fs = std::filesystem;
using cp::testing::run_in_child;

namespace {

class LandlockTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (cp::landlock_abi() < 1) GTEST_SKIP() << "landlock unavailable";
        char pattern[] = "/tmp/cordon-landlock-XXXXXX";
        root_ = ::mkdtemp(pattern);
        fs::create_directories(root_ / "granted" / "sub");
        fs::create_directories(root_ / "outside");
        std::ofstream(root_ / "granted" / "sub" / "inside.txt") << "inside";
        std::ofstream(root_ / "outside" / "secret.txt") << "secret";
        fs::create_symlink(root_ / "outside" / "secret.txt", root_ / "granted" / "link-out");
    }
    void TearDown() override {
        if (!root_.empty()) fs::remove_all(root_);
    }
    // The child's exit code: 0 when the attempted open succeeded, else its errno.
    int open_in_child(const cp::landlock_rules& rules, const fs::path& target, int flags) {
        auto outcome = run_in_child([&](int) {
            if (!cp::apply_landlock(rules)) return 100;
            const int fd = ::open(target.c_str(), flags | O_CLOEXEC, 0600);
            return fd >= 0 ? 0 : errno;
        });
        return outcome.exited() ? outcome.exit_code() : -1;
    }
    fs::path root_;
};

} // namespace

TEST_F(LandlockTest, ReadsInsideTheScopeWorkAndOutsideAreDenied) {
    cp::landlock_rules rules;
    rules.read_paths = {(root_ / "granted").string()};
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "sub" / "inside.txt", O_RDONLY), 0);
    EXPECT_EQ(open_in_child(rules, root_ / "outside" / "secret.txt", O_RDONLY), EACCES);
    EXPECT_EQ(open_in_child(rules, "/etc/passwd", O_RDONLY), EACCES);
}

TEST_F(LandlockTest, DotDotAndSymlinkEscapesAreDenied) {
    cp::landlock_rules rules;
    rules.read_paths = {(root_ / "granted").string()};
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / ".." / "outside" / "secret.txt", O_RDONLY), EACCES);
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "sub" / ".." / ".." / "outside" / "secret.txt", O_RDONLY),
              EACCES);
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "link-out", O_RDONLY), EACCES);
}

TEST_F(LandlockTest, WritesIntoAReadOnlyGrantAreDenied) {
    cp::landlock_rules rules;
    rules.read_paths = {(root_ / "granted").string()};
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "sub" / "inside.txt", O_WRONLY), EACCES);
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "new.txt", O_WRONLY | O_CREAT), EACCES);
    EXPECT_FALSE(fs::exists(root_ / "granted" / "new.txt"));

    rules.write_paths = {(root_ / "granted" / "sub").string()};
    EXPECT_EQ(open_in_child(rules, root_ / "granted" / "sub" / "new.txt", O_WRONLY | O_CREAT), 0);
    EXPECT_TRUE(fs::exists(root_ / "granted" / "sub" / "new.txt"));
}

TEST_F(LandlockTest, AMissingGrantedPathIsAClearError) {
    cp::landlock_rules rules;
    rules.read_paths = {(root_ / "missing").string()};
    auto outcome = run_in_child([&](int) {
        auto applied = cp::apply_landlock(rules);
        return !applied && applied.error().kind() == cordon::error_kind::invalid_argument ? 0 : 1;
    });
    EXPECT_EQ(outcome.exit_code(), 0);
}

TEST_F(LandlockTest, TcpConnectToAHostListenerIsDeniedWithoutItsPort) {
    if (cp::landlock_abi() < 4) GTEST_SKIP() << "landlock TCP rules need ABI 4";
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

    auto connect_with = [&](cp::landlock_rules rules) {
        return run_in_child([&](int) {
                   if (!cp::apply_landlock(rules)) return 100;
                   const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                   return ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
               }).exit_code();
    };
    cp::landlock_rules rules;
    rules.restrict_tcp = true;
    EXPECT_EQ(connect_with(rules), EACCES);
    rules.connect_ports = {ntohs(addr.sin_port)};
    EXPECT_EQ(connect_with(rules), 0);
    ::close(listener);
}

TEST_F(LandlockTest, TheHostsAbstractUnixSocketIsOutOfReach) {
    if (cp::landlock_abi() < 6) GTEST_SKIP() << "scoping needs ABI 6";
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const char name[] = "\0cordon-landlock-test";
    std::memcpy(addr.sun_path, name, sizeof name);
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sizeof name - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), addr_len), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    auto outcome = run_in_child([&](int) {
        if (!cp::apply_landlock({})) return 100;
        const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return ::connect(s, reinterpret_cast<sockaddr*>(&addr), addr_len) == 0 ? 0 : errno;
    });
    EXPECT_EQ(outcome.exit_code(), EPERM);
    ::close(listener);
}

TEST_F(LandlockTest, SignalsToTheParentAreDenied) {
    if (cp::landlock_abi() < 6) GTEST_SKIP() << "scoping needs ABI 6";
    auto outcome = run_in_child([&](int) {
        if (!cp::apply_landlock({})) return 100;
        return ::kill(::getppid(), SIGTERM) == 0 ? 0 : errno;
    });
    EXPECT_EQ(outcome.exit_code(), EPERM);
}
