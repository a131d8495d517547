// The system-call allow-list of a process sandbox, generated from its permission set, and its
// installation (no_new_privs, then the filter) with a SIGSYS reporter that names the call.
#pragma once

#include <cordon/process/bpf.hpp>
#include <cordon/process/syscalls.hpp>
#include <cordon/result.hpp>

#include <asm/ioctls.h>
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cordon::process {

/// What the payload may do, as far as system calls are concerned. Filled from the policy's
/// runtime grants; every field defaults to "no".
struct syscall_permissions {
    bool fs_read = false;
    bool fs_write = false;
    bool net = false;
    // The net grant names ports, which only landlock's TCP rules can check: every other kind
    // of socket, and every way of connecting that those rules do not see, is refused.
    bool net_by_port = false;
    bool net_listen = false;  // with net_by_port: a bind port is granted, so listening is too
    bool process = false;    // fork, exec, wait, signals to other processes
    bool clock = false;      // sleeping; reading the clock goes through the vDSO regardless
    bool random = false;
    bool system = false;     // host information (uname, sysinfo)
    bool threads = true;     // clone of a thread (never a new process)
    bool loader = false;     // read-only opens and mappings to load code (dlopen, ld.so)
    bool strictest = false;  // isolation::maximum: no ioctl, no threads, no limit queries
    int self_pid = 0;        // the only process kill/tgkill may target, as the child sees itself
    bool reserve_limit_signals = false;  // SIGXCPU and SIGXFSZ handlers belong to the sandbox
};

namespace detail {

using rule_kind = syscall_rule::kind;

inline void allow_all(std::vector<syscall_rule>& rules, std::initializer_list<int> numbers) {
    for (int nr : numbers) rules.push_back({nr, rule_kind::allow});
}

inline constexpr std::uint32_t open_write_flags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;

// The exact flag sets with which thread libraries create a thread: glibc's pthread_create,
// musl's, and the Go runtime's. The filter compares the whole word, so one more flag (a new
// namespace, a new exit signal) makes a different call that no rule admits.
inline std::vector<std::uint32_t> thread_clone_flags() {
    constexpr std::uint32_t shared = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    constexpr std::uint32_t glibc = shared | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    return {glibc, glibc | CLONE_DETACHED, shared};
}

// Every flag that makes clone create a namespace (clone3 alone knows CLONE_NEWTIME).
inline constexpr std::uint32_t namespace_clone_flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                                        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

inline std::vector<std::uint32_t> fcntl_commands() {
    return {F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, F_GETOWN, F_GETSIG,
            F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_GETLEASE, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ,
            F_ADD_SEALS, F_GET_SEALS};
}

// socketpair types whose sockets are connected for good and take no destination address.
inline std::vector<std::uint32_t> connected_socket_types() {
    std::vector<std::uint32_t> types;
    for (std::uint32_t type : {std::uint32_t{SOCK_STREAM}, std::uint32_t{SOCK_SEQPACKET}})
        for (std::uint32_t flags : {0U, std::uint32_t{SOCK_CLOEXEC}, std::uint32_t{SOCK_NONBLOCK}, std::uint32_t{SOCK_CLOEXEC | SOCK_NONBLOCK}})
            types.push_back(type | flags);
    return types;
}

} // namespace detail

/// The rules for a permission set, most frequent calls first (the filter tries them in order).
inline std::vector<syscall_rule> syscall_rules(const syscall_permissions& p) {
    using detail::allow_all;
    using detail::rule_kind;
    std::vector<syscall_rule> rules;
    allow_all(rules, {syscall_nr("read"), syscall_nr("write"), syscall_nr("futex"), syscall_nr("close"),
                      syscall_nr("mmap"), syscall_nr("munmap"), syscall_nr("brk"), syscall_nr("mprotect"),
                      syscall_nr("readv"), syscall_nr("writev"), syscall_nr("pread64"), syscall_nr("pwrite64"),
                      syscall_nr("lseek"), syscall_nr("fstat"), syscall_nr("mremap"), syscall_nr("madvise"),
                      syscall_nr("rt_sigprocmask"), syscall_nr("rt_sigreturn"), syscall_nr("sigaltstack"),
                      syscall_nr("exit"), syscall_nr("exit_group"), syscall_nr("getpid"), syscall_nr("gettid"),
                      syscall_nr("restart_syscall"), syscall_nr("sched_yield"), syscall_nr("set_robust_list"),
                      syscall_nr("rseq"), syscall_nr("set_tid_address"), syscall_nr("getuid"),
                      syscall_nr("geteuid"), syscall_nr("getgid"), syscall_nr("getegid"), syscall_nr("poll"),
                      syscall_nr("ppoll"), syscall_nr("pselect6"), syscall_nr("dup"), syscall_nr("dup3"),
                      syscall_nr("dup2"), syscall_nr("pipe2"), syscall_nr("getrusage"),
                      syscall_nr("recvmsg"), syscall_nr("recvfrom")});
    if (p.net_by_port) {
        // Data sent with MSG_FASTOPEN on an unconnected TCP socket connects it without the
        // connect() that landlock checks: the port rules would not see the connection.
        rules.push_back({syscall_nr("sendmsg"), rule_kind::allow_if_bits_clear, 2, {}, MSG_FASTOPEN});
        rules.push_back({syscall_nr("sendto"), rule_kind::allow_if_bits_clear, 3, {}, MSG_FASTOPEN});
    } else {
        allow_all(rules, {syscall_nr("sendmsg"), syscall_nr("sendto")});
    }
    // Descriptor commands, except those that make the kernel signal a chosen process (F_SETOWN,
    // F_SETOWN_EX, F_SETSIG) or watch files for it (F_NOTIFY, F_SETLEASE).
    rules.push_back({syscall_nr("fcntl"), rule_kind::allow_if_arg_in, 1, detail::fcntl_commands()});
    // arch_prctl: libc sets up thread-local storage through it at start.
    rules.push_back({syscall_nr("arch_prctl"), rule_kind::allow_if_arg_in, 0, {ARCH_SET_FS, ARCH_GET_FS}});
    // A guest that could replace the SIGSYS handler would hide its violations; one that could
    // replace the rlimit reporters would hide which limit stopped it. Reading a handler (no new
    // action) is harmless, and python reads every one at start.
    std::vector<std::uint32_t> reserved_signals{SIGSYS};
    if (p.reserve_limit_signals) reserved_signals.insert(reserved_signals.end(), {SIGXCPU, SIGXFSZ});
    rules.push_back({syscall_nr("rt_sigaction"), rule_kind::deny_if_arg_in, 0, std::move(reserved_signals), 0, 0, 1});
    if (!p.process) {
        // Signals only to itself (0 is its own process group, which the new session confines).
        const auto self = static_cast<std::uint32_t>(p.self_pid);
        rules.push_back({syscall_nr("kill"), rule_kind::allow_if_arg_in, 0, {self, 0}});
        rules.push_back({syscall_nr("tgkill"), rule_kind::allow_if_arg_in, 0, {self}});
        if (p.threads && !p.strictest)
            rules.push_back({syscall_nr("clone"), rule_kind::allow_if_arg_in, 0, detail::thread_clone_flags()});
    } else {
        // Processes, but no namespaces: a new user namespace is where the kernel's attack
        // surface grows, and nothing a guest needs lives behind one.
        rules.push_back({syscall_nr("clone"), rule_kind::allow_if_bits_clear, 0, {}, detail::namespace_clone_flags});
        allow_all(rules, {syscall_nr("kill"), syscall_nr("tgkill"), syscall_nr("fork"), syscall_nr("vfork"),
                          syscall_nr("execve"), syscall_nr("execveat"), syscall_nr("wait4"), syscall_nr("waitid"),
                          syscall_nr("setpgid"), syscall_nr("getpgid"), syscall_nr("getppid")});
    }
    // glibc tries clone3 first and falls back to clone on ENOSYS; clone3's flags live in memory
    // a filter cannot read, so it is never allowed.
    rules.push_back({syscall_nr("clone3"), rule_kind::fail_with_errno, 0, {}, ENOSYS});
    // No rule admits the executable payload's own execveat: a filter cannot read the path, and
    // the kernel ignores the descriptor for an absolute one. The call goes to the supervisor
    // as a notification, which lets exactly the first one through (see executable.hpp).
    if (!p.strictest || p.loader)
        // Reading limits is harmless (and libc start-up does it); setting them is not (arg 2
        // is the new limit).
        rules.push_back({syscall_nr("prlimit64"), rule_kind::allow_if_arg_in, 2, {0}});
    // Reading a clock through the system call tells nothing the vDSO does not, and static
    // glibc falls back to it; waiting for a signal ends at the wall limit like any wait.
    allow_all(rules, {syscall_nr("clock_gettime"), syscall_nr("clock_getres"), syscall_nr("gettimeofday"),
                      syscall_nr("time"), syscall_nr("pause"), syscall_nr("rt_sigsuspend")});
    // Terminal queries: the strictest set answers "not a terminal", which every isatty copes with.
    if (p.strictest)
        rules.push_back({syscall_nr("ioctl"), rule_kind::fail_with_errno, 0, {}, ENOTTY});
    if (!p.strictest) {
        rules.push_back({syscall_nr("ioctl"), rule_kind::allow_if_arg_in, 1,
                         {TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX}});
        allow_all(rules, {syscall_nr("sched_getaffinity"), syscall_nr("getrlimit"), syscall_nr("getppid"),
                          syscall_nr("getpgrp"), syscall_nr("getsid")});
    }
    const bool reads = p.fs_read || p.fs_write || p.loader;
    if (reads) {
        if (p.fs_write) {
            allow_all(rules, {syscall_nr("openat"), syscall_nr("open"), syscall_nr("creat")});
        } else {
            rules.push_back({syscall_nr("openat"), rule_kind::allow_if_bits_clear, 2, {}, detail::open_write_flags});
            rules.push_back({syscall_nr("open"), rule_kind::allow_if_bits_clear, 1, {}, detail::open_write_flags});
        }
        allow_all(rules, {syscall_nr("newfstatat"), syscall_nr("statx"), syscall_nr("stat"), syscall_nr("lstat"),
                          syscall_nr("access"), syscall_nr("faccessat"), syscall_nr("faccessat2"),
                          syscall_nr("readlink"), syscall_nr("readlinkat"), syscall_nr("getdents64"),
                          syscall_nr("getcwd"), syscall_nr("chdir"), syscall_nr("fchdir"), syscall_nr("fstatfs"),
                          syscall_nr("statfs")});
        // Read-ahead advice and in-kernel copies act only on descriptors already open, which
        // landlock vetted: coreutils' cat asks fadvise64 before its first read.
        allow_all(rules, {syscall_nr("fadvise64"), syscall_nr("readahead"), syscall_nr("copy_file_range"),
                          syscall_nr("sendfile")});
    }
    if (p.fs_write) {
        allow_all(rules, {syscall_nr("mkdir"), syscall_nr("mkdirat"), syscall_nr("unlink"), syscall_nr("unlinkat"),
                          syscall_nr("rename"), syscall_nr("renameat"), syscall_nr("renameat2"),
                          syscall_nr("rmdir"), syscall_nr("ftruncate"), syscall_nr("truncate"), syscall_nr("fsync"),
                          syscall_nr("fdatasync"), syscall_nr("symlink"), syscall_nr("symlinkat"),
                          syscall_nr("link"), syscall_nr("linkat"), syscall_nr("fchmod"), syscall_nr("chmod"),
                          syscall_nr("utimensat"), syscall_nr("fallocate")});
    }
    if (p.net) {
        // `net` means IP endpoints. A unix socket reaches path-named sockets of the host that no
        // file grant covers (landlock before ABI 9 does not see connect or sendto on them), so
        // unix and netlink sockets are refused as unsupported, which libc's callers (nscd,
        // netlink lookups) handle; any other family (packet, raw link layers) is a violation,
        // as without `net`. A socketpair is unnamed, but its datagram end can still send to any
        // path: only stream and seqpacket pairs, which ignore a destination, are made.
        syscall_rule socket{syscall_nr("socket"), rule_kind::allow_if_arg_in, 0,
                            {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK}};
        socket.and_also.push_back({0, {AF_INET, AF_INET6}, 0, EAFNOSUPPORT});
        if (p.net_by_port)
            // Port rules see TCP only: a datagram or raw socket would reach any port, and an
            // MPTCP or SCTP stream connects past them.
            socket.and_also.insert(socket.and_also.end(),
                                   {{1, {SOCK_STREAM}, SOCK_NONBLOCK | SOCK_CLOEXEC}, {2, {0, IPPROTO_TCP}}});
        rules.push_back(std::move(socket));
        rules.push_back({syscall_nr("socketpair"), rule_kind::allow_if_arg_in, 1, detail::connected_socket_types(), 0,
                         EAFNOSUPPORT});
        allow_all(rules, {syscall_nr("connect"), syscall_nr("bind"), syscall_nr("accept"), syscall_nr("accept4"),
                          syscall_nr("getsockopt"), syscall_nr("setsockopt"), syscall_nr("getsockname"),
                          syscall_nr("getpeername"), syscall_nr("shutdown")});
        // listen() binds an unbound socket to a free port without the bind() that landlock
        // checks, so with ports it needs a bind port of its own.
        if (!p.net_by_port || p.net_listen) rules.push_back({syscall_nr("listen"), rule_kind::allow});
    } else {
        // libc looks for nscd over a unix socket (getpwuid, python's start) and for interfaces
        // over netlink, and carries on without them: refused. An IP socket is a violation.
        rules.push_back({syscall_nr("socket"), rule_kind::errno_if_arg_in, 0, {AF_UNIX, AF_NETLINK}, EACCES});
    }
    if (p.clock) allow_all(rules, {syscall_nr("nanosleep"), syscall_nr("clock_nanosleep")});
    // A program (plugin or executable) reads RDRAND whatever the filter says, so refusing it
    // getrandom protects nothing and breaks ordinary start-ups (python seeds its hashes, and
    // glibc's refusal path falls back to clock calls). For host functions `random` decides.
    if (p.random || p.loader) rules.push_back({syscall_nr("getrandom"), rule_kind::allow});
    // Host information is refused with EPERM without `system`: the caller learns nothing
    // either way, and libc's users (qsort's memory probe, platform lookups) handle the error.
    if (p.system)
        allow_all(rules, {syscall_nr("uname"), syscall_nr("sysinfo")});
    else
        for (int nr : {syscall_nr("uname"), syscall_nr("sysinfo")})
            rules.push_back({nr, rule_kind::fail_with_errno, 0, {}, EPERM});
    return rules;
}

/// What the SIGSYS reporter writes on its descriptor before the child exits: one fixed-size
/// record, so the supervisor reads it whole or not at all.
struct violation_record {
    static constexpr std::uint32_t expected_magic = 0x53595343;  // "CSYS"
    std::uint32_t magic = 0;
    std::uint32_t arch = 0;
    std::int64_t number = -1;
};

/// The exit status of a child whose reporter ran; the record, not this code, is authoritative.
inline constexpr int violation_exit_code = 159;

namespace detail {

inline int violation_report_fd = -1;  // set in the child before the filter; read by the handler

// Runs in the child on a denied call: async-signal-safe only (write and exit_group).
inline void report_violation(int, siginfo_t* info, void*) {
    violation_record record;
    record.magic = violation_record::expected_magic;
    record.arch = info->si_arch;
    record.number = info->si_syscall;
    if (violation_report_fd >= 0) {
        [[maybe_unused]] auto written = ::write(violation_report_fd, &record, sizeof record);
    }
    ::syscall(SYS_exit_group, violation_exit_code);
}

} // namespace detail

/// A readable description of a denied call: "ptrace (101)", "i386 system call 11".
inline std::string describe_violation(const violation_record& record) {
    if (record.arch != AUDIT_ARCH_X86_64)
        return "i386 system call " + std::to_string(record.number) + " (foreign ABI denied)";
    if ((static_cast<std::uint64_t>(record.number) & detail::x32_syscall_bit) != 0)
        return "x32 system call " + std::to_string(record.number) + " (x32 ABI denied)";
    const auto name = syscall_name(record.number);
    return (name.empty() ? std::string("unknown") : std::string(name)) + " (" + std::to_string(record.number) + ")";
}

/// Installs the SIGSYS reporter writing to report_fd. Call in the child before the filter.
inline result<void> install_violation_reporter(int report_fd) {
    detail::violation_report_fd = report_fd;
    struct sigaction action {};
    action.sa_sigaction = &detail::report_violation;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGSYS, &action, nullptr) != 0)
        return fail(error_kind::internal, std::string("sigaction(SIGSYS): ") + std::strerror(errno));
    return {};
}

/// Sets no_new_privs and installs the filter for these rules. With violation_action::notify
/// the returned descriptor is the supervisor's notification listener; otherwise -1.
inline result<int> install_filter(const std::vector<syscall_rule>& rules, violation_action action) {
    auto program = compile_filter(rules, action);
    if (program.size() > BPF_MAXINSNS)
        return fail(error_kind::internal, "seccomp filter too long: " + std::to_string(program.size()));
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail(error_kind::unsupported, std::string("no_new_privs: ") + std::strerror(errno));
    const unsigned flags = action == violation_action::notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0U;
    const long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (fd < 0) return fail(error_kind::unsupported, std::string("seccomp: ") + std::strerror(errno));
    return action == violation_action::notify ? static_cast<int>(fd) : -1;
}

} // namespace cordon::process
