// `sandbox<cordon::wasm::interpreter, Policy>`: WABT's interpreter engine behind the wasm backend.
// A header of its own, so that users of the compiled engine never include WABT's interpreter.
#pragma once

#include <cordon/wasm/backend.hpp>
#include <cordon/wasm/interpreter.hpp>

namespace cordon::wasm {

/// `sandbox<cordon::wasm::interpreter, Policy>`: WebAssembly in WABT's interpreter.
using interpreter = basic_backend<interpreter_engine>;

} // namespace cordon::wasm
