// The pool of warm children: sandboxes take a confined child started ahead of time, only for
// exactly their confinement and only once; a child that died while waiting is never handed
// out; a crashed pooled child is replaced and counted like any other.
#include <cordon/process.hpp>

#include <gtest/gtest.h>

#include <sys/ptrace.h>

#include <chrono>
#include <cstring>
#include <new>
#include <thread>

namespace {
using namespace cordon;
namespace cp = cordon::process;

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
std::int32_t crash(std::int32_t) { __builtin_trap(); }
std::int32_t trace(std::int32_t pid) { return static_cast<std::int32_t>(::ptrace(PTRACE_ATTACH, pid, 0, 0)); }

cp::function_table functions() {
    return cp::function_table{}.add<&add>("add").add<&crash>("crash").add<&trace>("trace");
}

using strict = policy<isolation::strict>;

cp::confinement strict_setup(cp::resource_limits limits = {}) {
    return cp::make_confinement(cp::isolation_level::strict, {}, limits, cp::payload_kind::function);
}

// Enables a pool for one test and disables it afterwards, whatever happens.
struct pool_in_use {
    std::shared_ptr<cp::warm_pool> pool;
    explicit pool_in_use(std::size_t per_setup, cp::warm_pool::refill mode = cp::warm_pool::refill::on_request)
        : pool{cp::warm_pool::enable(per_setup, mode)} {}
    ~pool_in_use() { cp::warm_pool::disable(); }
};

bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 500; ++i) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

TEST(WarmPool, ASandboxTakesAWarmChildForItsConfinement) {
    pool_in_use in_use{2};
    ASSERT_TRUE(cp::prepare_warm<strict>(*in_use.pool, functions()));
    sandbox<cp::backend, strict> box{functions()};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(in_use.pool->taken(), 1U);
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 2, 40), 42);
    // Still confined: a pooled child is a child like any other.
    auto traced = box.call<std::int32_t(std::int32_t)>("trace", static_cast<std::int32_t>(::getpid()));
    ASSERT_FALSE(traced);
    EXPECT_EQ(traced.error().kind(), error_kind::violation);
}

TEST(WarmPool, AChildIsHandedOutOnlyOnce) {
    pool_in_use in_use{2};
    ASSERT_TRUE(cp::prepare_warm<strict>(*in_use.pool, functions()));
    sandbox<cp::backend, strict> first{functions()};
    sandbox<cp::backend, strict> second{functions()};
    sandbox<cp::backend, strict> third{functions()};
    ASSERT_TRUE(first.ok() && second.ok() && third.ok());
    EXPECT_EQ(in_use.pool->taken(), 2U);
    EXPECT_EQ(in_use.pool->missed(), 1U);
    // Each has a child of its own: all three answer.
    EXPECT_TRUE(first.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1));
    EXPECT_TRUE(second.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1));
    EXPECT_TRUE(third.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1));
}

TEST(WarmPool, AnotherConfinementNeverGetsTheChild) {
    pool_in_use in_use{1};
    ASSERT_TRUE(cp::prepare_warm<strict>(*in_use.pool, functions()));
    sandbox_options options;
    options.grants = {"clock"};  // a different filter: the warm child would be wrongly confined
    sandbox<cp::backend, strict> box{functions(), std::move(options)};
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(in_use.pool->taken(), 0U);
    EXPECT_EQ(in_use.pool->warm(cp::default_confinement<strict>(functions()), {}), 1U);
    cp::resource_limits tighter;
    tighter.memory_bytes = 8 << 20;
    EXPECT_FALSE(in_use.pool->take(strict_setup(tighter), {}));
}

TEST(WarmPool, AChildThatDiedOnTheShelfIsNotHandedOut) {
    pool_in_use in_use{1};
    ASSERT_TRUE(in_use.pool->prepare(strict_setup(), {}));
    // The shelved child is the zygote's only child now: kill it as the OOM killer might.
    auto z = cp::zygote::get();
    ASSERT_TRUE(z);
    const pid_t shelved = cp::detail::only_child_of((*z)->pid());
    ASSERT_GT(shelved, 0);
    ASSERT_EQ(::kill(shelved, SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return ::kill(shelved, 0) != 0; }));  // reaped by the zygote
    EXPECT_FALSE(in_use.pool->take(strict_setup(), {}));
    EXPECT_EQ(in_use.pool->missed(), 1U);
    EXPECT_EQ(in_use.pool->warm(strict_setup(), {}), 0U);
}

TEST(WarmPool, ACrashedPooledChildIsReplacedAndCounted) {
    pool_in_use in_use{1, cp::warm_pool::refill::in_background};
    ASSERT_TRUE(cp::prepare_warm<strict>(*in_use.pool, functions()));
    sandbox<cp::backend, strict> box{functions()};
    ASSERT_TRUE(box.ok());
    // The pool refills in the background: wait until a replacement is warm.
    ASSERT_TRUE(eventually([&] { return in_use.pool->warm(cp::default_confinement<strict>(functions()), {}) == 1; }));
    auto crashed = box.call<std::int32_t(std::int32_t)>("crash", 0);
    ASSERT_FALSE(crashed);
    EXPECT_EQ(crashed.error().kind(), error_kind::crash);
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 1), 2);
    EXPECT_EQ(box.telemetry().restarts, 1U);
    EXPECT_EQ(in_use.pool->taken(), 2U) << "the replacement came from the pool";
}

// The pool matches children by their encoded confinement: padding bytes in what is encoded
// would make equal confinements differ (and did, under clang).
TEST(WarmPool, EqualConfinementsEncodeAlike) {
    const auto a = strict_setup();
    auto b = a;
    alignas(cp::syscall_permissions) unsigned char garbage[sizeof(cp::syscall_permissions)];
    std::memset(garbage, 0xab, sizeof garbage);
    auto* noisy = new (garbage) cp::syscall_permissions;  // default-initialised: padding stays 0xab
    // Field by field (a whole-object copy would copy a's padding along).
    const auto& s = a.syscalls;
    noisy->fs_read = s.fs_read, noisy->fs_write = s.fs_write, noisy->net = s.net, noisy->process = s.process;
    noisy->clock = s.clock, noisy->random = s.random, noisy->system = s.system, noisy->threads = s.threads;
    noisy->loader = s.loader, noisy->strictest = s.strictest, noisy->self_pid = s.self_pid;
    noisy->reserve_limit_signals = s.reserve_limit_signals;
    std::memcpy(static_cast<void*>(&b.syscalls), garbage, sizeof garbage);
    EXPECT_EQ(cp::encode(a), cp::encode(b));
}

TEST(WarmPool, NoPoolMeansColdStarts) {
    cp::warm_pool::disable();
    EXPECT_EQ(cp::warm_pool::current(), nullptr);
    sandbox<cp::backend, strict> box{functions()};
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 20, 22), 42);
}
