// A native plugin for the process backend's tests: exports in the bytes-in/bytes-out C
// convention, one of them hostile.
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

std::uint32_t answer(const char* text, std::uint8_t* out, std::uint64_t capacity, std::uint64_t* out_size) {
    const auto n = std::strlen(text);
    if (n > capacity) return 1;
    std::memcpy(out, text, n);
    *out_size = n;
    return 0;
}

} // namespace

extern "C" {

// Opens a socket of the kind the input names (udp, raw, packet, mptcp, tcp); answers "opened"
// or "refused" with the errno. A filter that denies the call ends the plugin before it answers.
std::uint32_t open_socket(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                          std::uint64_t* out_size) {
    const std::string_view kind(reinterpret_cast<const char*>(in), in_size);
    int fd = -1;
    if (kind == "udp") fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    else if (kind == "raw") fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    else if (kind == "packet") fd = ::socket(AF_PACKET, SOCK_RAW, 0);
    else if (kind == "mptcp") fd = ::socket(AF_INET, SOCK_STREAM, 262);  // IPPROTO_MPTCP
    else if (kind == "tcp") fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    char text[64];
    std::snprintf(text, sizeof text, fd >= 0 ? "opened" : "refused:%d", errno);
    return answer(text, out, capacity, out_size);
}

// Connects a TCP socket to 127.0.0.1 at the port the input gives in decimal.
std::uint32_t tcp_connect(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                          std::uint64_t* out_size) {
    unsigned port = 0;
    for (std::uint64_t i = 0; i < in_size; ++i) port = port * 10 + static_cast<unsigned>(in[i] - '0');
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char text[64];
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) std::snprintf(text, sizeof text, "connected");
    else std::snprintf(text, sizeof text, "refused:%d", errno);
    if (fd >= 0) ::close(fd);
    return answer(text, out, capacity, out_size);
}

std::uint32_t reverse(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                      std::uint64_t* out_size) {
    if (in_size > capacity) return 1;
    for (std::uint64_t i = 0; i < in_size; ++i) out[i] = in[in_size - 1 - i];
    *out_size = in_size;
    return 0;
}

// Tries to read a file named by the input; answers "opened" or "refused".
std::uint32_t open_file(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                        std::uint64_t* out_size) {
    char path[256] = {};
    std::memcpy(path, in, in_size < sizeof path - 1 ? in_size : sizeof path - 1);
    return answer(::open(path, O_RDONLY | O_CLOEXEC) >= 0 ? "opened" : "refused", out, capacity, out_size);
}

std::uint32_t fork_child(const std::uint8_t*, std::uint64_t, std::uint8_t*, std::uint64_t, std::uint64_t* out_size) {
    *out_size = 0;
    return ::fork() >= 0 ? 0 : 1;
}
}
