// An executable run in a sandbox: arguments, environment and stdin in; stdout and stderr
// captured up to a cap; violations named through a seccomp listener that survives execve.
#pragma once

#include <cordon/process/confinement.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/outcome.hpp>
#include <cordon/process/supervisor.hpp>
#include <cordon/process/zygote.hpp>
#include <cordon/result.hpp>

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace cordon::process {

/// What to run.
struct exec_request {
    std::string program;               // path of the executable, opened by the host
    std::vector<std::string> args{};   // argv[1..]; argv[0] is the program
    std::vector<std::string> env{};    // the whole environment (nothing is inherited)
    std::string stdin_bytes{};
};

/// How a run ended. `failure` holds the status when it was not a normal exit; output
/// captured until then is kept either way.
struct exec_outcome {
    std::optional<error> failure{};
    int exit_code = -1;
    std::string stdout_bytes{};
    std::string stderr_bytes{};
    telemetry usage{};
};

namespace detail::exec {

inline constexpr std::uint64_t default_output_cap = 1U << 20;

// Everything the supervision loop watches.
struct run_state {
    spawned_child child;
    unique_fd control, stdin_end, stdout_end, stderr_end, listener;
    std::string_view pending_stdin;
    child_reports reports;
    stop_reason stopped = stop_reason::none;
    std::optional<exit_record> record;
    bool payload_executed = false;  // the one execveat the supervisor lets through has happened
};

// Appends what a pipe has; false once the cap is passed.
inline bool drain(unique_fd& fd, std::string& into, std::uint64_t cap) {
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0) {
            fd.reset();
            return true;
        }
        if (n < 0) return true;  // EAGAIN: nothing more for now
        if (into.size() + static_cast<std::size_t>(n) > cap) {
            into.append(buffer, static_cast<std::size_t>(cap - into.size()));
            return false;
        }
        into.append(buffer, static_cast<std::size_t>(n));
    }
}

// The child's own execveat of the payload: the first notification, from the sandbox's code,
// which has run no guest instruction yet and is single-threaded, so the path it passed ("")
// cannot have been swapped. The filter has no rule for execveat at all: a filter sees only
// the descriptor, and the kernel ignores the descriptor for an absolute path.
inline bool is_payload_exec(const run_state& run, const seccomp_notif& notification) {
    return !run.payload_executed && notification.data.arch == AUDIT_ARCH_X86_64 &&
           notification.data.nr == syscall_nr("execveat") &&
           notification.data.args[0] == static_cast<std::uint64_t>(exec_fd_number) &&
           (notification.data.args[4] & AT_EMPTY_PATH) != 0;
}

// A call that hit the filter. The payload's exec continues; anything else is remembered and
// never answered (the child is killed right after). Returns true for a violation.
inline bool take_notification(run_state& run) {
    seccomp_notif notification{};
    if (::ioctl(run.listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) return false;
    if (is_payload_exec(run, notification)) {
        run.payload_executed = true;
        seccomp_notif_resp response{};
        response.id = notification.id;
        response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (::ioctl(run.listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &response) == 0) return false;
    }
    violation_record record;
    record.magic = violation_record::expected_magic;
    record.arch = notification.data.arch;
    record.number = notification.data.nr;
    run.reports.violation = record;
    return true;
}

inline void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

} // namespace detail::exec

/// Runs an executable under a confinement built for payload_kind::executable. Returns an
/// error only when the run could not start (missing program, no zygote); everything the
/// program does is in the outcome.
inline result<exec_outcome> run_executable(const confinement& setup, const exec_request& request) {
    using namespace detail::exec;
    unique_fd program{::open(request.program.c_str(), O_RDONLY | O_CLOEXEC)};
    struct stat st {};
    if (!program.valid() || ::fstat(program.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        error_info info{"cannot open executable " + request.program + ": " +
                        (program.valid() ? std::string("not a regular file") : std::strerror(errno))};
        info.path = request.program;
        return error{error_kind::load_error, std::move(info)};
    }
    auto z = zygote::get();
    if (!z) return z.error();

    int control[2], in[2], out[2], err[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) != 0)
        return fail(error_kind::internal, "socketpair failed");
    unique_fd control_host{control[0]}, control_child{control[1]};
    // stdin is a socket so that writing to a child that has gone never raises SIGPIPE.
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return fail(error_kind::internal, "socketpair failed");
    unique_fd stdin_host{in[0]}, stdin_child{in[1]};
    ::shutdown(stdin_child.get(), SHUT_WR);
    if (::pipe2(out, O_CLOEXEC) != 0) return fail(error_kind::internal, "pipe failed");
    unique_fd stdout_host{out[0]}, stdout_child{out[1]};
    if (::pipe2(err, O_CLOEXEC) != 0) return fail(error_kind::internal, "pipe failed");
    unique_fd stderr_host{err[0]}, stderr_child{err[1]};

    payload_spec payload{payload_kind::executable, request.program, {}, request.env};
    payload.argv.push_back(request.program);
    payload.argv.insert(payload.argv.end(), request.args.begin(), request.args.end());
    const int fds[] = {control_child.get(), stdin_child.get(), stdout_child.get(), stderr_child.get(), program.get()};
    const auto started = detail::now_ns();
    auto spawned = (*z)->spawn(setup, payload, fds);
    if (!spawned) return spawned.error();
    control_child.reset(), stdin_child.reset(), stdout_child.reset(), stderr_child.reset(), program.reset();

    run_state run{std::move(*spawned), std::move(control_host), std::move(stdin_host), std::move(stdout_host),
                  std::move(stderr_host), {}, request.stdin_bytes, {}, stop_reason::none, std::nullopt};
    for (int fd : {run.stdin_end.get(), run.stdout_end.get(), run.stderr_end.get()}) set_nonblocking(fd);
    if (run.pending_stdin.empty()) run.stdin_end.reset();

    exec_outcome outcome;
    const auto& limits = setup.limits;
    const std::uint64_t cap = limits.output_bytes != 0 ? limits.output_bytes : default_output_cap;
    const std::uint64_t wall_limit_ns = limits.wall_time_ms != 0 ? limits.wall_time_ms * 1000000 : UINT64_MAX;
    const std::uint64_t cpu_limit_ns = limits.cpu_time_ms != 0 ? limits.cpu_time_ms * 1000000 : UINT64_MAX;
    std::uint64_t wall_used = 0, cpu_used = 0;
    const auto stop = [&](stop_reason why) {
        if (run.stopped == stop_reason::none) run.stopped = why;
        detail::kill_child(run.child);
    };

    while (!run.record) {
        pollfd watched[6] = {
            {run.child.status.get(), POLLIN, 0}, {run.control.get(), POLLIN, 0},
            {run.listener.get(), POLLIN, 0},     {run.stdout_end.get(), POLLIN, 0},
            {run.stderr_end.get(), POLLIN, 0},   {run.stdin_end.get(), POLLOUT, 0},
        };
        const auto wait = detail::next_check(wall_limit_ns, wall_used, cpu_limit_ns, cpu_used);
        const int timeout_ms = static_cast<int>(std::max<std::int64_t>(1, wait.count() / 1000000));
        ::poll(watched, 6, timeout_ms);
        if (watched[1].revents & POLLIN) {
            auto message = receive_with_fds(run.control.get(), 8192);
            if (message.ok)
                read_control_message(message, run.reports, [&](unique_fd fd) { run.listener = std::move(fd); });
            else
                run.control.reset();
        } else if (watched[1].revents & (POLLHUP | POLLERR)) {
            run.control.reset();
        }
        if (watched[2].revents & POLLIN) {
            if (take_notification(run)) stop(stop_reason::none);
        } else if (watched[2].revents & (POLLHUP | POLLERR)) {
            run.listener.reset();  // the filtered process is gone; only its init may remain
        }
        if ((watched[3].revents & (POLLIN | POLLHUP)) && !drain(run.stdout_end, outcome.stdout_bytes, cap))
            stop(stop_reason::output);
        if ((watched[4].revents & (POLLIN | POLLHUP)) && !drain(run.stderr_end, outcome.stderr_bytes, cap))
            stop(stop_reason::output);
        if (watched[5].revents & (POLLOUT | POLLERR | POLLHUP)) {
            const ssize_t n = ::send(run.stdin_end.get(), run.pending_stdin.data(), run.pending_stdin.size(),
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) run.pending_stdin.remove_prefix(static_cast<std::size_t>(n));
            if (n < 0 && errno != EAGAIN) run.pending_stdin = {};
            if (run.pending_stdin.empty()) run.stdin_end.reset();
        }
        if (watched[0].revents & (POLLIN | POLLHUP)) {
            run.record = detail::read_exit_record(run.child, 0);
            if (!run.record) break;
        }
        wall_used = detail::now_ns() - started;
        if (limits.cpu_time_ms != 0) {
            // Without a CPU group, the payload under a pid namespace's init is the one to watch.
            if (run.child.cpu_accounting.empty() && setup.namespaces.pid && run.child.measured == run.child.pid)
                if (const pid_t payload = detail::only_child_of(run.child.pid); payload > 0) run.child.measured = payload;
            cpu_used = detail::child_cpu_ns(run.child);
        }
        if (!run.record && cpu_used >= cpu_limit_ns) stop(stop_reason::cpu_time);
        if (!run.record && wall_used >= wall_limit_ns) stop(stop_reason::wall_time);
    }
    // What the program wrote just before it ended is still in the pipes.
    if (run.stdout_end.valid() && !drain(run.stdout_end, outcome.stdout_bytes, cap) && run.stopped == stop_reason::none)
        run.stopped = stop_reason::output;
    if (run.stderr_end.valid() && !drain(run.stderr_end, outcome.stderr_bytes, cap) && run.stopped == stop_reason::none)
        run.stopped = stop_reason::output;
    while (run.control.valid()) {
        pollfd watched{run.control.get(), POLLIN, 0};
        if (::poll(&watched, 1, 0) <= 0) break;
        auto message = receive_with_fds(run.control.get(), 8192);
        if (!message.ok) break;
        read_control_message(message, run.reports, [](unique_fd) {});
    }
    outcome.usage.wall_ns = detail::now_ns() - started;
    outcome.usage.calls = 1;
    outcome.usage.children_started = 1;
    if (!run.record) {
        outcome.failure = fail(error_kind::internal, "the zygote did not report the program's end");
        return outcome;
    }
    account(outcome.usage, *run.record);
    if (run.reports.violation) outcome.usage.violations = 1;
    const int status = run.reports.payload_wait_status.value_or(run.record->wait_status);
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    outcome.failure = classify_end(*run.record, run.stopped, run.reports, limits, false, cpu_used, wall_used);
    return outcome;
}

} // namespace cordon::process
