// The umbrella header: policies, results, the sandbox facade, the host API, telemetry and the
// none backend. Backends with their own dependencies have their own headers (cordon/wasm.hpp, ...).
#pragma once

#include <cordon/backend/concept.hpp>
#include <cordon/format.hpp>
#include <cordon/host/api.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/host/value.hpp>
#include <cordon/none/backend.hpp>
#include <cordon/policy/isolation.hpp>
#include <cordon/policy/limit.hpp>
#include <cordon/policy/permission.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/result.hpp>
#include <cordon/sandbox.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>
