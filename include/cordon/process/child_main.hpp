// The sandboxed child's side of a spawn, from clone to its payload: descriptors in place,
// a bare init where a pid namespace needs one, confinement, then exec, dlopen or the call loop.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/channel.hpp>
#include <cordon/process/child_server.hpp>
#include <cordon/process/confine_self.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/result.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace cordon::process::detail::child_side {

using namespace detail::protocol;

inline void send_control(int control, std::uint32_t tag, std::string_view text = {}, error_kind kind = {}) {
    const auto bytes = tagged(tag, text, kind);
    send_with_fds(control, bytes, {});
}

// Moves the inherited descriptors to their fixed numbers and closes every other one.
inline bool arrange_descriptors(std::vector<unique_fd>& fds, bool has_exec) {
    // First lift every source above the targets, so no dup2 overwrites a later source.
    std::vector<int> lifted;
    for (auto& fd : fds) {
        lifted.push_back(fd.valid() ? ::fcntl(fd.get(), F_DUPFD_CLOEXEC, exec_fd_number + 1) : -1);
        fd.reset();
    }
    const int targets[] = {control_fd_number, 0, 1, 2, has_exec ? exec_fd_number : -1};
    for (std::size_t i = 0; i < lifted.size(); ++i) {
        if (lifted[i] < 0 || targets[i] < 0) continue;
        if (::dup2(lifted[i], targets[i]) < 0) return false;  // dup2 clears close-on-exec
    }
    // The program descriptor and the control socket are gone once the exec succeeds: the
    // supervisor already holds the seccomp listener, and the program gets nothing of ours.
    if (has_exec) {
        ::fcntl(exec_fd_number, F_SETFD, FD_CLOEXEC);
        ::fcntl(control_fd_number, F_SETFD, FD_CLOEXEC);
    }
    // The channel stays mapped; its descriptor and all the others are closed.
    ::syscall(SYS_close_range, 3U, static_cast<unsigned>(control_fd_number - 1), 0U);
    if (has_exec) ::syscall(SYS_close_range, static_cast<unsigned>(exec_fd_number + 1), ~0U, 0U);
    else ::syscall(SYS_close_range, static_cast<unsigned>(control_fd_number + 1), ~0U, 0U);
    return true;
}

// In a new pid namespace the first process is its init, which the kernel shields from
// signals it has no handler for, including SIGXCPU and SIGXFSZ from rlimits. So the first
// process stays a bare init: it forks the payload, reaps, reports the payload's wait status
// on the control socket and exits, taking the namespace down with it. Returns in the payload.
inline void become_init_of(int control) {
    const pid_t payload = ::fork();
    if (payload < 0) {
        send_control(control, tag_error, "cannot fork the sandbox's payload", error_kind::internal);
        ::_exit(120);
    }
    if (payload == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        return;
    }
    // The init keeps only the control socket: it must hold no pipe the host waits on.
    ::close(0), ::close(1), ::close(2);
    ::syscall(SYS_close_range, static_cast<unsigned>(control_fd_number + 1), ~0U, 0U);
    for (;;) {
        int status = 0;
        const pid_t ended = ::waitpid(-1, &status, 0);
        if (ended == payload) {
            send_control(control, tag_exit, std::to_string(status));
            ::_exit(0);
        }
        if (ended < 0 && errno != EINTR) ::_exit(119);
    }
}

// Handlers the host program installed before it started the zygote (a crash reporter, a
// sanitizer's runtime) must not run inside a sandbox: a guest fault kills the child plainly,
// and the supervisor reports it. The raw system call bypasses runtimes that intercept
// sigaction; the sandbox's own reporters are installed afterwards.
inline void reset_signal_handler(int sig) {
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        unsigned long mask;
    } default_action{SIG_DFL, 0, nullptr, 0};
    ::syscall(SYS_rt_sigaction, sig, &default_action, nullptr, sizeof default_action.mask);
}

// The zygote resets every handler once when it starts, so that each child has only the
// zygote's own disposition to undo (one system call instead of sixty-four per sandbox).
inline void reset_signal_handlers() {
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) reset_signal_handler(sig);
}

// As a pid namespace's init the payload would ignore SIGXCPU and SIGXFSZ (the kernel shields
// an init from signals it has no handler for). These handlers report the signal as if it had
// killed the payload, then end it; the filter keeps the guest from replacing them.
inline void report_limit_signal(int sig) {
    char text[8];
    const int n = sig >= 10 ? 2 : 1;
    text[0] = static_cast<char>(n == 2 ? '0' + sig / 10 : '0' + sig);
    if (n == 2) text[1] = static_cast<char>('0' + sig % 10);
    // Built by hand: only async-signal-safe calls here. The status of "killed by sig" is sig.
    std::byte message[4 + sizeof(error_kind) + 8 + 2];
    const std::uint32_t tag = tag_exit;
    const error_kind none{};
    const std::uint64_t length = static_cast<std::uint64_t>(n);
    std::memcpy(message, &tag, 4);
    std::memcpy(message + 4, &none, sizeof none);
    std::memcpy(message + 4 + sizeof none, &length, 8);
    std::memcpy(message + 4 + sizeof none + 8, text, static_cast<std::size_t>(n));
    [[maybe_unused]] auto sent = ::send(control_fd_number, message, 4 + sizeof none + 8 + static_cast<std::size_t>(n), MSG_NOSIGNAL);
    ::syscall(SYS_exit_group, 128 + sig);
}

inline void install_limit_signal_reporters() {
    struct sigaction action {};
    action.sa_handler = &report_limit_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGXCPU, &action, nullptr);
    ::sigaction(SIGXFSZ, &action, nullptr);
}

// The child, from clone to its payload. Never returns.
[[noreturn]] inline void child_main(spawn_message& message, std::vector<unique_fd>& fds, int go_fd,
                                    const cgroup_set& groups) {
    char go = 0;
    // The zygote writes one byte once the uid map and cgroups are in place.
    if (::read(go_fd, &go, 1) != 1) ::_exit(126);
    ::close(go_fd);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    reset_signal_handler(SIGPIPE);  // the zygote ignores it; every other handler is default already
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setsid();

    const bool has_exec = message.payload.kind == payload_kind::executable;
    std::unique_ptr<channel> shared;
    if (!has_exec) {
        auto attached = channel::attach(fds[fd_payload].release());
        if (!attached) ::_exit(125);
        shared = std::make_unique<channel>(std::move(*attached));
        shared->close_fd();  // the mapping is enough
    }
    if (!arrange_descriptors(fds, has_exec)) ::_exit(124);

    constexpr int control = control_fd_number;
    // An executable loses any handler at exec, so it runs under a bare init; a function or
    // plugin payload is the namespace's init itself and reports rlimit signals by handler.
    if (message.setup.namespaces.pid) {
        if (has_exec) become_init_of(control);
        else install_limit_signal_reporters();
    }
    auto confined = confine_self(message.setup, &groups, control);
    if (!confined) {
        send_control(control, tag_error, "sandbox set-up failed: " + confined.error().message(),
                     confined.error().kind());
        ::_exit(123);
    }
    switch (message.payload.kind) {
    case payload_kind::executable: {
        // The supervisor holds the listener: a violation after exec still names its call.
        const int listener = *confined;
        const auto bytes = tagged(tag_listener);
        // Passing a descriptor counts against the sender's RLIMIT_NOFILE as the kernel tallies
        // every descriptor in flight for this user (ETOOMANYREFS): under a small files limit,
        // other sandboxes' passes can refuse ours for a moment. Only sendmsg is tried again
        // (the filter is on; nothing else may be called here), and without the listener the
        // program must not run: its exec would find no supervisor and fail with ENOSYS.
        bool handed = false;
        for (int attempt = 0; attempt < 1'000'000 && !handed; ++attempt) {
            handed = send_with_fds(control, bytes, std::span<const int>(&listener, 1));
            if (!handed && errno != ETOOMANYREFS) break;
        }
        if (!handed) {
            send_control(control, tag_error,
                         std::string("cannot hand the seccomp listener to the supervisor: ") + std::strerror(errno),
                         error_kind::internal);
            ::_exit(123);
        }
        ::close(listener);
        std::vector<char*> argv, envp;
        for (auto& arg : message.payload.argv) argv.push_back(arg.data());
        for (auto& env : message.payload.envp) envp.push_back(env.data());
        argv.push_back(nullptr);
        envp.push_back(nullptr);
        ::syscall(SYS_execveat, exec_fd_number, "", argv.data(), envp.data(), AT_EMPTY_PATH);
        send_control(control, tag_error, "cannot execute " + message.payload.path + ": " + std::strerror(errno),
                     error_kind::load_error);
        ::_exit(127);
    }
    case payload_kind::shared_object: {
        void* plugin = ::dlopen(message.payload.path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (plugin == nullptr) {
            const char* why = ::dlerror();
            send_control(control, tag_error, std::string("cannot load plugin: ") + (why ? why : "unknown error"),
                         error_kind::load_error);
            ::_exit(122);
        }
        serve_calls(*shared, plugin, message.setup.limits.output_bytes, [] { send_control(control, tag_ready); });
    }
    case payload_kind::function: break;
    }
    if (!shared) ::_exit(121);
    serve_calls(*shared, nullptr, 0, [] { send_control(control, tag_ready); });
}

} // namespace cordon::process::detail::child_side
