// Attacks on the generated seccomp filter: denied calls are named, foreign ABIs are refused,
// and the filter follows the permission set.
#include "child_harness.hpp"

#include <cordon/process/seccomp.hpp>

#include <gtest/gtest.h>

#include <sys/ptrace.h>
#include <sys/socket.h>

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
                    cp::syscall_nr("setrlimit"), cp::syscall_nr("init_module"), cp::syscall_nr("reboot")}) {
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
