// Runs the wasm behaviour suite on the compiled engine (wasm2c, compiled at run time into the
// test's cache), and what only the compiled engine has: its cache, its toolchain errors, and
// the rule that only objects cordon compiled are ever loaded.
#include "behaviour_suite.hpp"

#include <cordon/wasm/compiled.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

namespace cordon::wasm::testing {

using engines = ::testing::Types<compiled_engine>;
INSTANTIATE_TYPED_TEST_SUITE_P(Compiled, WasmBehaviour, engines);

namespace {

/// A private cache directory of its own for each test.
class CompiledCache : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("cordon-cache-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        options_.compile.cache_directory = dir_;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<std::filesystem::path> objects() const {
        std::vector<std::filesystem::path> found;
        for (const auto& entry : std::filesystem::directory_iterator(dir_))
            if (entry.path().extension() == ".so") found.push_back(entry.path());
        return found;
    }
    /// A fresh module value, so the per-module memo does not hide the cache.
    static module fresh(const std::string& name) { return module::from_bytes(module_bytes(name)).value(); }

    std::filesystem::path dir_;
    compiled_options options_;
};

} // namespace

TEST_F(CompiledCache, SecondLoadIsACacheHit) {
    auto first = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_FALSE((*first)->code_from_cache());
    ASSERT_EQ(objects().size(), 1u);
    auto second = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_TRUE((*second)->code_from_cache());
    EXPECT_EQ(*(*second)->call<std::int32_t(std::int32_t)>("fib", 20), 6765);
    EXPECT_EQ(objects().size(), 1u);
}

TEST_F(CompiledCache, ModulesLoadedOneAfterAnotherKeepTheirOwnCode) {
    // Each object is loaded through a descriptor; a reused descriptor number must never make
    // the loader hand back the code of a module still loaded.
    for (int round = 0; round < 3; ++round) {
        auto fib = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
        ASSERT_TRUE(fib) << fib.error().message();
        EXPECT_EQ(*(*fib)->call<std::int32_t(std::int32_t)>("fib", 10), 55);
        auto sha = compiled_instance::create(fresh("sha256"), strict_config(), {}, options_);
        ASSERT_TRUE(sha) << sha.error().message();
        EXPECT_TRUE((*sha)->call<std::uint32_t(std::int32_t)>("sha256_rounds", 1)) << "round " << round;
    }
}

TEST_F(CompiledCache, OtherMeteringIsAnotherObject) {
    ASSERT_TRUE(compiled_instance::create(fresh("fib"), strict_config(), {}, options_));
    options_.metering = metering_options{false, false};
    auto lean = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(lean) << lean.error().message();
    EXPECT_FALSE((*lean)->code_from_cache());
    EXPECT_EQ(objects().size(), 2u);
}

TEST_F(CompiledCache, TamperedObjectIsNeverLoaded) {
    ASSERT_TRUE(compiled_instance::create(fresh("fib"), strict_config(), {}, options_));
    const auto object = objects().at(0);
    {
        std::ofstream out(object, std::ios::binary | std::ios::app);
        out << "appended by someone else";
    }
    auto again = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_FALSE((*again)->code_from_cache()) << "a changed object must be compiled anew, not loaded";
    EXPECT_EQ(*(*again)->call<std::int32_t(std::int32_t)>("fib", 10), 55);
}

TEST_F(CompiledCache, ObjectWritableByOthersIsRefused) {
    ASSERT_TRUE(compiled_instance::create(fresh("fib"), strict_config(), {}, options_));
    ::chmod(objects().at(0).c_str(), 0666);
    auto again = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind(), error_kind::denied);
}

TEST_F(CompiledCache, CacheThroughASymlinkIsRefused) {
    const auto real = dir_ / "real";
    std::filesystem::create_directories(real);
    std::filesystem::create_directory_symlink(real, dir_ / "link");
    options_.compile.cache_directory = dir_ / "link";
    auto refused = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message(), HasSubstr("is not a directory"));
}

TEST_F(CompiledCache, CacheOfAnotherUserIsRefused) {
    std::filesystem::create_directories(dir_);
    if (::chown(dir_.c_str(), 65534, 65534) != 0) GTEST_SKIP() << "needs root to give the directory away";
    auto refused = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::denied);
    EXPECT_THAT(refused.error().message(), HasSubstr("must belong to this user"));
}

TEST_F(CompiledCache, MissingCompilerIsAClearError) {
    options_.compile.compiler = "cordon-no-such-compiler";
    auto failed = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::unsupported);
    EXPECT_THAT(failed.error().message(), HasSubstr("cordon-no-such-compiler"));
    // The interpreter remains available for the same module.
    auto fallback = interpreter_instance::create(fresh("fib"), strict_config());
    ASSERT_TRUE(fallback) << fallback.error().message();
}

TEST_F(CompiledCache, FailedCompileIsAClearError) {
    options_.compile.compiler_flags = {"-O2", "-DCORDON_BROKEN=", "-include", "/nonexistent/header.h"};
    auto failed = compiled_instance::create(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::load_error);
    EXPECT_THAT(failed.error().message(), HasSubstr("C compiler failed"));
    EXPECT_TRUE(objects().empty());
}

TEST(CompiledMemory, NoAddressSpaceForTheGuardRegionIsAMemoryLimit) {
    // Compile (or find) the code first, then, in a child whose address space is capped below the
    // 8 GiB a memory reserves, creating a sandbox must fail cleanly with memory_limit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "sanitizers reserve terabytes of shadow memory; an address-space cap breaks them";
#endif
    ASSERT_TRUE(compiled_instance::create(load("basic"), strict_config()));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const rlimit cap{std::uint64_t{6} << 30, std::uint64_t{6} << 30};
        if (::setrlimit(RLIMIT_AS, &cap) != 0) ::_exit(10);
        auto box = compiled_instance::create(load("basic"), strict_config());
        if (box) ::_exit(11);
        ::_exit(box.error().kind() == error_kind::memory_limit ? 0 : 12);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << "11: created anyway, 12: another error kind";
}

TEST(CompiledStack, DeepRecursionWithoutDepthCountingIsATrap) {
    // Without depth counting, unbounded recursion runs into the thread's stack guard; the fault
    // is handled on the alternate signal stack and becomes a trap. The host carries on.
    auto source = load("basic");
    std::string message;
    std::thread worker([&] {
        sandbox_config config = strict_config();
        config.call_depth = 1u << 30;
        compiled_options options;
        options.metering = metering_options{true, false};
        auto box = compiled_instance::create(source, config, {}, options);
        if (!box) {
            message = "create: " + box.error().message();
            return;
        }
        auto r = (*box)->call<std::int32_t(std::int32_t)>("recurse", 0);
        message = r ? "returned" : r.error().message();
        auto after = (*box)->call<std::int32_t(std::int32_t)>("fib", 10);
        if (!after || *after != 55) message += "; unusable afterwards";
    });
    worker.join();
    EXPECT_THAT(message, HasSubstr("call stack exhausted"));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("unusable")));
}

} // namespace cordon::wasm::testing
