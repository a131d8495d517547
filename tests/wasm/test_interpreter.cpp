// Runs the wasm behaviour suite on the interpreter engine (WABT's interpreter).
#include "behaviour_suite.hpp"

#include <cordon/wasm/interpreter.hpp>

namespace cordon::wasm::testing {

using engines = ::testing::Types<interpreter_engine>;
INSTANTIATE_TYPED_TEST_SUITE_P(Interpreter, WasmBehaviour, engines);

} // namespace cordon::wasm::testing
