// The metering rewrite: its output is a valid module with the meter's imports, the function
// names and exports of the original, shared between sandboxes, and it refuses forged meters.
#include "test_support.hpp"

#include <cordon/wasm/linker.hpp>
#include <cordon/wasm/metering.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cordon::wasm {
namespace {

using testing::load;

bool imports(const module& m, std::string_view mod, std::string_view name) {
    for (const auto& i : m.imports())
        if (i.module == mod && i.name == name) return true;
    return false;
}

class WasmMetering : public ::testing::TestWithParam<std::string> {};

TEST_P(WasmMetering, RewriteValidatesAndKeepsInterface) {
    module original = load(GetParam());
    for (int variant = 0; variant < 4; ++variant) {
        const bool frames = (variant & 1) != 0;
        const bool track = (variant & 2) != 0;
        auto metered_form = metered(original, metering_options{frames, track});
        ASSERT_TRUE(metered_form) << metered_form.error().message();
        auto reloaded = module::from_bytes((*metered_form)->bytes);
        ASSERT_TRUE(reloaded) << reloaded.error().message();
        EXPECT_TRUE(imports(*reloaded, meter_abi::module, meter_abi::out_of_fuel));
        EXPECT_TRUE(imports(*reloaded, meter_abi::module, meter_abi::fuel));
        EXPECT_EQ(imports(*reloaded, meter_abi::module, meter_abi::depth_limit), track);
        EXPECT_EQ(imports(*reloaded, meter_abi::module, meter_abi::current_function), frames);
        EXPECT_EQ(reloaded->exports().size(), original.exports().size());
        for (const auto& e : original.exports()) {
            const export_info* same = reloaded->find_export(e.name);
            ASSERT_NE(same, nullptr) << e.name;
            EXPECT_EQ(same->func_signature, e.func_signature);
            // Named functions keep their names; unnamed ones are "func[N]" with the new N.
            if (e.kind == extern_kind::function && original.function_name(e.index).rfind("func[", 0) != 0) {
                EXPECT_EQ(reloaded->function_name(same->index), original.function_name(e.index));
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Modules, WasmMetering,
                         ::testing::Values("basic", "start_spin", "import_clock", "bytes_echo", "hello", "fib",
                                           "memory_bomb", "sha256", "file_reader"));

TEST(WasmMeteringRules, RewriteIsDoneOncePerModule) {
    module m = load("basic");
    auto first = metered(m);
    auto second = metered(m);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->get(), second->get());
}

TEST(WasmMeteringRules, ModuleMayNotImportTheMeter) {
    auto m = metered(load("import_meter"));
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind(), error_kind::load_error);
    EXPECT_THAT(m.error().message(), ::testing::HasSubstr("reserved"));
}

TEST(WasmInspection, PermissionsNeededByImports) {
    EXPECT_EQ(permissions_needed(load("basic")), std::vector<std::string>{});
    EXPECT_EQ(permissions_needed(load("hello")), std::vector<std::string>{});
    EXPECT_EQ(permissions_needed(load("file_reader")), (std::vector<std::string>{"fs.read"}));
    EXPECT_EQ(permissions_needed(load("host_api")), (std::vector<std::string>{"clock", "fs.read", "fs.write", "random"}));
    EXPECT_EQ(permissions_needed(load("forbidden_import")), (std::vector<std::string>{"clock", "plugin"}));
}

} // namespace
} // namespace cordon::wasm
