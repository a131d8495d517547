// Runs one program of the compiled engine's toolchain (wasm2c, the C compiler) bounded by a
// deadline and an address-space cap, in a process group of its own that is killed whole.
#pragma once

#include <cordon/result.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace cordon::wasm::compiled_toolchain {

/// What a compile may spend: the sandbox's wall time and an address-space cap for each program
/// of the toolchain (the compiler's children inherit it).
struct tool_budget {
    std::optional<std::chrono::steady_clock::time_point> deadline{};
    std::uint64_t address_space_bytes = 0;  // 0: no cap
};

/// How a program ended.
struct tool_exit {
    int status = 0;          // the exit code, or 128 + the signal that ended it
    bool timed_out = false;  // killed, with its process group, at the deadline
    [[nodiscard]] bool ok() const noexcept { return !timed_out && status == 0; }
};

namespace detail {

/// The program `name` would be run as, searched on PATH as a shell does; empty if none.
inline std::string resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string{};
    const char* path = std::getenv("PATH");
    std::string_view dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!dirs.empty()) {
        const std::size_t colon = dirs.find(':');
        std::string dir{dirs.substr(0, colon)};
        dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
        const std::string candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

/// Waits until `pid` has exited or the deadline passed, without reaping it (so that its process
/// group id stays reserved until the group has been killed). True if it exited.
inline bool wait_exited(pid_t pid, const std::optional<std::chrono::steady_clock::time_point>& deadline) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    for (;;) {
        siginfo_t info{};
        const int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (waited == 0 && info.si_pid == pid) break;
        if (waited != 0 && errno == ECHILD) break;  // reaped by someone else (SIGCHLD ignored): gone
        int wait_ms = -1;
        if (deadline) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                if (pidfd >= 0) ::close(pidfd);
                return false;
            }
            wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
        }
        if (pidfd >= 0) {
            pollfd readable{pidfd, POLLIN, 0};
            ::poll(&readable, 1, wait_ms);
        } else {
            // No pidfd (kernel before 5.3): look again shortly.
            const timespec pause{0, 2'000'000};
            ::nanosleep(&pause, nullptr);
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    return true;
}

} // namespace detail

/// Runs `argv` with its output (stdout and stderr) appended to `log`, stdin empty, in its own
/// process group, with every descriptor of the host closed. At the deadline the whole group is
/// killed (the C compiler's cc1, as and ld with it); the group is killed when the program ends,
/// too, so nothing it started outlives it.
inline result<tool_exit> run_tool(const std::vector<std::string>& argv, const std::filesystem::path& log, const tool_budget& budget) {
    const std::string program = detail::resolve_program(argv.at(0));
    if (program.empty())
        return fail(error_kind::unsupported, "cannot run " + argv[0] +
                                                 ": not found (the compiled engine needs wasm2c and a C compiler; the "
                                                 "interpreter engine needs neither)");
    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2] = {-1, -1};  // the child writes errno here if exec fails
    if (log_fd < 0 || null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        const int why = errno;
        for (int fd : {log_fd, null_fd, report[0], report[1]})
            if (fd >= 0) ::close(fd);
        return fail(error_kind::internal, "cannot prepare to run " + argv[0] + ": " + std::strerror(why));
    }
    const rlimit address_space{budget.address_space_bytes, budget.address_space_bytes};
    const rlimit no_core{0, 0};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (budget.address_space_bytes) ::setrlimit(RLIMIT_AS, &address_space);
        ::setrlimit(RLIMIT_CORE, &no_core);
        if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 || ::dup2(log_fd, STDERR_FILENO) < 0) ::_exit(127);
        ::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC: the report pipe lives until exec */);
        ::execve(program.c_str(), args.data(), environ);
        const int why = errno;
        [[maybe_unused]] const ssize_t written = ::write(report[1], &why, sizeof why);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(log_fd);
    ::close(null_fd);
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        return fail(error_kind::internal, "cannot run " + argv[0] + ": fork: " + std::strerror(fork_errno));
    }
    ::setpgid(pid, pid);  // also from here, so the group exists before it may be killed
    const bool exited = detail::wait_exited(pid, budget.deadline);
    ::kill(-pid, SIGKILL);  // the leader is not reaped yet, so the group id is still its own
    int status = 0;
    pid_t reaped = -1;
    while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    int exec_errno = 0;
    const ssize_t got = ::read(report[0], &exec_errno, sizeof exec_errno);
    ::close(report[0]);
    if (got == static_cast<ssize_t>(sizeof exec_errno))
        return fail(error_kind::unsupported, "cannot run " + argv[0] + ": " + std::strerror(exec_errno));
    if (reaped != pid)
        return fail(error_kind::internal, "cannot learn how " + argv[0] +
                                              " ended: its status was taken by another waiter (is SIGCHLD ignored?)");
    tool_exit out;
    out.timed_out = !exited;
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return out;
}

/// Says how a program that failed ended, for an error message.
inline std::string describe_exit(const tool_exit& exit) {
    if (exit.timed_out) return "stopped at the deadline";
    if (exit.status > 128) {
        const char* name = ::strsignal(exit.status - 128);
        return "killed by signal " + std::to_string(exit.status - 128) + (name ? std::string(" (") + name + ")" : "");
    }
    return "exit status " + std::to_string(exit.status);
}

/// Whether a program's output says it ran out of memory (its address-space cap). Under a cap, the
/// C compiler's passes also die of a fault when a mapping they need is refused, which the driver
/// reports as a program terminated by a signal.
inline bool ran_out_of_memory(std::string_view output) {
    for (std::string_view sign : {"out of memory", "memory exhausted", "Cannot allocate memory", "std::bad_alloc",
                                  "signal terminated program"})
        if (output.find(sign) != std::string_view::npos) return true;
    return false;
}

} // namespace cordon::wasm::compiled_toolchain
