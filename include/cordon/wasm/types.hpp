// The boundary vocabulary as the wasm engines name it: cordon's value_type, value and
// host::signature (host/value.hpp), nothing of their own, so a value or a signature read off a
// module is the one every other backend and the facade use.
#pragma once

#include <cordon/host/value.hpp>

namespace cordon::wasm {

using host::signature;

} // namespace cordon::wasm
