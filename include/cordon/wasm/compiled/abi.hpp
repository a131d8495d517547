// The host's view of the compiled engine's binary interface (compiled/abi.h): its types, and its
// version and text as constants, with abi.h's macros removed again so no host code sees them.
#pragma once

#include <cordon/wasm/compiled/abi.h>

#include <cstdint>
#include <string_view>

namespace cordon::wasm {

/// Bumped whenever a declaration of abi.h changes; part of every cache key.
inline constexpr std::uint32_t compiled_abi_version = CORDON_W2C_ABI_VERSION;

/// abi.h's declarations as one line of C, written into glue compiled at run time.
inline constexpr std::string_view compiled_abi_text = CORDON_W2C_ABI_TEXT;

} // namespace cordon::wasm

// The guest's macros end here (tests/core's host header check looks for them); the include
// guard stays, so abi.h is never read twice into one translation unit.
#undef CORDON_W2C_ABI_TEXT
#undef CORDON_W2C_STRINGIFY
#undef CORDON_W2C_STRINGIFY_
#undef CORDON_W2C_ABI_DECLARATIONS
#undef CORDON_W2C_ABI_VERSION
