// The validating read that stands before WABT's IR reader (wasm/detail/wabt_validate.hpp),
// against the reader it replaced there, WABT's interpreter reader, which validates with the same
// shared validator: both must accept and refuse the same modules. Over this project's fuzzing
// seeds, and over every binary module of the WebAssembly spec test suite when the suite and
// wast2json are present (CORDON_WASM_TESTSUITE overrides where the suite is looked for).
#include "../common/spec_files.hpp"

#include <cordon/wasm/detail/wabt_ir.hpp>

#include <wabt/interp/binary-reader-interp.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace cordon::wasm {
namespace {

namespace fs = std::filesystem;

using cordon::testing::read_file_bytes;

bool cordon_accepts(const std::vector<std::uint8_t>& bytes) {
    wabt::Errors errors;
    detail::validating_reader reader{errors, detail::supported_features()};
    return wabt::Succeeded(wabt::ReadBinary(bytes.data(), bytes.size(), &reader, detail::read_options(false)));
}

bool wabt_interpreter_accepts(const std::vector<std::uint8_t>& bytes) {
    wabt::Errors errors;
    wabt::interp::ModuleDesc desc;
    return wabt::Succeeded(wabt::interp::ReadBinaryInterp("module", bytes.data(), bytes.size(),
                                                          detail::read_options(false), &errors, &desc));
}

struct tally {
    int accepted = 0, refused = 0;
    std::vector<std::string> disagreements;
};

void compare(const fs::path& file, tally& t) {
    const auto bytes = read_file_bytes(file);
    const bool ours = cordon_accepts(bytes);
    if (ours != wabt_interpreter_accepts(bytes))
        t.disagreements.push_back(file.filename().string() +
                                  (ours ? ": accepted, WABT refuses" : ": refused, WABT accepts"));
    ++(ours ? t.accepted : t.refused);
}

void expect_agreement(const tally& t) {
    for (const auto& d : t.disagreements) ADD_FAILURE() << d;
}

TEST(WasmValidation, AgreesWithWabtOnTheFuzzingSeeds) {
    tally t;
    for (const char* harness : {"module", "compiled"})
        for (const auto& entry : fs::directory_iterator(fs::path(CORDON_FUZZ_CORPUS) / harness))
            compare(entry.path(), t);
    expect_agreement(t);
    EXPECT_GT(t.accepted, 0);
    EXPECT_GT(t.refused, 0);
}

TEST(WasmValidation, AgreesWithWabtOnTheSpecTestSuite) {
    const char* override_dir = std::getenv("CORDON_WASM_TESTSUITE");
    const fs::path suite = override_dir ? override_dir : CORDON_WASM_TESTSUITE;
    const std::string wast2json = CORDON_WAST2JSON;
    if (!fs::is_directory(suite)) GTEST_SKIP() << "no spec test suite at " << suite << " (set CORDON_WASM_TESTSUITE)";
    if (wast2json.empty()) GTEST_SKIP() << "wast2json was not found when configuring (Debian package wabt)";

    const fs::path out = fs::temp_directory_path() / ("cordon-validation-" + std::to_string(::getpid()));
    fs::create_directories(out);
    tally t;
    int files = 0;
    for (const auto& entry : fs::directory_iterator(suite)) {
        if (entry.path().extension() != ".wast") continue;
        const fs::path dir = out / entry.path().stem();
        fs::create_directories(dir);
        const fs::path json = dir / (entry.path().stem().string() + ".json");
        ASSERT_TRUE(cordon::testing::convert_wast(wast2json, entry.path(), json, true)) << entry.path();
        ++files;
        for (const auto& module : fs::directory_iterator(dir))
            if (module.path().extension() == ".wasm") compare(module.path(), t);
    }
    fs::remove_all(out);
    expect_agreement(t);
    EXPECT_GT(files, 100);
    EXPECT_GT(t.accepted, 1000);
    EXPECT_GT(t.refused, 100);
    std::printf("spec suite: %d files, %d modules accepted and %d refused by both readers\n", files, t.accepted,
                t.refused);
}

} // namespace
} // namespace cordon::wasm
