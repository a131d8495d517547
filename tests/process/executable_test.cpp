// An executable run in the process sandbox at each level: arguments, environment, stdin and
// captured output, and the hostile program's attacks, each held with its status.
#include <cordon/process/confinement.hpp>
#include <cordon/process/executable.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace cp = cordon::process;
namespace fs = std::filesystem;
using cordon::error_kind;

namespace {

const std::string attacker = CORDON_TEST_ATTACKER;

struct ExecutableTest : ::testing::TestWithParam<cp::isolation_level> {
    cp::exec_outcome run(std::vector<std::string> args, cp::grants grants = {}, cp::resource_limits limits = {},
                         std::string stdin_bytes = {}, std::vector<std::string> env = {}) {
        auto setup = cp::make_confinement(GetParam(), grants, limits, cp::payload_kind::executable, attacker);
        auto outcome = cp::run_executable(setup, {attacker, args, std::move(env), std::move(stdin_bytes)});
        EXPECT_TRUE(outcome) << outcome.error().message();
        if (outcome && outcome->failure)
            std::cerr << "  [" << args.front() << "] " << cordon::to_string(outcome->failure->kind()) << ": "
                      << outcome->failure->message() << "\n";
        return outcome ? std::move(*outcome) : cp::exec_outcome{};
    }
    // The attack was refused: either the program saw an error, or the sandbox stopped it.
    static bool refused(const cp::exec_outcome& o) { return o.failure.has_value() || o.exit_code != 0; }
};

} // namespace

TEST_P(ExecutableTest, PassesArgumentsEnvironmentAndStdin) {
    auto outcome = run({"echo", "first"}, {}, {}, "from stdin", {"CORDON_TEST=env-value"});
    ASSERT_FALSE(outcome.failure) << outcome.failure->message();
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.stdout_bytes, "first|from stdin");
    EXPECT_EQ(outcome.stderr_bytes, "err:env-value");
}

TEST_P(ExecutableTest, AMissingProgramIsALoadError) {
    auto setup = cp::make_confinement(GetParam(), {}, {}, cp::payload_kind::executable, "/nonexistent");
    auto outcome = cp::run_executable(setup, {"/nonexistent/program"});
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().kind(), error_kind::load_error);
}

TEST_P(ExecutableTest, ForkAndExecWithoutProcessAreViolations) {
    if (GetParam() == cp::isolation_level::minimal) GTEST_SKIP() << "minimal grants process by default policy";
    auto forked = run({"fork"});
    ASSERT_TRUE(forked.failure);
    EXPECT_EQ(forked.failure->kind(), error_kind::violation);
    EXPECT_EQ(forked.failure->info().syscall, "clone");
    auto execd = run({"exec"});
    ASSERT_TRUE(execd.failure);
    EXPECT_EQ(execd.failure->kind(), error_kind::violation);
    EXPECT_EQ(execd.failure->info().syscall, "execve");
}

TEST_P(ExecutableTest, DangerousCallsAreViolations) {
    for (const char* attack : {"setuid", "unshare", "mount", "bpf", "keyctl", "ptrace"}) {
        auto outcome = run({attack, "1"});
        ASSERT_TRUE(outcome.failure) << attack;
        EXPECT_EQ(outcome.failure->kind(), error_kind::violation) << attack;
        EXPECT_TRUE(outcome.failure->info().syscall.has_value()) << attack;
    }
}

TEST_P(ExecutableTest, The32BitAbiIsAViolation) {
    auto outcome = run({"i386"});
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::violation);
    EXPECT_NE(outcome.failure->message().find("i386"), std::string::npos) << outcome.failure->message();
}

TEST_P(ExecutableTest, KillingTheHostOrTheZygoteFails) {
    auto z = cp::zygote::get();
    ASSERT_TRUE(z);
    for (pid_t target : {::getpid(), (*z)->pid()}) {
        auto outcome = run({"kill", std::to_string(target)});
        EXPECT_TRUE(refused(outcome));
    }
    EXPECT_EQ(::kill((*z)->pid(), 0), 0) << "the zygote must still be alive";
}

TEST_P(ExecutableTest, NoDescriptorLeaksIntoTheChild) {
    const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
    auto outcome = run({"leaks"});
    ::close(leaked);
    ASSERT_FALSE(outcome.failure) << outcome.failure->message();
    // Nothing is left above stderr: the child's control socket and program descriptor close at exec.
    EXPECT_EQ(outcome.exit_code, 0) << "open descriptors: " << outcome.stdout_bytes;
}

TEST_P(ExecutableTest, ACpuSpinIsACpuLimit) {
    cp::resource_limits limits;
    limits.cpu_time_ms = 100;
    auto outcome = run({"spin"}, {}, limits);
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::cpu_limit);
}

TEST_P(ExecutableTest, ASleepPastTheWallLimitIsATimeout) {
    cp::resource_limits limits;
    limits.wall_time_ms = 100;
    cp::grants clock;
    clock.clock = true;
    auto outcome = run({"sleep"}, clock, limits);
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::timeout);
}

TEST_P(ExecutableTest, AMemoryBombIsAMemoryLimit) {
    cp::resource_limits limits;
    limits.memory_bytes = 32ULL << 20;
    auto outcome = run({"memory"}, {}, limits);
    ASSERT_TRUE(outcome.failure) << "exit " << outcome.exit_code;
    EXPECT_EQ(outcome.failure->kind(), error_kind::memory_limit) << outcome.failure->message();
}

TEST_P(ExecutableTest, AnOutputFloodIsAnOutputLimit) {
    cp::resource_limits limits;
    limits.output_bytes = 64 * 1024;
    auto outcome = run({"flood"}, {}, limits);
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::output_limit);
    EXPECT_EQ(outcome.stdout_bytes.size(), 64U * 1024);
}

TEST_P(ExecutableTest, DescriptorExhaustionStopsAtTheLimit) {
    cp::resource_limits limits;
    limits.open_files = 16;
    auto outcome = run({"fds"}, {}, limits);
    ASSERT_FALSE(outcome.failure) << outcome.failure->message();
    EXPECT_LE(std::stoi(outcome.stdout_bytes), 16);
}

// The smallest limits used to fail the sandbox's own set-up (its seccomp listener found no
// free descriptor); stdin, stdout and stderr are not counted against the guest.
TEST_P(ExecutableTest, ASmallFilesLimitLeavesExactlyThatManyDescriptors) {
    for (std::uint64_t files : {1U, 2U, 4U}) {
        cp::resource_limits limits;
        limits.open_files = files;
        auto outcome = run({"fds"}, {}, limits);
        ASSERT_FALSE(outcome.failure) << files << ": " << outcome.failure->message();
        EXPECT_EQ(outcome.stdout_bytes, std::to_string(files));
    }
}

TEST_P(ExecutableTest, AFileSizeBombIsAFileLimit) {
    char pattern[] = "/tmp/cordon-fsize-XXXXXX";
    const fs::path dir = ::mkdtemp(pattern);
    cp::grants grants;
    grants.write_paths = {dir.string()};
    cp::resource_limits limits;
    limits.file_size_bytes = 1 << 20;
    auto outcome = run({"fsize", (dir / "big").string()}, grants, limits);
    ASSERT_TRUE(outcome.failure) << "exit " << outcome.exit_code;
    EXPECT_EQ(outcome.failure->kind(), error_kind::file_limit);
    EXPECT_LE(fs::file_size(dir / "big"), 1U << 20);
    fs::remove_all(dir);
}

TEST_P(ExecutableTest, FilesOutsideTheGrantsAreOutOfReach) {
    if (GetParam() == cp::isolation_level::minimal) GTEST_SKIP() << "minimal has no filesystem confinement";
    char pattern[] = "/tmp/cordon-exec-fs-XXXXXX";
    const fs::path dir = ::mkdtemp(pattern);
    fs::create_directories(dir / "granted");
    std::ofstream(dir / "granted" / "in.txt") << "in";
    std::ofstream(dir / "secret.txt") << "secret";
    fs::create_symlink(dir / "secret.txt", dir / "granted" / "link");
    cp::grants grants;
    grants.read_paths = {(dir / "granted").string()};
    EXPECT_EQ(run({"read", (dir / "granted" / "in.txt").string()}, grants).exit_code, 0);
    EXPECT_TRUE(refused(run({"read", (dir / "secret.txt").string()}, grants)));
    EXPECT_TRUE(refused(run({"read", (dir / "granted" / ".." / "secret.txt").string()}, grants)));
    EXPECT_TRUE(refused(run({"read", (dir / "granted" / "link").string()}, grants)));
    EXPECT_TRUE(refused(run({"read", "/etc/shadow"}, grants)));
    EXPECT_TRUE(refused(run({"write", (dir / "granted" / "new.txt").string()}, grants)));
    EXPECT_FALSE(fs::exists(dir / "granted" / "new.txt"));
    fs::remove_all(dir);
}

TEST_P(ExecutableTest, ALoopbackListenerIsUnreachableWithoutNet) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    auto outcome = run({"connect", std::to_string(ntohs(addr.sin_port))});
    EXPECT_TRUE(refused(outcome));
    ::close(listener);
}

TEST_P(ExecutableTest, TheHostsAbstractUnixSocketIsUnreachable) {
    if (GetParam() == cp::isolation_level::minimal) GTEST_SKIP() << "minimal has no landlock scoping";
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string name = "cordon-exec-test-" + std::to_string(::getpid());
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), addr_len), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    cp::grants net;
    net.net = GetParam() != cp::isolation_level::strict && GetParam() != cp::isolation_level::maximum;
    auto outcome = run({"abstract", name}, net);
    EXPECT_TRUE(refused(outcome));
    ::close(listener);
}

// The payload's descriptor number with an absolute path: the kernel would run the path, so
// the filter admits no execveat of its own and the supervisor lets only the sandbox's one by.
TEST_P(ExecutableTest, ExecveatWithAnAbsolutePathIsAViolation) {
    auto outcome = run({"execveat"});
    ASSERT_TRUE(outcome.failure) << "exit " << outcome.exit_code;
    EXPECT_EQ(outcome.failure->kind(), error_kind::violation);
    EXPECT_EQ(outcome.failure->info().syscall, "execveat");
}

// `net` is IP endpoints: a path-named unix socket of the host outside every grant stays shut.
TEST_P(ExecutableTest, TheHostsPathNamedUnixSocketIsUnreachableWithNet) {
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = "/tmp/cordon-exec-unix-" + std::to_string(::getpid());
    ::unlink(path.c_str());
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    ::chmod(path.c_str(), 0777);
    cp::grants net;
    net.net = true;
    auto outcome = run({"unix", path}, net);
    EXPECT_TRUE(refused(outcome));
    pollfd pending{listener, POLLIN, 0};
    EXPECT_EQ(::poll(&pending, 1, 0), 0) << "the guest reached the host's unix socket";
    ::close(listener);
    ::unlink(path.c_str());
}

TEST_P(ExecutableTest, AForkBombHitsTheProcessLimit) {
    if (GetParam() != cp::isolation_level::minimal) GTEST_SKIP() << "only minimal may be granted process";
    cp::grants grants;
    grants.process = true;
    cp::resource_limits limits;
    limits.processes = 8;
    limits.wall_time_ms = 500;
    auto outcome = run({"forkbomb"}, grants, limits);
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::process_limit) << outcome.failure->message();
}

// Waiting for a signal is no escape: pause() ends at the wall limit like any other wait.
TEST_P(ExecutableTest, PauseIsATimeoutNotAViolation) {
    cp::resource_limits limits;
    limits.wall_time_ms = 300;
    auto outcome = run({"pause"}, {}, limits);
    ASSERT_TRUE(outcome.failure);
    EXPECT_EQ(outcome.failure->kind(), error_kind::timeout) << outcome.failure->message();
}

// Ordinary programs, static and dynamic, run to a clean exit at standard and strict: the
// allow-lists are drawn from what they call, refusals they handle are errors, not kills.
TEST_P(ExecutableTest, OrdinaryProgramsExitCleanly) {
    if (GetParam() != cp::isolation_level::standard && GetParam() != cp::isolation_level::strict)
        GTEST_SKIP() << "drawn for standard and strict";
    const fs::path data = fs::temp_directory_path() / ("cordon-ordinary-" + std::to_string(::getpid()));
    fs::create_directories(data);
    std::ofstream(data / "note.txt") << "a note\n";
    cp::grants reads;
    reads.read_paths = {data.string()};
    struct program {
        std::string path;
        std::vector<std::string> args;
        std::string expected_stdout;
    };
    const std::vector<program> programs{
        {CORDON_TEST_STATIC_EMPTY, {}, ""},
        {"/bin/true", {}, ""},
        {"/bin/ls", {data.string()}, "note.txt\n"},
        {"/bin/cat", {(data / "note.txt").string()}, "a note\n"},
        {"/usr/bin/python3", {"-c", "print(sum(range(10)))"}, "45\n"},
    };
    for (const auto& p : programs) {
        if (!fs::exists(p.path)) continue;
        auto setup = cp::make_confinement(GetParam(), reads, {}, cp::payload_kind::executable, p.path);
        auto outcome = cp::run_executable(setup, {p.path, p.args, {}, {}});
        ASSERT_TRUE(outcome) << p.path << ": " << outcome.error().message();
        EXPECT_FALSE(outcome->failure) << p.path << ": " << outcome->failure->message();
        EXPECT_EQ(outcome->exit_code, 0) << p.path << ": " << outcome->stderr_bytes;
        EXPECT_EQ(outcome->stdout_bytes, p.expected_stdout) << p.path;
    }
    fs::remove_all(data);
}

INSTANTIATE_TEST_SUITE_P(Levels, ExecutableTest,
                         ::testing::Values(cp::isolation_level::minimal, cp::isolation_level::standard,
                                           cp::isolation_level::strict, cp::isolation_level::maximum),
                         [](const auto& info) { return std::string(cp::to_string(info.param)); });
