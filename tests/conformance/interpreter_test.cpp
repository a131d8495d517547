// The conformance suite on the wasm interpreter engine.
#include "wasm_kind.hpp"

namespace cordon::conformance {

using kinds = ::testing::Types<wasm_module_kind<wasm::interpreter>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Interpreter, Conformance, kinds);

} // namespace cordon::conformance
