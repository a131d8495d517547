// Attacks on a port-scoped net grant, through the facade with a function payload and a native
// plugin: only TCP streams are made, only to the granted port, and every other socket kind is
// a violation named by its system call.
#include <cordon/process/backend.hpp>
#include <cordon/sandbox.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace {
using namespace cordon;

// A TCP listener on a free loopback port of the host, for the guest to reach or be refused.
class loopback_listener {
public:
    loopback_listener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof addr;
        if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), size) == 0 && ::listen(fd_, 8) == 0 &&
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) == 0)
            port_ = ntohs(addr.sin_port);
    }
    loopback_listener(const loopback_listener&) = delete;
    loopback_listener& operator=(const loopback_listener&) = delete;
    ~loopback_listener() {
        if (fd_ >= 0) ::close(fd_);
    }
    std::int32_t port() const { return port_; }

private:
    int fd_;
    std::int32_t port_ = 0;
};

sockaddr_in loopback(std::int32_t port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
}

// Each returns 0 or more on success and -errno on a refusal the guest sees; a violation ends
// the call before it returns.
std::int32_t result_of(long rc) { return rc >= 0 ? 0 : -errno; }
std::int32_t udp_send(std::int32_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -errno;
    const auto to = loopback(port);
    return result_of(::sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to));
}
std::int32_t raw_socket(std::int32_t) { return result_of(::socket(AF_INET, SOCK_RAW, IPPROTO_UDP)); }
std::int32_t packet_socket(std::int32_t) { return result_of(::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))); }
std::int32_t mptcp_socket(std::int32_t) { return result_of(::socket(AF_INET, SOCK_STREAM, 262)); }  // IPPROTO_MPTCP
std::int32_t tcp_connect(std::int32_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const auto to = loopback(port);
    const auto rc = result_of(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to));
    ::close(fd);
    return rc;
}
// TCP fast open connects inside sendto, past the connect() that landlock's port rules check.
std::int32_t fast_open(std::int32_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const auto to = loopback(port);
    return result_of(::sendto(fd, "x", 1, MSG_FASTOPEN, reinterpret_cast<const sockaddr*>(&to), sizeof to));
}
// listen() on an unbound socket binds it to a free port without a bind() for landlock to see.
std::int32_t listen_anywhere(std::int32_t) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : result_of(::listen(fd, 1));
}

// How many descriptors of the child are datagram sockets (SO_TYPE answers only for sockets);
// -1 if it sees no socket at all, not even the sandbox's own control socket.
std::int32_t datagram_descriptors(std::int32_t) {
    std::int32_t sockets = 0, datagrams = 0;
    for (int fd = 0; fd < 1100; ++fd) {
        int type = 0;
        socklen_t size = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0) continue;
        ++sockets;
        if (type == SOCK_DGRAM) ++datagrams;
    }
    return sockets == 0 ? -1 : datagrams;
}

process::function_table net_functions() {
    return process::function_table{}
        .add<&udp_send>("udp_send")
        .add<&raw_socket>("raw_socket")
        .add<&packet_socket>("packet_socket")
        .add<&mptcp_socket>("mptcp_socket")
        .add<&tcp_connect>("tcp_connect")
        .add<&fast_open>("fast_open")
        .add<&listen_anywhere>("listen_anywhere")
        .add<&datagram_descriptors>("datagram_descriptors");
}

std::vector<std::byte> bytes_of(std::string_view text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}
std::string text_of(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

template <class Box> void expect_violation(Box& box, const char* export_name, std::int32_t port, const char* syscall) {
    const auto before = box.violations().size();
    auto outcome = box.template call<std::int32_t(std::int32_t)>(export_name, port);
    ASSERT_FALSE(outcome) << export_name << " answered " << *outcome;
    EXPECT_EQ(outcome.error().kind(), error_kind::violation) << export_name;
    EXPECT_EQ(outcome.error().info().syscall, syscall) << export_name;
    ASSERT_EQ(box.violations().size(), before + 1) << export_name;
    EXPECT_EQ(box.violations().back().info().syscall, syscall) << export_name;
}

} // namespace

TEST(ScopedNet, AFunctionPayloadReachesOnlyTheGrantedPortOverTcp) {
    loopback_listener granted, other;
    ASSERT_NE(granted.port(), 0);
    ASSERT_NE(other.port(), 0);
    sandbox<process::backend, policy<isolation::standard>> box{net_functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.grant(perm::net{"*:" + std::to_string(granted.port())}));

    auto reached = box.call<std::int32_t(std::int32_t)>("tcp_connect", granted.port());
    ASSERT_TRUE(reached) << reached.error().message();
    EXPECT_EQ(*reached, 0) << "TCP to the granted port";
    auto refused = box.call<std::int32_t(std::int32_t)>("tcp_connect", other.port());
    ASSERT_TRUE(refused) << refused.error().message();
    EXPECT_EQ(*refused, -EACCES) << "TCP to another port";

    expect_violation(box, "udp_send", other.port(), "socket");
    expect_violation(box, "raw_socket", 0, "socket");
    expect_violation(box, "packet_socket", 0, "socket");
    expect_violation(box, "mptcp_socket", 0, "socket");
    expect_violation(box, "fast_open", other.port(), "sendto");
    expect_violation(box, "listen_anywhere", 0, "listen");
    EXPECT_TRUE(box.violations().size() == 6U);
}

// At minimal there is no landlock and no user namespace: the filter alone keeps a scoped grant
// to TCP, and the report says the ports are not filtered.
TEST(ScopedNet, AtMinimalTheFilterStillRefusesEveryOtherSocketKind) {
    loopback_listener listener;
    ASSERT_NE(listener.port(), 0);
    sandbox<process::backend, policy<isolation::minimal, allow<perm::net>>> box{net_functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.revoke("net"));
    ASSERT_TRUE(box.grant(perm::net{"*:" + std::to_string(listener.port())}));
    auto reached = box.call<std::int32_t(std::int32_t)>("tcp_connect", listener.port());
    ASSERT_TRUE(reached) << reached.error().message();
    EXPECT_EQ(*reached, 0);
    expect_violation(box, "udp_send", listener.port(), "socket");
    expect_violation(box, "raw_socket", 0, "socket");
    expect_violation(box, "packet_socket", 0, "socket");
    const auto report = box.enforcement();
    ASSERT_NE(report.find("net"), nullptr);
    EXPECT_NE(report.find("net")->mechanism.find("not filtered at level minimal"), std::string::npos)
        << report.find("net")->mechanism;
}

TEST(ScopedNet, ANativePluginIsHeldToTheSameRules) {
    loopback_listener granted, other;
    ASSERT_NE(granted.port(), 0);
    ASSERT_NE(other.port(), 0);
    sandbox<process::backend, policy<isolation::standard>> box{process::native_plugin{CORDON_TEST_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.grant(perm::net{"*:" + std::to_string(granted.port())}));

    auto opened = box.call_bytes("open_socket", bytes_of("tcp"));
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(text_of(*opened), "opened") << "an IPv6 TCP socket with CLOEXEC and NONBLOCK";
    auto reached = box.call_bytes("tcp_connect", bytes_of(std::to_string(granted.port())));
    ASSERT_TRUE(reached) << reached.error().message();
    EXPECT_EQ(text_of(*reached), "connected");
    auto refused = box.call_bytes("tcp_connect", bytes_of(std::to_string(other.port())));
    ASSERT_TRUE(refused) << refused.error().message();
    EXPECT_EQ(text_of(*refused), "refused:" + std::to_string(EACCES));

    for (const char* kind : {"udp", "raw", "packet", "mptcp"}) {
        auto outcome = box.call_bytes("open_socket", bytes_of(kind));
        ASSERT_FALSE(outcome) << kind << " answered " << text_of(*outcome);
        EXPECT_EQ(outcome.error().kind(), error_kind::violation) << kind;
        EXPECT_EQ(outcome.error().info().syscall, "socket") << kind;
    }
    EXPECT_EQ(box.violations().size(), 4U);
}

// Without ports the grant is every IP endpoint: datagrams pass, as documented.
TEST(ScopedNet, AnUnscopedGrantKeepsDatagrams) {
    sandbox<process::backend, policy<isolation::standard>> box{net_functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.grant(perm::net{}));
    loopback_listener listener;
    auto sent = box.call<std::int32_t(std::int32_t)>("udp_send", listener.port());
    ASSERT_TRUE(sent) << sent.error().message();
    EXPECT_EQ(*sent, 0);
    expect_violation(box, "packet_socket", 0, "socket");
}

TEST(ScopedNet, TheReportSaysHostsAreNotFiltered) {
    sandbox<process::backend, policy<isolation::standard>> box{net_functions()};
    ASSERT_TRUE(box.grant(perm::net{"db.local:5432"}));
    const auto report = box.enforcement();
    ASSERT_NE(report.find("net"), nullptr);
    const auto& line = report.find("net")->mechanism;
    EXPECT_NE(line.find("TCP stream sockets only"), std::string::npos) << line;
    EXPECT_NE(line.find("hosts not filtered"), std::string::npos) << line;
    EXPECT_EQ(line.find("UDP not filtered"), std::string::npos) << line;
}

// A datagram socket the host holds (not close-on-exec) does not reach the child, where a
// scoped grant could no longer refuse it.
TEST(ScopedNet, NoHostSocketReachesTheChild) {
    const int host_socket = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(host_socket, 0);
    sandbox<process::backend, policy<isolation::standard>> box{net_functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    ASSERT_TRUE(box.grant(perm::net{"*:443"}));
    auto found = box.call<std::int32_t(std::int32_t)>("datagram_descriptors", 0);
    ::close(host_socket);
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(*found, 0);
}
