// Owned file descriptors and descriptor passing over unix sockets (SCM_RIGHTS), used between
// the host, the zygote and sandboxed children.
#pragma once

#include <cordon/detail/unique_fd.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

namespace cordon::process {

using cordon::detail::unique_fd;

/// The most descriptors one message carries.
inline constexpr std::size_t max_passed_fds = 8;

/// Sends one message with descriptors attached. Never raises SIGPIPE.
inline bool send_with_fds(int socket, std::span<const std::byte> bytes, std::span<const int> fds) {
    iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_passed_fds)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        if (fds.size() > max_passed_fds) return false;
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* header = CMSG_FIRSTHDR(&msg);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
    }
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

/// One received message: its bytes (empty at end of stream), the descriptors that came with it.
struct received_message {
    std::vector<std::byte> bytes;
    std::vector<unique_fd> fds;
    bool ok = false;  // false on error or end of stream
};

/// Receives one message of at most `capacity` bytes; a longer one is refused (truncated
/// messages are never acted on).
inline received_message receive_with_fds(int socket, std::size_t capacity) {
    received_message out;
    out.bytes.resize(capacity);
    iovec iov{out.bytes.data(), out.bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_passed_fds)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    for (cmsghdr* header = CMSG_FIRSTHDR(&msg); n >= 0 && header != nullptr; header = CMSG_NXTHDR(&msg, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
            out.fds.emplace_back(fd);
        }
    }
    if (n <= 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        out.bytes.clear();
        return out;
    }
    out.bytes.resize(static_cast<std::size_t>(n));
    out.ok = true;
    return out;
}

} // namespace cordon::process
