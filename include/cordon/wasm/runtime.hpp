// The engine-neutral pieces of one wasm sandbox, in one include: how the engine runs and the
// limits it applies (engine_config.hpp), the fuel meter (fuel_meter.hpp) and the guest memory
// view host functions use (guest_memory.hpp).
#pragma once

#include <cordon/wasm/engine_config.hpp>
#include <cordon/wasm/fuel_meter.hpp>
#include <cordon/wasm/guest_memory.hpp>
