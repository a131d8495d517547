// Module loading, validation and inspection: good modules are described exactly, bad input
// of every kind is an error value with a clear message, never a crash or a huge allocation.
#include "test_support.hpp"

#include <cordon/wasm/module.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace cordon::wasm {
namespace {

using ::testing::HasSubstr;
using testing::load;
using testing::module_bytes;
using testing::module_path;

TEST(WasmModule, InspectsExportsWithSignatures) {
    module m = load("basic");
    const export_info* fib = m.find_export("fib");
    ASSERT_NE(fib, nullptr);
    EXPECT_EQ(fib->kind, extern_kind::function);
    EXPECT_EQ(to_string(*fib->func_signature), "(i32) -> i32");
    EXPECT_EQ(to_string(*m.find_export("scale")->func_signature), "(f64, f32) -> f64");
    EXPECT_EQ(m.find_export("memory")->kind, extern_kind::memory);
    EXPECT_EQ(m.find_export("missing"), nullptr);
}

TEST(WasmModule, InspectsMemoryTableAndNames) {
    module m = load("basic");
    ASSERT_EQ(m.info().memories.size(), 1u);
    EXPECT_EQ(m.info().memories[0].initial, 1u);
    EXPECT_EQ(m.info().memories[0].maximum, 4u);
    ASSERT_EQ(m.info().tables.size(), 1u);
    EXPECT_EQ(m.info().tables[0].initial, 2u);
    EXPECT_EQ(m.function_name(m.find_export("nested_crash")->index), "nested_crash");
    EXPECT_EQ(m.function_name(m.find_export("crash")->index), "crash_here");
}

TEST(WasmModule, InspectsImports) {
    module m = load("import_clock");
    ASSERT_EQ(m.imports().size(), 1u);
    EXPECT_EQ(m.imports()[0].module, "cordon");
    EXPECT_EQ(m.imports()[0].name, "clock_now");
    EXPECT_EQ(to_string(*m.imports()[0].func_signature), "(i32) -> i64");
}

TEST(WasmModule, CompiledGuestHasWasiImports) {
    module m = load("hello");
    bool has_fd_write = false;
    for (const auto& i : m.imports()) has_fd_write |= i.module == "wasi_snapshot_preview1" && i.name == "fd_write";
    EXPECT_TRUE(has_fd_write);
    EXPECT_NE(m.find_export("_start"), nullptr);
}

TEST(WasmModule, MissingFileIsLoadError) {
    auto m = module::from_file("/nonexistent/plugin.wasm");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), error_kind::load_error);
    EXPECT_THAT(m.error().message(), HasSubstr("/nonexistent/plugin.wasm"));
}

TEST(WasmModule, GarbageIsLoadError) {
    const std::vector<std::uint8_t> garbage = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    auto m = module::from_bytes(garbage);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), error_kind::load_error);
    EXPECT_THAT(m.error().message(), HasSubstr("bad magic"));
}

TEST(WasmModule, EmptyAndShortInputAreLoadErrors) {
    EXPECT_FALSE(module::from_bytes({}));
    const std::vector<std::uint8_t> header_only = {0, 'a', 's', 'm'};
    auto m = module::from_bytes(header_only);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("truncated"));
}

TEST(WasmModule, WrongVersionIsUnsupported) {
    const std::vector<std::uint8_t> component = {0, 'a', 's', 'm', 0x0d, 0, 1, 0};
    auto m = module::from_bytes(component);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("unsupported binary version"));
}

TEST(WasmModule, EveryTruncationIsAnErrorNotACrash) {
    const auto bytes = module_bytes("basic");
    ASSERT_GT(bytes.size(), 100u);
    std::size_t rejected = 0;
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        auto m = module::from_bytes(std::span{bytes.data(), cut});
        if (m) continue;  // a cut on a section boundary is a smaller valid module
        ++rejected;
        EXPECT_EQ(m.error().kind(), error_kind::load_error);
    }
    EXPECT_GT(rejected, bytes.size() * 9 / 10);
    EXPECT_FALSE(module::from_bytes(std::span{bytes.data(), bytes.size() / 2}));
}

TEST(WasmModule, RandomCorruptionNeverCrashes) {
    const auto original = module_bytes("basic");
    std::mt19937 rng{12345};
    int rejected = 0;
    for (int round = 0; round < 2000; ++round) {
        auto bytes = original;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) bytes[8 + rng() % (bytes.size() - 8)] = static_cast<std::uint8_t>(rng());
        auto m = module::from_bytes(bytes);
        if (!m) {
            ++rejected;
            EXPECT_EQ(m.error().kind(), error_kind::load_error);
        }
    }
    EXPECT_GT(rejected, 100);
}

TEST(WasmModule, HugeCountsAreRefusedBeforeAllocation) {
    // A type section claiming 0xFFFFFFFF entries in 5 bytes.
    const std::vector<std::uint8_t> bytes = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    auto m = module::from_bytes(bytes);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("claims 4294967295 entries"));
}

TEST(WasmModule, HugeLocalCountIsRefused) {
    // One function () -> () whose body declares 0x0FFFFFFF i32 locals.
    const std::vector<std::uint8_t> bytes = {0, 'a', 's', 'm', 1, 0, 0, 0,
                                             1, 4, 1, 0x60, 0, 0,           // type section
                                             3, 2, 1, 0,                    // function section
                                             10, 9, 1, 7, 1, 0xFF, 0xFF, 0xFF, 0x7F, 0x7F, 0x0B};
    auto m = module::from_bytes(bytes);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("locals"));
}

TEST(WasmModule, SectionLongerThanModuleIsRefused) {
    const std::vector<std::uint8_t> bytes = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0x0F, 0};
    auto m = module::from_bytes(bytes);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("runs past the end"));
}

TEST(WasmModule, OversizedModuleIsRefused) {
    const auto bytes = module_bytes("basic");
    load_options tight;
    tight.max_bytes = 64;
    auto m = module::from_bytes(bytes, tight);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("more than the limit of 64"));
    auto f = module::from_file(module_path("basic"), tight);
    ASSERT_FALSE(f);
    EXPECT_THAT(f.error().message(), HasSubstr("more than the limit"));
}

TEST(WasmModule, TypeErrorsAreReported) {
    // (func (result i32) i64.const 0) : a validation error, not a parse error.
    const std::vector<std::uint8_t> bytes = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7F,
                                             3, 2, 1, 0, 10, 6, 1, 4, 0, 0x42, 0, 0x0B};
    auto m = module::from_bytes(bytes);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("invalid module"));
}

TEST(WasmModule, ThreadsAreUnsupported) {
    // A shared memory needs the threads proposal.
    const std::vector<std::uint8_t> bytes = {0, 'a', 's', 'm', 1, 0, 0, 0, 5, 4, 1, 3, 1, 1};
    auto m = module::from_bytes(bytes);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), error_kind::load_error);
}

TEST(WasmModule, CopiesShareOneParsedModule) {
    module a = load("basic");
    module b = a;
    EXPECT_EQ(a.bytes().data(), b.bytes().data());
}

} // namespace
} // namespace cordon::wasm
