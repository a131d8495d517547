// `sandbox<cordon::wasm::compiled, Policy>`: WebAssembly translated by wasm2c and compiled to
// native code, under the same policies, host API, WASI subset, limits and telemetry as the
// interpreter. Modules come compiled into the program (cordon_add_compiled_wasm_module() in
// CMake, then wasm::compiled_module("name")) or are compiled on first use into a private cache.
#pragma once

#include <cordon/wasm/backend.hpp>
#include <cordon/wasm/compiled/engine.hpp>
#include <cordon/wasm/compiled/registry.hpp>

namespace cordon::wasm {

/// `sandbox<cordon::wasm::compiled, Policy>`: the compiled engine behind the wasm backend.
using compiled = basic_backend<compiled_engine>;

} // namespace cordon::wasm
