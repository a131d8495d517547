// A compiled-engine user's translation unit: <cordon/wasm/compiled.hpp> and the umbrella header,
// nothing else. It must not see the interpreter engine (cordon/wasm/interpreter.hpp).
#include <cordon/cordon.hpp>
#include <cordon/wasm/compiled.hpp>

#include <gtest/gtest.h>

#include <type_traits>

// Were the interpreter engine or its alias declared here, these aliases would conflict with
// those declarations and this file would not compile.
namespace cordon::wasm {
using interpreter_engine = void;
using interpreter_instance = void;
using interpreter_options = void;
using interpreter = void;
} // namespace cordon::wasm

namespace {

TEST(CompiledHeader, DoesNotIncludeTheInterpreterEngine) {
    static_assert(std::is_void_v<cordon::wasm::interpreter_engine> && std::is_void_v<cordon::wasm::interpreter>,
                  "the names above are this file's own, so compiled.hpp declared neither");
    static_assert(cordon::backend<cordon::wasm::compiled, cordon::policy<cordon::isolation::strict>>);
    SUCCEED();
}

} // namespace
