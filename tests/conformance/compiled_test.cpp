// The conformance suite on the wasm compiled engine, its modules translated and compiled into
// this program at build time (cordon_add_compiled_wasm_module), so no case waits for a compiler.
#include "wasm_kind.hpp"

namespace cordon::conformance {

using kinds = ::testing::Types<wasm_module_kind<wasm::compiled>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Compiled, Conformance, kinds);

} // namespace cordon::conformance
