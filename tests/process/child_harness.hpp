// Test helper: runs a function in a plain forked child with a report pipe, so the mechanism
// layers can be attacked one at a time before the zygote puts them together.
#pragma once

#include <cordon/process/seccomp.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>

namespace cordon::process::testing {

struct child_outcome {
    int wait_status = 0;
    std::optional<violation_record> violation;

    [[nodiscard]] bool exited() const { return WIFEXITED(wait_status); }
    [[nodiscard]] int exit_code() const { return WEXITSTATUS(wait_status); }
    [[nodiscard]] bool signaled() const { return WIFSIGNALED(wait_status); }
    [[nodiscard]] int signal() const { return WTERMSIG(wait_status); }
};

/// Forks; the child gets the write end of a report pipe and exits with body's return value.
inline child_outcome run_in_child(const std::function<int(int report_fd)>& body) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return {-1, {}};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(pipe_fds[0]);
        ::_exit(body(pipe_fds[1]));
    }
    ::close(pipe_fds[1]);
    child_outcome outcome;
    violation_record record;
    if (::read(pipe_fds[0], &record, sizeof record) == static_cast<ssize_t>(sizeof record) &&
        record.magic == violation_record::expected_magic)
        outcome.violation = record;
    ::close(pipe_fds[0]);
    ::waitpid(pid, &outcome.wait_status, 0);
    return outcome;
}

} // namespace cordon::process::testing
