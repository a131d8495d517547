// The call channel between a host and a persistent sandboxed child: a sealed memfd with a
// request and a response area of fixed capacity, and futex wake-ups on sequence counters.
#pragma once

#include <cordon/result.hpp>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

namespace cordon::process {

/// The fixed part of the shared region. Sequence numbers are the futex words: the host bumps
/// request_seq after writing a request; the child bumps response_seq after writing its
/// response; the zygote sets peer_gone and bumps response_seq when the child has died.
struct channel_header {
    std::atomic<std::uint32_t> request_seq{0};
    std::atomic<std::uint32_t> response_seq{0};
    std::atomic<std::uint32_t> peer_gone{0};
    std::uint32_t reserved = 0;
    std::uint64_t entry = 0;           // which function the request calls (an address in the child)
    std::uint64_t request_size = 0;
    std::uint64_t response_size = 0;   // written by the child: untrusted
    std::uint32_t response_status = 0; // 0 ok, else an error_kind, with a message as the response
    std::uint32_t capacity = 0;        // of each area; written by the host before the child exists
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "futex words must be plain 32-bit integers");

namespace detail {

inline long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value, const timespec* timeout) {
    return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, timeout, nullptr, 0);
}

// How long to spin before sleeping on the futex: a persistent child usually answers within a
// few microseconds, and a sleep/wake pair costs more than that on a busy machine.
inline constexpr int spin_iterations = 4000;

inline void cpu_relax() { __builtin_ia32_pause(); }

} // namespace detail

/// Waits until *word differs from `seen` or the timeout passes. Returns the new value, or
/// `seen` on timeout. Never blocks longer than the timeout; spins briefly first.
inline std::uint32_t wait_for_change(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                                     std::chrono::nanoseconds timeout) {
    for (int i = 0; i < detail::spin_iterations; ++i) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        detail::cpu_relax();
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds::zero()) return seen;
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
        const timespec ts{static_cast<time_t>(secs.count()), static_cast<long>((left - secs).count())};
        detail::futex(&word, FUTEX_WAIT, seen, &ts);
    }
}

namespace detail {

// Waits without a timeout, in the child: it never reads a clock (that may be a system call it
// is not allowed), and its supervisor kills it if it must.
inline std::uint32_t wait_for_request(std::atomic<std::uint32_t>& word, std::uint32_t seen) {
    for (int i = 0; i < spin_iterations; ++i) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        cpu_relax();
    }
    for (;;) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        futex(&word, FUTEX_WAIT, seen, nullptr);
    }
}

} // namespace detail

/// Bumps a sequence word and wakes whoever waits on it (in any process sharing the page).
inline void publish(std::atomic<std::uint32_t>& word) {
    word.fetch_add(1, std::memory_order_release);
    detail::futex(&word, FUTEX_WAKE, 1, nullptr);
}

/// A mapping of the shared region. Created by the host; the child and the zygote map the same
/// memfd. The memfd is sealed against shrinking, so no peer can make the others fault.
class channel {
public:
    static constexpr std::uint32_t default_capacity = 1U << 20;

    channel() = default;
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    channel(channel&& other) noexcept { *this = std::move(other); }
    channel& operator=(channel&& other) noexcept {
        if (this != &other) {
            release();
            fd_ = std::exchange(other.fd_, -1);
            base_ = std::exchange(other.base_, nullptr);
            size_ = std::exchange(other.size_, 0);
            capacity_ = std::exchange(other.capacity_, 0);
        }
        return *this;
    }
    ~channel() { release(); }

    /// A new region with two areas of `capacity` bytes each.
    static result<channel> create(std::uint32_t capacity = default_capacity) {
        channel ch;
        ch.fd_ = ::memfd_create("cordon-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (ch.fd_ < 0) return fail(error_kind::internal, std::string("memfd_create: ") + std::strerror(errno));
        ch.size_ = sizeof(channel_header) + 2 * static_cast<std::size_t>(capacity);
        if (::ftruncate(ch.fd_, static_cast<off_t>(ch.size_)) != 0 ||
            ::fcntl(ch.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
            return fail(error_kind::internal, std::string("sizing the channel: ") + std::strerror(errno));
        if (auto mapped = ch.map(); !mapped) return mapped.error();
        ch.header().capacity = capacity;
        ch.capacity_ = capacity;
        return ch;
    }

    /// Maps a region received from its creator; checks its size against the claimed capacity.
    static result<channel> attach(int fd) {
        channel ch;
        ch.fd_ = fd;
        const off_t end = ::lseek(fd, 0, SEEK_END);
        if (end < static_cast<off_t>(sizeof(channel_header)))
            return fail(error_kind::internal, "channel memfd too small");
        ch.size_ = static_cast<std::size_t>(end);
        if (auto mapped = ch.map(); !mapped) return mapped.error();
        if (sizeof(channel_header) + 2 * static_cast<std::size_t>(ch.header().capacity) != ch.size_)
            return fail(error_kind::internal, "channel capacity does not match its size");
        ch.capacity_ = ch.header().capacity;
        return ch;
    }

    [[nodiscard]] int fd() const { return fd_; }
    /// Drops the descriptor, keeping the mapping (the child does this before confinement).
    void close_fd() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    [[nodiscard]] channel_header& header() const { return *static_cast<channel_header*>(base_); }
    /// Kept privately at creation: a peer may scribble on the header, never on this.
    [[nodiscard]] std::uint32_t capacity() const { return capacity_; }
    [[nodiscard]] std::span<std::byte> request_area() const {
        return {static_cast<std::byte*>(base_) + sizeof(channel_header), capacity()};
    }
    [[nodiscard]] std::span<std::byte> response_area() const {
        return {static_cast<std::byte*>(base_) + sizeof(channel_header) + capacity(), capacity()};
    }

private:
    result<void> map() {
        base_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (base_ == MAP_FAILED) {
            base_ = nullptr;
            return fail(error_kind::internal, std::string("mmap channel: ") + std::strerror(errno));
        }
        return {};
    }
    void release() {
        if (base_ != nullptr) ::munmap(base_, size_);
        if (fd_ >= 0) ::close(fd_);
        base_ = nullptr;
        fd_ = -1;
    }

    int fd_ = -1;
    void* base_ = nullptr;
    std::size_t size_ = 0;
    std::uint32_t capacity_ = 0;
};

} // namespace cordon::process
