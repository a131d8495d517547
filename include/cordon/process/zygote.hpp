// The zygote: a single-threaded fork server started before the host has threads. It clones
// each sandboxed child into its namespaces and cgroups, confines it, and reports its exit.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/channel.hpp>
#include <cordon/process/child_main.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/result.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace cordon::process {

/// The host's end of a spawned child, as the zygote hands it over.
struct spawned_child {
    pid_t pid = -1;               // in the host's pid namespace
    unique_fd pidfd;              // for signals that cannot hit a recycled pid
    unique_fd status;             // the zygote writes one exit_record here when it reaps the child
    std::string cpu_accounting;   // the child's cgroup CPU file, empty without one
    pid_t measured = -1;          // whose CPU clock to read without a cgroup: the payload process
};

namespace detail::zygote_side {

using namespace detail::protocol;

// What the zygote keeps per child until it reaps it.
struct tracked_child {
    unique_fd status;
    cgroup_set groups;
    std::unique_ptr<channel> shared;  // to tell a waiting host that its peer is gone
};

inline void reply(int socket, const spawn_reply& answer, std::span<const int> fds) {
    const auto bytes = encode_reply(answer);
    send_with_fds(socket, bytes, fds);
}

inline void spawn(int socket, received_message& request, std::map<pid_t, tracked_child>& children) {
    auto message = decode_spawn(request.bytes);
    if (!message || request.fds.size() != fd_count) return reply(socket, {false, "malformed spawn request"}, {});
    const auto& setup = message->setup;
    // Without `process` the filter allows no fork, and with a limit of one process no thread
    // either (make_confinement): then the limit needs no pids group. RLIMIT_NPROC cannot stand
    // in for one, as the kernel does not apply it to tasks of the host's root user. The init
    // heading a pid namespace is the sandbox's, not the guest's: it is not counted. CPU is
    // accounted by a group only for a payload that may fork; the supervisor reads a lone
    // payload's own CPU clock.
    const bool needs_pids_group = setup.syscalls.process || setup.syscalls.threads;
    const std::uint64_t init_processes = setup.namespaces.pid ? 1 : 0;
    const std::uint64_t max_processes =
        setup.limits.processes != 0 && needs_pids_group ? setup.limits.processes + init_processes : 0;
    auto groups = cgroup_set::create(setup.limits.memory_bytes, max_processes, setup.syscalls.process);
    if (!groups) return reply(socket, {false, groups.error().message()}, {});

    std::unique_ptr<channel> shared;
    if (message->payload.kind != payload_kind::executable) {
        auto attached = channel::attach(::fcntl(request.fds[fd_payload].get(), F_DUPFD_CLOEXEC, 3));
        if (!attached) return reply(socket, {false, attached.error().message()}, {});
        shared = std::make_unique<channel>(std::move(*attached));
        shared->close_fd();
    }
    int go[2], status[2];
    if (::pipe2(go, O_CLOEXEC) != 0) return reply(socket, {false, "pipe: " + std::string(std::strerror(errno))}, {});
    if (::pipe2(status, O_CLOEXEC) != 0) {
        ::close(go[0]), ::close(go[1]);
        return reply(socket, {false, "pipe: " + std::string(std::strerror(errno))}, {});
    }
    unique_fd go_read{go[0]}, go_write{go[1]}, status_read{status[0]}, status_write{status[1]};

    int pidfd = -1;
    const unsigned long flags =
        static_cast<unsigned long>(setup.namespaces.clone_flags()) | CLONE_PIDFD | SIGCHLD;
    const long pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, nullptr);
    if (pid == 0) {
        go_write.reset();
        status_read.reset();
        status_write.reset();
        ::close(socket);
        // The other sandboxes' channels are still mapped in this copy of the zygote: unmap
        // them before anything else, and leave their groups alone.
        for (auto& [sibling_pid, sibling] : children) {
            sibling.groups.forget();
            sibling.shared.reset();
            sibling.status.reset();
        }
        children.clear();
        detail::child_side::child_main(*message, request.fds, go_read.release(), *groups);
    }
    if (pid < 0) return reply(socket, {false, "clone: " + std::string(std::strerror(errno))}, {});
    unique_fd owned_pidfd{pidfd};
    const auto abandon = [&](const std::string& why) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
        reply(socket, {false, why}, {});
    };
    if (setup.namespaces.user)
        if (auto mapped = write_id_maps(static_cast<pid_t>(pid), setup.outside_uid, setup.outside_gid); !mapped)
            return abandon(mapped.error().message());
    if (auto added = groups->add(static_cast<pid_t>(pid)); !added) return abandon(added.error().message());
    if (::write(go_write.get(), "g", 1) != 1) return abandon("cannot start the child");

    spawn_reply answer{true, {}, static_cast<pid_t>(pid), groups->cpu_accounting_file()};
    const int passed[] = {owned_pidfd.get(), status_read.get()};
    reply(socket, answer, passed);
    children.emplace(static_cast<pid_t>(pid), tracked_child{std::move(status_write), std::move(*groups), std::move(shared)});
}

inline void reap(std::map<pid_t, tracked_child>& children) {
    for (;;) {
        int wait_status = 0;
        rusage usage{};
        const pid_t pid = ::wait4(-1, &wait_status, WNOHANG, &usage);
        if (pid <= 0) return;
        auto found = children.find(pid);
        if (found == children.end()) continue;
        auto& child = found->second;
        child.groups.kill_all();  // anything it left behind in its groups
        exit_record record;
        record.wait_status = wait_status;
        record.user_us = usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec;
        record.system_us = usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec;
        record.max_rss_kib = usage.ru_maxrss;
        record.usage = child.groups.usage();
        [[maybe_unused]] auto written = ::write(child.status.get(), &record, sizeof record);
        if (child.shared) {
            child.shared->header().peer_gone.store(1, std::memory_order_release);
            publish(child.shared->header().response_seq);
        }
        children.erase(found);
    }
}

[[noreturn]] inline void zygote_main(int socket, pid_t host) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != host) ::_exit(0);
    ::prctl(PR_SET_NAME, "cordon-zygote");
    detail::child_side::reset_signal_handlers();  // once here, so no child has to
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    const int child_events = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    std::map<pid_t, tracked_child> children;
    for (;;) {
        pollfd watched[2] = {{socket, POLLIN, 0}, {child_events, POLLIN, 0}};
        if (::poll(watched, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (watched[1].revents & POLLIN) {
            signalfd_siginfo info;
            while (::read(child_events, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            }
            reap(children);
        }
        if (watched[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            auto request = receive_with_fds(socket, max_message_bytes);
            if (!request.ok) break;  // the host is gone
            spawn(socket, request, children);
        }
    }
    for (auto& [pid, child] : children) {
        ::kill(pid, SIGKILL);
        child.groups.kill_all();
    }
    while (::wait(nullptr) > 0) {
    }
    children.clear();  // removes the groups
    ::_exit(0);
}

inline bool single_threaded() {
    DIR* tasks = ::opendir("/proc/self/task");
    if (tasks == nullptr) return false;
    int count = 0;
    while (const dirent* entry = ::readdir(tasks))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(tasks);
    return count == 1;
}

} // namespace detail::zygote_side

/// The host's handle on its zygote. One per host process; thread-safe.
class zygote {
public:
    /// Starts the zygote now. Call at the top of main, before the host starts any thread; a
    /// later sandbox then never forks a multithreaded process.
    static result<void> start() {
        std::lock_guard lock{global_mutex()};
        forget_inherited();
        if (!instance() && !detail::zygote_side::single_threaded())
            return fail(error_kind::unsupported, multithreaded_message);
        return start_locked();
    }

    /// The zygote, started on first use if the host is still single-threaded.
    static result<zygote*> get() {
        std::lock_guard lock{global_mutex()};
        forget_inherited();
        if (!instance()) {
            if (!detail::zygote_side::single_threaded()) return fail(error_kind::unsupported, multithreaded_message);
            if (auto started = start_locked(); !started) return started.error();
        }
        return instance().get();
    }

    [[nodiscard]] pid_t pid() const { return pid_; }

    /// Asks the zygote for a confined child. fds: control (child end), stdin, stdout, stderr,
    /// then the channel memfd, or for an executable payload the program opened for reading.
    result<spawned_child> spawn(const confinement& setup, const payload_spec& payload, std::span<const int> fds) {
        using namespace detail::protocol;
        const auto request = encode_spawn(setup, payload);
        if (request.size() > max_message_bytes) return fail(error_kind::invalid_argument, "sandbox set-up too large");
        std::lock_guard lock{mutex_};
        if (!send_with_fds(socket_.get(), request, fds))
            return fail(error_kind::internal, std::string("zygote unreachable: ") + std::strerror(errno));
        auto answer = receive_with_fds(socket_.get(), max_message_bytes);
        const auto decoded = answer.ok ? decode_reply(answer.bytes) : std::nullopt;
        if (!decoded) return fail(error_kind::internal, "the zygote did not answer");
        if (!decoded->ok) return fail(error_kind::internal, decoded->error);
        if (answer.fds.size() != 2) return fail(error_kind::internal, "the zygote's answer lacks descriptors");
        return spawned_child{decoded->pid, std::move(answer.fds[0]), std::move(answer.fds[1]),
                             decoded->cpu_accounting, decoded->pid};
    }

    zygote(unique_fd socket, pid_t pid) : socket_{std::move(socket)}, pid_{pid} {}
    zygote(const zygote&) = delete;
    zygote& operator=(const zygote&) = delete;
    ~zygote() {
        socket_.reset();  // the zygote sees end of stream, kills its children and exits
        if (pid_ > 0 && owner_ == ::getpid()) ::waitpid(pid_, nullptr, 0);
    }

private:
    static constexpr const char* multithreaded_message =
        "the host is already multithreaded and no zygote was started: call cordon::process::zygote::start() "
        "at the top of main, before any thread (forking a multithreaded process is unsafe)";

    static std::mutex& global_mutex() {
        static std::mutex m;
        return m;
    }
    static std::unique_ptr<zygote>& instance() {
        static std::unique_ptr<zygote> z;
        return z;
    }
    // A process forked from the host inherits the handle but must not share the zygote (two
    // processes on one socket would read each other's answers): it starts its own.
    static void forget_inherited() {
        if (instance() && instance()->owner_ != ::getpid()) instance().reset();
    }
    static result<void> start_locked() {
        if (instance()) return {};
        raise_descriptor_limit();
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
            return fail(error_kind::internal, std::string("socketpair: ") + std::strerror(errno));
        const pid_t host = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            ::close(pair[0]), ::close(pair[1]);
            return fail(error_kind::internal, std::string("fork zygote: ") + std::strerror(errno));
        }
        if (pid == 0) {
            ::close(pair[0]);
            // Keep only the socket, as descriptor 3: the host's other files stay with the host.
            if (pair[1] != 3) {
                ::dup2(pair[1], 3);
                ::close(pair[1]);
            }
            ::fcntl(3, F_SETFD, FD_CLOEXEC);
            ::syscall(SYS_close_range, 4U, ~0U, 0U);
            detail::zygote_side::zygote_main(3, host);
        }
        ::close(pair[1]);
        instance() = std::make_unique<zygote>(unique_fd{pair[0]}, pid);
        return {};
    }

    // Each live sandbox holds a few descriptors in the host (control socket, pidfd, status
    // pipe) and one in the zygote: the usual soft limit of 1024 would stop at a few hundred
    // sandboxes. Raise the soft limit to the hard one, as language runtimes do at start; the
    // zygote inherits it, and every sandbox sets its own far lower ceiling.
    static void raise_descriptor_limit() {
        rlimit files{};
        if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= files.rlim_max) return;
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }

    std::mutex mutex_;
    unique_fd socket_;
    pid_t pid_ = -1;
    pid_t owner_ = ::getpid();
};

} // namespace cordon::process
