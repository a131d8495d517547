// Applying a confinement in the sandboxed child, after the zygote made its namespaces: minimal
// root, rlimits, landlock, the descriptor limit, and the seccomp filter last.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/landlock.hpp>
#include <cordon/process/limits.hpp>
#include <cordon/process/namespaces.hpp>
#include <cordon/process/seccomp.hpp>
#include <cordon/result.hpp>

#include <unistd.h>

namespace cordon::process {

/// Applies, in the calling child, every layer after namespaces: minimal root, rlimits,
/// landlock (which sets no_new_privs), the descriptor limit, then the seccomp filter last.
/// Returns the seccomp notification listener for executables, else -1.
inline result<int> confine_self(const confinement& c, const cgroup_set* groups, int report_fd) {
    if (c.namespaces.uts) set_sandbox_hostname();
    if (c.minimal_root) {
        if (!c.namespaces.mount) return fail(error_kind::internal, "a minimal root needs a mount namespace");
        if (auto entered = enter_minimal_root(c.root); !entered) return entered.error();
    }
    rlimit_plan plan;
    plan.memory_by_address_space = groups == nullptr || !groups->limits_memory();
    plan.processes_by_nproc = c.namespaces.user && (groups == nullptr || !groups->limits_processes());
    plan.descriptor_ceiling = sandbox_descriptor_ceiling;
    plan.standard_descriptors = 3;
    plan.uncounted_processes = c.namespaces.pid ? 1 : 0;
    if (auto limited = apply_rlimits(c.limits, plan); !limited) return limited.error();

    const bool landlock_required = c.level != isolation_level::minimal && !c.best_effort;
    if (c.level != isolation_level::minimal) {
        auto landlocked = apply_landlock(c.landlock);
        if (!landlocked && c.best_effort && landlocked.error().kind() == error_kind::unsupported) {
            // Best effort gives up only what this kernel lacks (TCP rules, scoping): the path
            // rules still apply wherever landlock exists at all.
            landlock_rules degraded = c.landlock;
            degraded.require_tcp = false;
            degraded.require_scoping = false;
            landlocked = apply_landlock(degraded);
        }
        if (!landlocked && (landlock_required || landlocked.error().kind() != error_kind::unsupported))
            return landlocked.error();
    }
    // Landlock's rules open every granted path; only the seccomp listener is left, and it finds
    // descriptor 3 free, as the sandbox's own descriptors live above every limit.
    if (auto limited = apply_descriptor_limit(c.limits, plan); !limited) return limited.error();
    auto syscalls = c.syscalls;
    syscalls.self_pid = ::getpid();
    syscalls.reserve_limit_signals = c.namespaces.pid && c.payload != payload_kind::executable;
    const auto action =
        c.payload == payload_kind::executable ? violation_action::notify : violation_action::trap;
    if (action == violation_action::trap)
        if (auto reporter = install_violation_reporter(report_fd); !reporter) return reporter.error();
    return install_filter(syscall_rules(syscalls), action);
}

} // namespace cordon::process
