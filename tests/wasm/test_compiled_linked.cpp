// The compiled engine's build-time path: modules translated by cordon_add_compiled_wasm_module()
// are compiled into this test program and sandboxes are created from them by name, through the
// facade, without a cache or a compiler at run time.
#include "test_support.hpp"

#include <cordon/cordon.hpp>
#include <cordon/wasm/compiled.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace cordon::wasm::testing {
namespace {

using ::testing::HasSubstr;
using strict_policy = cordon::policy<isolation::strict>;
using fuel_limited = cordon::policy<isolation::strict, limit::fuel<100'000>>;
using small_memory = cordon::policy<isolation::strict, limit::memory<8 << 20>>;

static_assert(cordon::backend<wasm::compiled, strict_policy>);

TEST(CompiledLinked, ModulesAreRegisteredByName) {
    const auto names = compiled_module_names();
    EXPECT_THAT(names, ::testing::IsSupersetOf({"basic", "fib", "memory_bomb"}));
    auto missing = compiled_module("no_such_module");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), error_kind::invalid_argument);
}

TEST(CompiledLinked, RunsWithoutCacheOrCompiler) {
    // Neither a cache nor a compiler is reachable: only the code linked into the program can run.
    const auto nowhere = std::filesystem::temp_directory_path() / ("cordon-no-cache-" + std::to_string(::getpid()));
    const std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    const char* saved_cache = std::getenv("XDG_CACHE_HOME");
    const std::string saved_cache_value = saved_cache ? saved_cache : "";
    ::setenv("XDG_CACHE_HOME", nowhere.c_str(), 1);
    ::setenv("PATH", "/nonexistent", 1);
    auto fib = compiled_module("fib");
    ASSERT_TRUE(fib) << fib.error().message();
    sandbox<wasm::compiled, strict_policy> box{*fib};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t)>("fib", 25), 75025);
    EXPECT_FALSE(box.backend_instance()->engine().code_from_cache());
    EXPECT_FALSE(std::filesystem::exists(nowhere));
    ::setenv("PATH", saved_path.c_str(), 1);
    if (saved_cache) ::setenv("XDG_CACHE_HOME", saved_cache_value.c_str(), 1);
    else ::unsetenv("XDG_CACHE_HOME");
}

TEST(CompiledLinked, SameModuleLoadedFromAFileUsesTheLinkedCode) {
    // The registry is keyed by the module's digest: the file the build translated is the same.
    sandbox<wasm::compiled, strict_policy> box{load("basic")};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    EXPECT_EQ(*box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 40, 2), 42);
    EXPECT_FALSE(box.backend_instance()->engine().code_from_cache());
}

TEST(CompiledLinked, PolicyLimitsHold) {
    sandbox<wasm::compiled, fuel_limited> limited{compiled_module("fib").value()};
    auto r = limited.call<std::int32_t(std::int32_t)>("fib", 30);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);

    sandbox<wasm::compiled, small_memory> bomb{compiled_module("memory_bomb").value()};
    ASSERT_TRUE(bomb.ok()) << bomb.status().error().message();
    auto grown = bomb.run_main();
    ASSERT_FALSE(grown);
    EXPECT_EQ(grown.error().kind(), error_kind::memory_limit);
}

TEST(CompiledLinked, TrapsAndLimitsOnManyThreadsStayOnTheirThread) {
    // Each thread traps (by instruction and by fault), runs out of fuel and recovers on its own:
    // the unwind target and the meter are per sandbox and per thread.
    constexpr int threads = 6;
    constexpr int rounds = 200;
    std::atomic<int> good{0}, trapped{0}, out_of_fuel{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            sandbox<wasm::compiled, strict_policy> box{compiled_module("basic").value()};
            sandbox<wasm::compiled, fuel_limited> limited{compiled_module("fib").value()};
            for (int i = 0; i < rounds; ++i) {
                switch ((i + t) % 4) {
                case 0: {
                    auto r = box.call<std::int32_t(std::int32_t, std::int32_t)>("divide", 1, 0);
                    if (!r && r.error().message().find("integer divide by zero") != std::string::npos) ++trapped;
                    break;
                }
                case 1: {
                    auto r = box.call<std::int32_t(std::int32_t)>("load", -1);
                    if (!r && r.error().message().find("out of bounds memory access") != std::string::npos) ++trapped;
                    break;
                }
                case 2: {
                    auto r = limited.call<std::int32_t(std::int32_t)>("fib", 30);
                    if (!r && r.error().kind() == error_kind::fuel_exhausted) ++out_of_fuel;
                    break;
                }
                default: {
                    auto r = box.call<std::int32_t(std::int32_t)>("fib", 15);
                    if (r && *r == 610) ++good;
                }
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(good.load(), threads * rounds / 4);
    EXPECT_EQ(trapped.load(), threads * rounds / 2);
    EXPECT_EQ(out_of_fuel.load(), threads * rounds / 4);
}

} // namespace
} // namespace cordon::wasm::testing
