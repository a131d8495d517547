// Attacks on the generated seccomp filter: denied calls are named, foreign ABIs are refused,
// and the filter follows the permission set.
#include "child_harness.hpp"

#include <cordon/process/seccomp.hpp>

#include <gtest/gtest.h>

#include <linux/sched.h>
#include <sys/ptrace.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <csignal>
#include <cstring>

namespace cp = cordon::process;
using cp::testing::run_in_child;

namespace {

// Confines the calling child with the rules of `perms` and a reporter on report_fd.
bool confine(int report_fd, cp::syscall_permissions perms) {
    perms.self_pid = ::getpid();
    return cp::install_violation_reporter(report_fd) &&
           cp::install_filter(cp::syscall_rules(perms), cp::violation_action::trap).has_value();
}

} // namespace

TEST(SyscallTable, NamesAndNumbersAgree) {
    static_assert(cp::syscall_nr("ptrace") == 101);
    static_assert(cp::syscall_name(59) == "execve");
    EXPECT_EQ(cp::syscall_number("no_such_call"), std::nullopt);
    EXPECT_EQ(cp::syscall_name(100000), "");
}

TEST(SeccompFilter, AllowedCallsRunAndTheChildExitsNormally) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        const char message[] = "ok";
        return ::write(fd, message, 0) == 0 ? 7 : 2;
    });
    ASSERT_TRUE(outcome.exited());
    EXPECT_EQ(outcome.exit_code(), 7);
    EXPECT_FALSE(outcome.violation);
}

TEST(SeccompFilter, PtraceOfTheParentIsReportedByName) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        ::ptrace(PTRACE_ATTACH, ::getppid(), nullptr, nullptr);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(outcome.violation->number, 101);
    EXPECT_EQ(cp::describe_violation(*outcome.violation), "ptrace (101)");
    EXPECT_EQ(outcome.exit_code(), cp::violation_exit_code);
}

TEST(SeccompFilter, DangerousCallsAreDeniedWithEveryGrant) {
    cp::syscall_permissions all;
    all.fs_read = all.fs_write = all.net = all.clock = all.random = all.system = true;
    for (long nr : {cp::syscall_nr("setuid"), cp::syscall_nr("unshare"), cp::syscall_nr("mount"),
                    cp::syscall_nr("bpf"), cp::syscall_nr("keyctl"), cp::syscall_nr("ptrace"),
                    cp::syscall_nr("setrlimit"), cp::syscall_nr("init_module"), cp::syscall_nr("reboot"),
                    cp::syscall_nr("io_uring_setup"), cp::syscall_nr("sendmmsg")}) {
        auto outcome = run_in_child([&](int fd) {
            if (!confine(fd, all)) return 1;
            ::syscall(nr, 0, 0, 0, 0, 0);
            return 0;
        });
        ASSERT_TRUE(outcome.violation) << cp::syscall_name(nr);
        EXPECT_EQ(outcome.violation->number, nr);
    }
}

TEST(SeccompFilter, ForkAndExecNeedTheProcessPermission) {
    auto fork_outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        return ::fork() >= 0 ? 0 : 3;
    });
    ASSERT_TRUE(fork_outcome.violation);
    EXPECT_EQ(cp::syscall_name(fork_outcome.violation->number), "clone");

    auto exec_outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execv("/bin/true", argv);
        return 3;
    });
    ASSERT_TRUE(exec_outcome.violation);
    EXPECT_EQ(cp::syscall_name(exec_outcome.violation->number), "execve");

    cp::syscall_permissions with_process;
    with_process.process = true;
    auto allowed = run_in_child([&](int fd) {
        if (!confine(fd, with_process)) return 1;
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(5);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    });
    EXPECT_FALSE(allowed.violation);
    EXPECT_EQ(allowed.exit_code(), 5);
}

TEST(SeccompFilter, The32BitAbiIsRefused) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        long result = 20;  // getpid in the i386 table, allowed in the 64-bit one
        asm volatile("int $0x80" : "+a"(result) : : "memory");
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_NE(outcome.violation->arch, static_cast<std::uint32_t>(AUDIT_ARCH_X86_64));
    EXPECT_EQ(outcome.violation->number, 20);
}

TEST(SeccompFilter, TheX32AbiIsRefused) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        ::syscall(0x40000000L | 39);  // getpid with the x32 bit
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_NE(outcome.violation->number & 0x40000000L, 0);
    EXPECT_NE(cp::describe_violation(*outcome.violation).find("x32"), std::string::npos);
}

TEST(SeccompFilter, TheReporterCannotBeReplaced) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGSYS, &ignore, nullptr);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "rt_sigaction");
}

TEST(SeccompFilter, TheReporterCanBeReadButNotReplaced) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        struct sigaction current {};
        if (::sigaction(SIGSYS, nullptr, &current) != 0) return 2;
        return current.sa_sigaction != nullptr ? 0 : 3;
    });
    EXPECT_FALSE(outcome.violation);
    EXPECT_EQ(outcome.exit_code(), 0);
}

TEST(SeccompFilter, WritesThroughOpenNeedFsWrite) {
    cp::syscall_permissions read_only;
    read_only.fs_read = true;
    auto outcome = run_in_child([&](int fd) {
        if (!confine(fd, read_only)) return 1;
        const int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (file < 0) return 2;
        ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "openat");  // glibc opens through openat
}

TEST(SeccompFilter, SocketsNeedNet) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        ::socket(AF_INET, SOCK_STREAM, 0);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "socket");
}

TEST(SeccompFilter, SignalsToOtherProcessesAreDenied) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        ::kill(::getppid(), SIGKILL);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "kill");
}

// The kernel reads a pid, a signal number or an ioctl request as 32 bits: a set high half must
// not carry a refused value past the filter.
TEST(SeccompFilter, AHighHalfDoesNotSmuggleAnArgumentPastTheFilter) {
    const pid_t victim = ::fork();
    if (victim == 0) {
        ::pause();
        ::_exit(0);
    }
    auto kill_outcome = run_in_child([victim](int fd) {
        if (!confine(fd, {})) return 1;
        ::syscall(SYS_kill, (1L << 32) | victim, SIGKILL);
        return 0;
    });
    ::usleep(20000);
    int status = 0;
    const bool victim_died = ::waitpid(victim, &status, WNOHANG) == victim;
    if (!victim_died) {
        ::kill(victim, SIGKILL);
        ::waitpid(victim, &status, 0);
    }
    EXPECT_FALSE(victim_died) << "a kill with a set high half reached another process";
    ASSERT_TRUE(kill_outcome.violation);
    EXPECT_EQ(cp::syscall_name(kill_outcome.violation->number), "kill");

    auto handler_outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        struct {
            void (*handler)(int);
            unsigned long flags;
            void (*restorer)();
            unsigned long mask;
        } ignore{SIG_IGN, 0, nullptr, 0};
        if (::syscall(SYS_rt_sigaction, (1L << 32) | SIGSYS, &ignore, nullptr, 8) == 0) {
            ::syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);  // would now go unreported
            return 0;
        }
        return 3;
    });
    ASSERT_TRUE(handler_outcome.violation);
    EXPECT_EQ(cp::syscall_name(handler_outcome.violation->number), "rt_sigaction");
}

// glibc's pthread_create flags pass; a thread clone that also asks for namespaces, or any
// other flag set, is a violation, and clone3 (whose flags no filter can read) is refused.
TEST(SeccompFilter, OnlyThreadClonesPass) {
    cp::syscall_permissions threads;
    threads.threads = true;
    auto thread_outcome = run_in_child([&](int fd) {
        if (!confine(fd, threads)) return 1;
        pthread_t thread;
        if (::pthread_create(&thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr) != 0) return 2;
        return ::pthread_join(thread, nullptr) == 0 ? 0 : 3;
    });
    EXPECT_FALSE(thread_outcome.violation);
    EXPECT_EQ(thread_outcome.exit_code(), 0);

    auto namespaced = run_in_child([&](int fd) {
        if (!confine(fd, threads)) return 1;
        constexpr unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                        CLONE_SYSVSEM | CLONE_NEWNET | CLONE_NEWUSER;
        static char stack[16384];
        // A raw clone: the child would run on `stack` with nothing set up, so it exits at once.
        long rc;
        asm volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "1:"
                     : "=a"(rc)
                     : "0"(SYS_clone), "D"(flags), "S"(stack + sizeof stack), "d"(0L)
                     : "rcx", "r11", "memory");
        return rc > 0 ? 0 : 3;
    });
    ASSERT_TRUE(namespaced.violation);
    EXPECT_EQ(cp::syscall_name(namespaced.violation->number), "clone");

    auto clone3 = run_in_child([&](int fd) {
        if (!confine(fd, threads)) return 1;
        clone_args args{};
        args.flags = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_NEWNET;
        return ::syscall(SYS_clone3, &args, sizeof args) < 0 && errno == ENOSYS ? 0 : 3;
    });
    EXPECT_FALSE(clone3.violation);
    EXPECT_EQ(clone3.exit_code(), 0);
}

// With the process permission, fork passes but a new namespace does not: user namespaces are
// where the kernel's attack surface grows.
TEST(SeccompFilter, ProcessesMayForkButNotCreateNamespaces) {
    cp::syscall_permissions with_process;
    with_process.process = true;
    auto outcome = run_in_child([&](int fd) {
        if (!confine(fd, with_process)) return 1;
        ::syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, nullptr, nullptr, nullptr, 0);
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "clone");
}

// `net` means IP endpoints: with it, a unix socket still cannot reach a path-named socket of
// the host, through connect, an unconnected datagram, or a socketpair's datagram end.
TEST(SeccompFilter, NetGrantsNoUnixSockets) {
    const std::string path = "/tmp/cordon-seccomp-unix-" + std::to_string(::getpid());
    ::unlink(path.c_str());
    const int listener = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    cp::syscall_permissions net;
    net.net = true;
    auto outcome = run_in_child([&](int fd) {
        if (!confine(fd, net)) return 1;
        if (::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0) return 2;  // IP sockets are the grant
        int reached = 0;
        const int stream = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (stream >= 0 && ::connect(stream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) reached |= 4;
        const int dgram = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        if (dgram >= 0 && ::sendto(dgram, "x", 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 1)
            reached |= 8;
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0) {
            msghdr message{};
            iovec part{const_cast<char*>("y"), 1};
            message.msg_name = &addr;
            message.msg_namelen = sizeof addr;
            message.msg_iov = &part;
            message.msg_iovlen = 1;
            if (::sendmsg(pair[0], &message, 0) == 1) reached |= 16;
        }
        return 10 + reached;
    });
    char received[4];
    const auto got = ::recv(listener, received, sizeof received, MSG_DONTWAIT);
    ::close(listener);
    ::unlink(path.c_str());
    EXPECT_LT(got, 0) << "a datagram reached the host's unix socket";
    EXPECT_FALSE(outcome.violation);
    EXPECT_EQ(outcome.exit_code(), 10);
}

// A net grant with ports is checked by landlock's TCP rules alone, so the filter lets only TCP
// streams be made: the type is compared without the flags the kernel strips, the protocol must
// be TCP (MPTCP connects past the port rules), and the ways of connecting or binding that skip
// connect() and bind() (fast open, listen's autobind) are violations.
TEST(SeccompFilter, APortScopedNetGrantMakesOnlyTcpStreams) {
    cp::syscall_permissions scoped;
    scoped.net = scoped.net_by_port = true;
    auto allowed = run_in_child([&](int fd) {
        if (!confine(fd, scoped)) return 1;
        if (::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) < 0) return 2;
        if (::socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) < 0) return 3;
        if (::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EAFNOSUPPORT) return 4;
        const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
        return ::send(tcp, "x", 1, MSG_NOSIGNAL) < 0 ? 0 : 5;  // not fast open: not connected
    });
    EXPECT_FALSE(allowed.violation) << cp::describe_violation(*allowed.violation);
    EXPECT_EQ(allowed.exit_code(), 0);

    struct attempt {
        const char* what;
        long (*call)();
        const char* syscall;
    };
    static const attempt attempts[] = {
        {"udp", [] { return ::syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }, "socket"},
        {"udp6", [] { return ::syscall(SYS_socket, AF_INET6, SOCK_DGRAM, IPPROTO_UDP); }, "socket"},
        {"raw", [] { return ::syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_RAW); }, "socket"},
        {"packet", [] { return ::syscall(SYS_socket, AF_PACKET, SOCK_DGRAM, 0); }, "socket"},
        {"sctp", [] { return ::syscall(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_SCTP); }, "socket"},
        {"mptcp", [] { return ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 262); }, "socket"},
        {"high half", [] { return ::syscall(SYS_socket, AF_INET, (1L << 32) | SOCK_DGRAM, 0); }, "socket"},
        {"fast open", [] {
             const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
             sockaddr_in to{};
             to.sin_family = AF_INET;
             to.sin_port = htons(9);
             to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
             return static_cast<long>(
                 ::sendto(fd, "x", 1, MSG_FASTOPEN, reinterpret_cast<sockaddr*>(&to), sizeof to));
         }, "sendto"},
        {"fast open message", [] {
             const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
             msghdr message{};
             return static_cast<long>(::sendmsg(fd, &message, MSG_FASTOPEN));
         }, "sendmsg"},
        {"listen", [] { return static_cast<long>(::listen(::socket(AF_INET, SOCK_STREAM, 0), 1)); }, "listen"},
    };
    for (const auto& a : attempts) {
        auto outcome = run_in_child([&](int fd) {
            if (!confine(fd, scoped)) return 1;
            a.call();
            return 0;
        });
        ASSERT_TRUE(outcome.violation) << a.what;
        EXPECT_EQ(cp::syscall_name(outcome.violation->number), a.syscall) << a.what;
    }
}

// x86_64 has no socketcall, but the i386 ABI has both it (102) and socket (359): a 32-bit call
// would make a UDP socket past the 64-bit rules if the ABI check did not come first.
TEST(SeccompFilter, TheI386SocketCallsAreRefusedUnderAScopedGrant) {
    cp::syscall_permissions scoped;
    scoped.net = scoped.net_by_port = true;
    for (long nr : {102L, 359L}) {
        auto outcome = run_in_child([&](int fd) {
            if (!confine(fd, scoped)) return 1;
            long result = nr;
            const long domain_or_call = nr == 102 ? 1 : AF_INET;  // SYS_SOCKET for socketcall
            asm volatile("int $0x80" : "+a"(result) : "b"(domain_or_call), "c"(SOCK_DGRAM), "d"(0) : "memory");
            return 0;
        });
        ASSERT_TRUE(outcome.violation) << nr;
        EXPECT_NE(outcome.violation->arch, static_cast<std::uint32_t>(AUDIT_ARCH_X86_64)) << nr;
        EXPECT_EQ(outcome.violation->number, nr);
    }
}

// Without ports the grant is every IP endpoint: datagrams and listening pass; families other
// than IP, unix and netlink are violations, as they are without `net`.
TEST(SeccompFilter, AnUnscopedNetGrantKeepsDatagrams) {
    cp::syscall_permissions net;
    net.net = true;
    auto allowed = run_in_child([&](int fd) {
        if (!confine(fd, net)) return 1;
        if (::socket(AF_INET, SOCK_DGRAM, 0) < 0) return 2;
        if (::listen(::socket(AF_INET6, SOCK_STREAM, 0), 1) != 0) return 3;
        if (::socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EAFNOSUPPORT) return 4;
        return 0;
    });
    EXPECT_FALSE(allowed.violation) << cp::describe_violation(*allowed.violation);
    EXPECT_EQ(allowed.exit_code(), 0);
    auto packet = run_in_child([&](int fd) {
        if (!confine(fd, net)) return 1;
        ::socket(AF_PACKET, SOCK_RAW, 0);
        return 0;
    });
    ASSERT_TRUE(packet.violation);
    EXPECT_EQ(cp::syscall_name(packet.violation->number), "socket");
}

// Descriptor flags that send signals (F_SETOWN, F_SETSIG) would reach other processes.
TEST(SeccompFilter, DescriptorOwnersCannotBeSet) {
    auto outcome = run_in_child([](int fd) {
        if (!confine(fd, {})) return 1;
        if (::fcntl(fd, F_GETFD) < 0) return 2;
        ::fcntl(fd, F_SETOWN, ::getppid());
        return 0;
    });
    ASSERT_TRUE(outcome.violation);
    EXPECT_EQ(cp::syscall_name(outcome.violation->number), "fcntl");
}
