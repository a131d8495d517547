// The cordon::wasm component: in-process WebAssembly sandboxes (module loading, metering, host
// API and WASI, the interpreter and compiled engines and their backends). Link cordon::wasm to use it.
#pragma once

#include <cordon/sandbox.hpp>
#include <cordon/wasm/backend.hpp>
#include <cordon/wasm/compiled.hpp>
#include <cordon/wasm/interpreter.hpp>
#include <cordon/wasm/interpreter_backend.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>
