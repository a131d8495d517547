// The host's watch over one sandboxed child, shared by the persistent child and the executable
// run: its clocks, when to look at them again, killing its tree, and the zygote's record of its end.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/process/zygote.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

namespace cordon::process {

namespace detail {

inline std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

inline void kill_child(const spawned_child& child) {
    ::syscall(SYS_pidfd_send_signal, child.pidfd.get(), SIGKILL, nullptr, 0);
}

// Reads the zygote's exit record; waits at most `timeout_ms` (the child has been killed or
// has died, so the record is imminent).
inline std::optional<exit_record> read_exit_record(const spawned_child& child, int timeout_ms) {
    pollfd watched{child.status.get(), POLLIN, 0};
    if (::poll(&watched, 1, timeout_ms) <= 0) return std::nullopt;
    std::byte bytes[sizeof(exit_record)];
    if (::read(child.status.get(), bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
    return decode_exit_record(bytes);
}

// The one child of a process, from /proc; -1 if it has none or several.
inline pid_t only_child_of(pid_t parent) {
    const std::string path = "/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char text[64] = {};
    const auto n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (n <= 0) return -1;
    char* end = nullptr;
    const long pid = std::strtol(text, &end, 10);
    while (end != nullptr && *end == ' ') ++end;
    return pid > 0 && end != nullptr && (*end == '\0' || *end == '\n') ? static_cast<pid_t>(pid) : -1;
}

// CPU time the child (and, with a cgroup, its whole tree) has used so far.
inline std::uint64_t child_cpu_ns(const spawned_child& child) {
    if (!child.cpu_accounting.empty()) return cgroup_cpu_ns(child.cpu_accounting);
    clockid_t clock{};
    timespec ts{};
    if (::clock_getcpuclockid(child.measured, &clock) != 0 || ::clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// How long to wait before looking at the clocks again: the remaining wall time, or the time
// in which the remaining CPU budget could be spent on every core, whichever is sooner.
inline std::chrono::nanoseconds next_check(std::uint64_t wall_limit_ns, std::uint64_t wall_used_ns,
                                           std::uint64_t cpu_limit_ns, std::uint64_t cpu_used_ns) {
    const std::uint64_t wall_left_ns = wall_used_ns < wall_limit_ns ? wall_limit_ns - wall_used_ns : 0;
    const std::uint64_t cpu_left_ns = cpu_used_ns < cpu_limit_ns ? cpu_limit_ns - cpu_used_ns : 0;
    constexpr std::uint64_t floor_ns = 200000;      // checking more often than this costs more than it saves
    constexpr std::uint64_t ceiling_ns = 1000000000;
    static const std::uint64_t cores = std::max(1U, std::thread::hardware_concurrency());
    std::uint64_t wait = std::min({wall_left_ns, cpu_left_ns / cores, ceiling_ns});
    return std::chrono::nanoseconds(std::max(wait, floor_ns));
}

inline constexpr int exit_record_timeout_ms = 5000;

} // namespace detail

} // namespace cordon::process
