// Fuzzes the compiled engine's in-process work on untrusted bytes, everything before wasm2c and
// the C compiler run as programs: load, the metering rewrite, the renaming and the C glue.
#include "fuzz_support.hpp"
#include "fuzz_wasm.hpp"

#include <cordon/wasm/compiled/translate.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace {

using cordon::fuzz::require;
namespace wasm = cordon::wasm;
namespace translate = cordon::wasm::compiled_translate;

// What a C compiler is handed must hold no byte of the guest's raw: every name the module
// chose reaches the glue as an escaped literal.
bool plain_c_text(const std::string& text) {
    for (unsigned char c : text)
        if (!(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))) return false;
    return true;
}

} // namespace

// Input: module bytes. The metering options and glue mode come from the size, so every seed
// reaches each of them as it is mutated.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto module = cordon::fuzz::load_fuzzed_module(data, size);
    if (!module) return 0;
    const wasm::metering_options metering{(size & 1u) != 0, (size & 2u) != 0};
    const auto mode = (size & 4u) != 0 ? translate::glue_mode::shared : translate::glue_mode::linked;

    auto metered = wasm::metered(*module, metering);
    if (metered) {
        auto again = wasm::module::from_bytes((*metered)->bytes);
        require(again.has_value(), "the metering rewrite produces a valid module");
    }
    auto out = translate::translate(*module, metering, "fuzzed", mode,
                                    "0000000000000000000000000000000000000000000000000000000000000000");
    if (!out) return 0;
    require(metered.has_value(), "translation succeeds only where metering does");
    auto renamed = wasm::module::from_bytes(out->wasm);
    require(renamed.has_value(), "the module handed to wasm2c is valid");
    require(plain_c_text(out->glue), "the glue is plain C text");
    return 0;
}
