// A host function run in a persistent child from the zygote: calls, errors as values, and
// attacks from inside the function (violations, limits, crashes) that leave the host intact.
#include <cordon/process/confinement.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/process/persistent_child.hpp>

#include <gtest/gtest.h>

#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <fcntl.h>
#include <thread>
#include <vector>

namespace cp = cordon::process;
using cordon::error_kind;

namespace {

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
std::int32_t forty_two() { return 42; }
std::string greet(std::string name) { return "hello " + name; }
std::int64_t spin(std::int64_t) {
    volatile std::int64_t n = 0;
    for (;;) n = n + 1;
}
// A fault no sanitizer intercepts (an invalid instruction), so every build sees a plain crash.
std::int32_t crash(std::int32_t) { __builtin_trap(); }
std::int32_t trace(std::int32_t pid) { return static_cast<std::int32_t>(::ptrace(PTRACE_ATTACH, pid, 0, 0)); }
std::int64_t allocate(std::int64_t mebibytes) {
    std::vector<char*> blocks;
    for (std::int64_t i = 0; i < mebibytes; ++i) {
        auto* block = static_cast<char*>(std::malloc(1 << 20));
        if (block == nullptr) return -1;
        for (int j = 0; j < (1 << 20); j += 4096) block[j] = 1;
        blocks.push_back(block);
    }
    return static_cast<std::int64_t>(blocks.size());
}
std::int32_t sleep_ms(std::int32_t ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}
std::int32_t exit_now(std::int32_t code) { ::_exit(code); }
std::int32_t write_forever(std::string path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    std::vector<char> chunk(1 << 16, 'x');
    for (;;)
        if (::write(fd, chunk.data(), chunk.size()) < 0) return errno;
}

// Opens `wanted` descriptors at once and closes them: the count, or -errno at the first refusal.
std::int32_t hoard(std::int32_t wanted) {
    std::vector<int> held;
    std::int32_t answer = wanted;
    for (std::int32_t i = 0; i < wanted; ++i) {
        const int fd = ::fcntl(1, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            answer = -errno;
            break;
        }
        held.push_back(fd);
    }
    for (int fd : held) ::close(fd);
    return answer;
}
// Tries to put a descriptor where the sandbox keeps its own, out of the guest's range.
std::int32_t dup_onto(std::int32_t target) { return ::dup2(1, target) < 0 ? -errno : 0; }

cp::confinement setup(cp::isolation_level level, cp::grants grants = {}, cp::resource_limits limits = {}) {
    return cp::make_confinement(level, grants, limits, cp::payload_kind::function);
}

template <auto F, class... Args> auto call(cp::persistent_child& child, const Args&... args) {
    using fn = cp::sandboxed<F>;
    auto bytes = child.call(fn::entry(), fn::encode_arguments(args...));
    return bytes ? fn::decode_result(*bytes) : cordon::result<typename fn::result_type>{bytes.error()};
}

} // namespace

class FunctionPayload : public ::testing::TestWithParam<cp::isolation_level> {};

TEST_P(FunctionPayload, ServesManyCalls) {
    auto child = cp::persistent_child::start(setup(GetParam()), {});
    ASSERT_TRUE(child) << child.error().message();
    for (int i = 0; i < 100; ++i) {
        auto sum = call<&add>(*child, i, 1);
        ASSERT_TRUE(sum) << sum.error().message();
        EXPECT_EQ(*sum, i + 1);
    }
    auto text = call<&greet>(*child, std::string("cordon"));
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "hello cordon");
    EXPECT_EQ(child->usage().calls, 101U);
}

// No arguments: an empty request, which the host copies into the channel as zero bytes.
TEST_P(FunctionPayload, AFunctionWithoutArgumentsIsCalled) {
    auto child = cp::persistent_child::start(setup(GetParam()), {});
    ASSERT_TRUE(child) << child.error().message();
    auto answer = call<&forty_two>(*child);
    ASSERT_TRUE(answer) << answer.error().message();
    EXPECT_EQ(*answer, 42);
}

TEST_P(FunctionPayload, PtraceOfTheHostIsAViolationNamingTheCall) {
    auto child = cp::persistent_child::start(setup(GetParam()), {});
    ASSERT_TRUE(child) << child.error().message();
    auto traced = call<&trace>(*child, static_cast<std::int32_t>(::getpid()));
    ASSERT_FALSE(traced);
    EXPECT_EQ(traced.error().kind(), error_kind::violation);
    EXPECT_EQ(traced.error().info().syscall, "ptrace");
    EXPECT_EQ(traced.error().info().syscall_number, 101);
    EXPECT_FALSE(child->alive());
}

TEST_P(FunctionPayload, ACrashIsAnErrorValue) {
    auto child = cp::persistent_child::start(setup(GetParam()), {});
    ASSERT_TRUE(child);
    auto crashed = call<&crash>(*child, 0);
    ASSERT_FALSE(crashed);
    EXPECT_EQ(crashed.error().kind(), error_kind::crash);
    EXPECT_EQ(crashed.error().info().signal, SIGILL);
}

TEST_P(FunctionPayload, ACpuSpinStopsAtTheCpuLimit) {
    cp::resource_limits limits;
    limits.cpu_time_ms = 150;
    auto child = cp::persistent_child::start(setup(GetParam(), {}, limits), {});
    ASSERT_TRUE(child);
    auto spun = call<&spin>(*child, 0);
    ASSERT_FALSE(spun);
    EXPECT_EQ(spun.error().kind(), error_kind::cpu_limit);
    ASSERT_TRUE(spun.error().info().limit);
    EXPECT_GE(spun.error().info().limit->observed.value_or(0), 150U);
}

TEST_P(FunctionPayload, ASleepPastTheWallLimitIsATimeout) {
    cp::resource_limits limits;
    limits.wall_time_ms = 100;
    cp::grants clock;
    clock.clock = true;
    auto child = cp::persistent_child::start(setup(GetParam(), clock, limits), {});
    ASSERT_TRUE(child);
    auto quick = call<&sleep_ms>(*child, 1);
    ASSERT_TRUE(quick) << quick.error().message();
    auto slept = call<&sleep_ms>(*child, 5000);
    ASSERT_FALSE(slept);
    EXPECT_EQ(slept.error().kind(), error_kind::timeout);
}

TEST_P(FunctionPayload, AMemoryBombHitsTheMemoryLimit) {
    cp::resource_limits limits;
    limits.memory_bytes = 32ULL << 20;
    auto child = cp::persistent_child::start(setup(GetParam(), {}, limits), {});
    ASSERT_TRUE(child);
    auto grown = call<&allocate>(*child, 512);
    ASSERT_FALSE(grown) << "allocated " << *grown << " MiB";
    EXPECT_EQ(grown.error().kind(), error_kind::memory_limit) << grown.error().message();
}

TEST_P(FunctionPayload, AnExitMidCallIsACrash) {
    auto child = cp::persistent_child::start(setup(GetParam()), {});
    ASSERT_TRUE(child);
    auto ended = call<&exit_now>(*child, 3);
    ASSERT_FALSE(ended);
    EXPECT_EQ(ended.error().kind(), error_kind::crash);
}

TEST_P(FunctionPayload, AFileSizeBombIsAFileLimit) {
    char pattern[] = "/tmp/cordon-fn-fsize-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    cp::grants grants;
    grants.write_paths = {dir};
    cp::resource_limits limits;
    limits.file_size_bytes = 1 << 20;
    auto child = cp::persistent_child::start(setup(GetParam(), grants, limits), {});
    ASSERT_TRUE(child) << child.error().message();
    auto written = call<&write_forever>(*child, dir + "/big");
    ASSERT_FALSE(written) << "the write loop ended with errno " << *written;
    EXPECT_EQ(written.error().kind(), error_kind::file_limit) << written.error().message();
    std::filesystem::remove_all(dir);
}

// The guest may hold exactly open_files descriptors besides stdin, stdout and stderr; past
// them the kernel refuses with EMFILE (the call itself succeeds: what the guest does with the
// refusal is its business). The smallest limits used to break the child's own set-up.
TEST_P(FunctionPayload, TheOpenFilesLimitHoldsAtEverySize) {
    for (std::int32_t files : {1, 2, 4}) {
        cp::resource_limits limits;
        limits.open_files = static_cast<std::uint64_t>(files);
        auto child = cp::persistent_child::start(setup(GetParam(), {}, limits), {});
        ASSERT_TRUE(child) << files << ": " << child.error().message();
        auto within = call<&hoard>(*child, files);
        ASSERT_TRUE(within) << within.error().message();
        EXPECT_EQ(*within, files);
        auto beyond = call<&hoard>(*child, files + 1);
        ASSERT_TRUE(beyond) << beyond.error().message();
        EXPECT_EQ(*beyond, -EMFILE);
        auto again = call<&hoard>(*child, files);  // everything was closed: the budget is back
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, files);
        auto onto = call<&dup_onto>(*child, cp::control_fd_number);
        ASSERT_TRUE(onto);
        EXPECT_EQ(*onto, -EBADF) << "the control socket must be out of the guest's range";
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, FunctionPayload,
                         ::testing::Values(cp::isolation_level::minimal, cp::isolation_level::standard,
                                           cp::isolation_level::strict, cp::isolation_level::maximum),
                         [](const auto& info) { return std::string(cp::to_string(info.param)); });

namespace {
// Writes into the shared channel's header as a hostile guest could: claims to have died.
std::int32_t pretend_to_die(std::int64_t header_address) {
    auto* header = reinterpret_cast<cp::channel_header*>(header_address);
    header->peer_gone.store(1);
    cp::publish(header->response_seq);
    for (;;) ::pause();
}
} // namespace

TEST(FunctionPayloadChannel, AChildPretendingToDieIsKilledNotLeaked) {
    auto child = cp::persistent_child::start(setup(cp::isolation_level::strict), {});
    ASSERT_TRUE(child);
    const pid_t pid = child->pid();
    // Where the child mapped its channel; a guest could find it the same way in its own maps.
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    std::int64_t address = 0;
    while (std::getline(maps, line))
        if (line.find("memfd:cordon-channel") != std::string::npos) address = std::stoll(line, nullptr, 16);
    ASSERT_NE(address, 0);
    auto answer = call<&pretend_to_die>(*child, address);
    ASSERT_FALSE(answer);
    EXPECT_FALSE(child->alive());
    EXPECT_NE(::kill(pid, 0), 0) << "the child must be gone";
}

// Under the usual soft descriptor limit of 1024, hundreds of live sandboxes still start: the
// zygote raises the soft limit to the hard one, and each sandbox holds few host descriptors.
TEST(FunctionPayloadScale, HundredsOfSandboxesStartUnderTheDefaultDescriptorLimit) {
    rlimit files{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
    if (files.rlim_max < 4096) GTEST_SKIP() << "the hard descriptor limit is too low to show the difference";
    constexpr int wanted = 400;
    const pid_t host = ::fork();
    if (host == 0) {
        // A host of its own (a forked process starts its own zygote), as a user's would start.
        rlimit usual{1024, files.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &usual) != 0) ::_exit(2);
        std::vector<cp::persistent_child> children;
        for (int i = 0; i < wanted; ++i) {
            auto child = cp::persistent_child::start(setup(cp::isolation_level::minimal), {});
            if (!child) {
                std::fprintf(stderr, "sandbox %d: %s\n", i, child.error().message().c_str());
                ::_exit(3);
            }
            children.push_back(std::move(*child));
        }
        auto answer = call<&add>(children.back(), 40, 2);
        ::_exit(answer && *answer == 42 ? 0 : 4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(host, &status, 0), host);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}
