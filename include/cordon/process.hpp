// The cordon::process component: forked-process sandboxes confined by the kernel (seccomp,
// landlock, namespaces, rlimits, cgroups), started from a zygote. Link cordon::process to use it.
#pragma once

#include <cordon/process/backend.hpp>
#include <cordon/process/call_host.hpp>
#include <cordon/process/payload.hpp>
#include <cordon/process/warm_pool.hpp>
#include <cordon/process/zygote.hpp>
#include <cordon/sandbox.hpp>
