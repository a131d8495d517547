// A host function run in a persistent child from the zygote: calls, errors as values, and
// attacks from inside the function (violations, limits, crashes) that leave the host intact.
#include <cordon/process/confinement.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/process/persistent_child.hpp>

#include <gtest/gtest.h>

#include <sys/ptrace.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <thread>
#include <vector>

namespace cp = cordon::process;
using cordon::error_kind;

namespace {

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
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
    const auto before = std::chrono::steady_clock::now();
    auto spun = call<&spin>(*child, 0);
    const auto took = std::chrono::steady_clock::now() - before;
    ASSERT_FALSE(spun);
    EXPECT_EQ(spun.error().kind(), error_kind::cpu_limit);
    ASSERT_TRUE(spun.error().info().limit);
    EXPECT_GE(spun.error().info().limit->observed.value_or(0), 150U);
    EXPECT_LT(took, std::chrono::seconds(2));
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

INSTANTIATE_TEST_SUITE_P(Levels, FunctionPayload,
                         ::testing::Values(cp::isolation_level::minimal, cp::isolation_level::standard,
                                           cp::isolation_level::strict, cp::isolation_level::maximum),
                         [](const auto& info) { return std::string(cp::to_string(info.param)); });
