// Modules made to break the loader: constant expressions WABT's IR reader cannot take, nesting
// deep enough to exhaust any stack that recursed over it. Each must be a load error, in process.
#include "module_builder.hpp"

#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <pthread.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

namespace cordon::wasm {
namespace {

using ::testing::HasSubstr;
using testing::bytes;
using testing::section;
using testing::wasm_module;

/// Runs `fn` on a thread with a stack of `stack_bytes`, so that recursion the input controls
/// overflows here, at a size a host may well choose, instead of passing on a large main stack.
void on_small_stack(std::size_t stack_bytes, const std::function<void()>& fn) {
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, stack_bytes), 0);
    pthread_t thread;
    auto run = [](void* arg) -> void* {
        (*static_cast<const std::function<void()>*>(arg))();
        return nullptr;
    };
    ASSERT_EQ(pthread_create(&thread, &attr, run, const_cast<std::function<void()>*>(&fn)), 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

/// Loads `b`, and meters it if it loaded; returns the load's error message ("" when it loaded).
std::string load_and_meter(const bytes& b) {
    auto m = module::from_bytes(b);
    if (!m) {
        EXPECT_EQ(m.error().kind(), error_kind::load_error);
        return m.error().message();
    }
    auto metered_form = metered(*m);
    EXPECT_TRUE(metered_form) << metered_form.error().message();
    return "";
}

// A global initialiser whose `if` has a type index for a block type, in a module with no type
// section: WABT's IR reader takes the `if` and leaves its label open for the next constant
// expression, where `else` or `end` finds an empty list and fails an assertion.
struct const_expr_case {
    const char* name;
    bytes module;
};

std::vector<const_expr_case> const_expr_cases() {
    const bytes memory = section(5, {0x01, 0x00, 0x01});
    const bytes table = section(4, {0x01, 0x70, 0x00, 0x01});
    auto global = [](const bytes& init) {
        bytes body{0x01, 0x7F, 0x00};
        body.insert(body.end(), init.begin(), init.end());
        return section(6, body);
    };
    auto data = [](const bytes& offset) {
        bytes body{0x01, 0x00};
        body.insert(body.end(), offset.begin(), offset.end());
        body.push_back(0x00);
        return section(11, body);
    };
    auto elem = [](const bytes& offset) {
        bytes body{0x01, 0x00};
        body.insert(body.end(), offset.begin(), offset.end());
        body.push_back(0x00);
        return section(9, body);
    };
    return {
        // Found by fuzzing WABT's own tools, which abort on each of them.
        {"if_typeindex_then_data_else", wasm_module({memory, global({0x03, 0x00, 0x04, 0x00}), data({0x0B, 0x03, 0x00, 0x0B, 0x04, 0x00, 0x04, 0x00, 0x05})})},
        {"if_then_data_block_loop", wasm_module({global({0x04, 0x40, 0x05}), section(9, {0x01, 0x00, 0x05, 0x02, 0x40, 0x03, 0x00, 0x00, 0x0B}), data({0x03, 0x00, 0x05, 0x03, 0x00, 0x00})})},
        {"block_typeindex_then_global_else", wasm_module({memory, section(6, {0x01, 0x7F, 0x00, 0x02, 0x00, 0x02, 0x40, 0x0B}), section(6, {0x01, 0x00, 0x05, 0x04, 0x40, 0x00})})},
        {"nested_ifs_then_elem_if", wasm_module({table, global({0x04, 0x40, 0x04, 0x40}), section(10, {0x01, 0x00, 0x0B, 0x04, 0x00, 0x04, 0x40, 0x04, 0x00, 0x00})})},
        // The same hole through each door: if, else, block, loop with a type index, in a global,
        // a data offset and an element offset.
        {"global_if_typeindex", wasm_module({global({0x41, 0x00, 0x04, 0x00, 0x0B}), global({0x05, 0x0B})})},
        {"global_if_else_typeindex", wasm_module({global({0x41, 0x00, 0x04, 0x00, 0x05, 0x0B})})},
        {"global_block_typeindex", wasm_module({global({0x02, 0x00, 0x0B, 0x41, 0x00, 0x0B})})},
        {"global_loop_typeindex", wasm_module({global({0x03, 0x00, 0x0B, 0x41, 0x00, 0x0B})})},
        {"data_if_typeindex", wasm_module({memory, data({0x41, 0x00, 0x04, 0x00, 0x05, 0x0B})})},
        {"data_block_typeindex", wasm_module({memory, data({0x02, 0x00, 0x0B})})},
        {"elem_loop_typeindex", wasm_module({table, elem({0x03, 0x00, 0x0B})})},
        {"elem_if_else_typeindex", wasm_module({table, elem({0x41, 0x00, 0x04, 0x00, 0x05, 0x0B})})},
        // A constant expression that never ends before its section does.
        {"global_without_end", wasm_module({global({0x41, 0x00})})},
        // Instructions that are not constant.
        {"global_local_get", wasm_module({global({0x20, 0x00, 0x0B})})},
        {"data_offset_call", wasm_module({memory, data({0x10, 0x00, 0x0B})})},
    };
}

TEST(WasmHostileModules, ConstantExpressionsWithBlocksAreLoadErrors) {
    for (const auto& c : const_expr_cases()) {
        SCOPED_TRACE(c.name);
        auto m = module::from_bytes(c.module);
        ASSERT_FALSE(m);
        EXPECT_EQ(m.error().kind(), error_kind::load_error);
        EXPECT_THAT(m.error().message(), HasSubstr("module"));
    }
}

TEST(WasmHostileModules, EveryIrPathValidatesFirst) {
    // The IR reader is reached by inspection and by the metering rewrite; the rewrite's own
    // parse must refuse what loading refuses, whoever calls it.
    for (const auto& c : const_expr_cases()) {
        SCOPED_TRACE(c.name);
        for (bool validate : {false, true}) {
            auto ir = detail::parse_ir(c.module, validate);
            ASSERT_FALSE(ir);
            EXPECT_EQ(ir.error().kind(), error_kind::load_error);
        }
    }
}

TEST(WasmHostileModules, ConstantExpressionsThatAreConstantStillLoad) {
    auto m = module::from_bytes(wasm_module({section(5, {0x01, 0x00, 0x01}), section(6, {0x01, 0x7F, 0x00, 0x41, 0x07, 0x0B}),
                                             section(11, {0x01, 0x00, 0x41, 0x00, 0x0B, 0x01, 'x'})}));
    EXPECT_TRUE(m) << m.error().message();
}

TEST(WasmHostileModules, RandomConstantExpressionsNeverAbort) {
    // The generator that found the cases above, run in process: any abort fails the program.
    static const bytes tokens[] = {{0x04, 0x00}, {0x02, 0x00}, {0x03, 0x00}, {0x05}, {0x0B}, {0x0B},
                                   {0x41, 0x00}, {0x04, 0x40}, {0x02, 0x40}, {0x23, 0x00}, {0xD2, 0x00}, {0xD0, 0x70}};
    std::mt19937 rng{20261201};
    auto expr = [&] {
        bytes out;
        for (std::uint32_t n = 1 + rng() % 6; n > 0; --n) {
            const bytes& t = tokens[rng() % std::size(tokens)];
            out.insert(out.end(), t.begin(), t.end());
        }
        return out;
    };
    int loaded = 0;
    for (int round = 0; round < 20'000; ++round) {
        bytes b = wasm_module({});
        auto add = [&](std::uint8_t id, bytes body) { testing::append(b, section(id, body)); };
        if (rng() % 2) add(4, {0x01, 0x70, 0x00, 0x01});
        if (rng() % 2) add(5, {0x01, 0x00, 0x01});
        if (const std::uint8_t globals = rng() % 4; globals) {
            bytes body{globals};
            for (int g = 0; g < globals; ++g) {
                body.push_back(rng() % 2 ? 0x7F : 0x70);
                body.push_back(0x00);
                testing::append(body, expr());
            }
            add(6, body);
        }
        for (std::uint8_t id : {std::uint8_t{9}, std::uint8_t{11}}) {
            if (rng() % 5 >= 2) continue;
            bytes body{0x01, 0x00};
            testing::append(body, expr());
            body.push_back(0x00);
            add(id, body);
        }
        if (load_and_meter(b).empty()) ++loaded;
    }
    EXPECT_GT(loaded, 0);  // the generator also makes valid modules, which must still load
}

TEST(WasmHostileModules, DeepNestingIsRefusedWithoutRecursion) {
    for (std::size_t depth : {std::size_t{200'000}, std::size_t{1'000'000}}) {
        SCOPED_TRACE(depth);
        const bytes b = testing::one_function(testing::void_type, {}, testing::nested_blocks(depth));
        std::string message;
        on_small_stack(256 << 10, [&] { message = load_and_meter(b); });
        EXPECT_THAT(message, HasSubstr("nest deeper than the limit of " + std::to_string(block_nesting_bound)));
    }
}

TEST(WasmHostileModules, NestingAtTheBoundLoadsAndMetersOnASmallStack) {
    const bytes b = testing::one_function(testing::void_type, {}, testing::nested_blocks(block_nesting_bound));
    std::string message = "not run";
    on_small_stack(256 << 10, [&] { message = load_and_meter(b); });
    EXPECT_EQ(message, "");
    const bytes over = testing::one_function(testing::void_type, {}, testing::nested_blocks(block_nesting_bound + 1));
    EXPECT_THAT(load_and_meter(over), HasSubstr("nest deeper"));
}

TEST(WasmHostileModules, HostsMayTightenTheNestingBound) {
    load_options options;
    options.max_block_nesting = 10;
    const bytes b = testing::one_function(testing::void_type, {}, testing::nested_blocks(11));
    auto m = module::from_bytes(b, options);
    ASSERT_FALSE(m);
    EXPECT_THAT(m.error().message(), HasSubstr("limit of 10"));
    EXPECT_TRUE(module::from_bytes(testing::one_function(testing::void_type, {}, testing::nested_blocks(10)), options));
}

// Data segment flags past 2 are not in the binary format. WABT reads 3 and 7 as a passive
// segment with a memory index and then writes the segment back in a form it cannot read, so the
// metering rewrite handed an engine broken bytes (found by the compiled fuzzer).
TEST(WasmHostileModules, DataSegmentFlagsOutsideTheFormatAreLoadErrors) {
    for (std::uint8_t flags : {3, 4, 7, 0x7f}) {
        const bytes b = wasm_module({section(11, {0x01, flags, 0x00, 0x01, 0xAA})});
        EXPECT_THAT(load_and_meter(b), HasSubstr("invalid flags")) << int{flags};
    }
    // The three forms the format has, with a memory for the active ones, load and meter.
    const bytes memory = section(5, {0x01, 0x00, 0x01});
    const bytes active = {0x00, 0x41, 0x00, 0x0B, 0x01, 0xAA};
    const bytes passive = {0x01, 0x01, 0xBB};
    const bytes indexed = {0x02, 0x00, 0x41, 0x08, 0x0B, 0x01, 0xCC};
    bytes all{0x03};
    testing::append(all, active);
    testing::append(all, passive);
    testing::append(all, indexed);
    EXPECT_EQ(load_and_meter(wasm_module({memory, section(11, all)})), "");
    EXPECT_THAT(load_and_meter(wasm_module({memory, section(11, {0x01, 0x00, 0x41, 0x00, 0x0B, 0x05, 0xAA})})),
                HasSubstr("runs past the data section"));
    EXPECT_THAT(load_and_meter(wasm_module({memory, section(11, {0x01, 0x00, 0x20, 0x00, 0x0B, 0x01, 0xAA})})),
                HasSubstr("not a constant expression"));
}

// The data count section's count was read by no check of cordon's, and WABT's interpreter
// reader reserves room for that many segments when it reads it: 14 bytes claiming 19 million
// segments made the host allocate 2.8 GB (found by the compiled fuzzer). The count is held to
// the segment limit and must match the data section, as the format says.
TEST(WasmHostileModules, DataCountsAreBoundedAndMatchTheDataSection) {
    EXPECT_THAT(load_and_meter(wasm_module({section(12, {0xFF, 0xFF, 0xFF, 0x08})})),
                HasSubstr("data count section claims 18874367 segments, more than the limit"));
    EXPECT_THAT(load_and_meter(wasm_module({section(12, {0x01})})),
                HasSubstr("data count section says 1 segments, the data section has 0"));
    EXPECT_THAT(load_and_meter(wasm_module({section(12, {0x01, 0x00})})), HasSubstr("junk after the count"));
    EXPECT_THAT(load_and_meter(wasm_module({section(12, {})})), HasSubstr("truncated count in data count section"));
    const bytes memory = section(5, {0x01, 0x00, 0x01});
    const bytes two_passive = section(11, {0x02, 0x01, 0x01, 0xAA, 0x01, 0x00});
    EXPECT_THAT(load_and_meter(wasm_module({memory, section(12, {0x03}), two_passive})),
                HasSubstr("data count section says 3 segments, the data section has 2"));
    EXPECT_EQ(load_and_meter(wasm_module({memory, section(12, {0x02}), two_passive})), "");
    EXPECT_EQ(load_and_meter(wasm_module({section(12, {0x00})})), "") << "no segments, and a count that says so";
}

// A custom section is a name and bytes; without a whole name, or with a name that is not UTF-8,
// the binary is malformed (custom.wast, utf8-custom-section-id.wast).
TEST(WasmHostileModules, CustomSectionsNeedAUtf8Name) {
    EXPECT_THAT(load_and_meter(wasm_module({section(0, {})})), HasSubstr("custom section without a whole name"));
    EXPECT_THAT(load_and_meter(wasm_module({section(0, {0x05, 'a', 'b'})})), HasSubstr("custom section without a whole name"));
    for (const bytes& name : {bytes{0x80}, bytes{0xC0, 0x80}, bytes{0xED, 0xA0, 0x80}, bytes{0xF4, 0x90, 0x80, 0x80}, bytes{0xE2, 0x82}}) {
        bytes body{static_cast<std::uint8_t>(name.size())};
        testing::append(body, name);
        EXPECT_THAT(load_and_meter(wasm_module({section(0, body)})), HasSubstr("not UTF-8"));
    }
    EXPECT_EQ(load_and_meter(wasm_module({section(0, {0x04, 'n', 'a', 'm', 'e'}), section(0, {0x03, 0xE2, 0x82, 0xAC, 0x01})})), "");
    EXPECT_EQ(load_and_meter(wasm_module({section(0, {0x00})})), "") << "an empty name is a name";
}

} // namespace
} // namespace cordon::wasm
