// Resource limits of a process sandbox and the rlimits that back them in the child: address
// space (when no cgroup limits memory), a CPU backstop, descriptors, file size, no core dumps.
#pragma once

#include <cordon/result.hpp>

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace cordon::process {

/// The limits in force for one sandbox; 0 means "no limit" for each.
struct resource_limits {
    std::uint64_t memory_bytes = 0;
    std::uint64_t cpu_time_ms = 0;
    std::uint64_t wall_time_ms = 0;
    std::uint64_t open_files = 0;
    std::uint64_t processes = 0;
    std::uint64_t file_size_bytes = 0;
    std::uint64_t output_bytes = 0;   // captured stdout and stderr, each
};

/// How the child's rlimits are derived from the limits.
struct rlimit_plan {
    bool memory_by_address_space = true;  // false when a cgroup limits memory instead
    bool processes_by_nproc = false;      // only meaningful inside a user namespace
    std::uint64_t uncounted_processes = 0;// the sandbox's own (a pid namespace's init), not the guest's
    std::uint64_t descriptor_ceiling = 0; // hard cap on NOFILE even without a files limit
    std::uint64_t standard_descriptors = 0;// stdin, stdout, stderr: open already, not the guest's files
};

namespace detail {

inline result<void> set_limit(int resource, const char* name, std::uint64_t value) {
    const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (::setrlimit(resource, &limit) != 0)
        return fail(error_kind::internal, std::string("setrlimit(") + name + "): " + std::strerror(errno));
    return {};
}

} // namespace detail

/// The CPU backstop in whole seconds: the supervisor's timer acts first, with ms precision;
/// RLIMIT_CPU only catches a child the supervisor somehow failed to stop.
constexpr std::uint64_t cpu_backstop_seconds(std::uint64_t cpu_time_ms) { return cpu_time_ms / 1000 + 2; }

/// Applies the rlimits in the calling (child) process, all but the descriptor limit (see
/// apply_descriptor_limit). Soft and hard limits are equal, so the child cannot raise them again.
inline result<void> apply_rlimits(const resource_limits& limits, const rlimit_plan& plan) {
    using detail::set_limit;
    if (auto r = set_limit(RLIMIT_CORE, "CORE", 0); !r) return r;
    if (limits.memory_bytes != 0 && plan.memory_by_address_space)
        if (auto r = set_limit(RLIMIT_AS, "AS", limits.memory_bytes); !r) return r;
    if (limits.cpu_time_ms != 0)
        if (auto r = set_limit(RLIMIT_CPU, "CPU", cpu_backstop_seconds(limits.cpu_time_ms)); !r) return r;
    if (limits.file_size_bytes != 0)
        if (auto r = set_limit(RLIMIT_FSIZE, "FSIZE", limits.file_size_bytes); !r) return r;
    if (limits.processes != 0 && plan.processes_by_nproc)
        if (auto r = set_limit(RLIMIT_NPROC, "NPROC", limits.processes + plan.uncounted_processes); !r) return r;
    return {};
}

/// The NOFILE limit of a sandbox: open_files counts what the guest opens, as the wasm
/// backend's handle table does, while NOFILE counts descriptor numbers, the standard three
/// included. 0 when there is nothing to limit.
constexpr std::uint64_t descriptor_limit(const resource_limits& limits, const rlimit_plan& plan) {
    std::uint64_t files = limits.open_files != 0 ? limits.open_files + plan.standard_descriptors : 0;
    if (plan.descriptor_ceiling != 0 && (files == 0 || files > plan.descriptor_ceiling))
        files = plan.descriptor_ceiling;
    return files;
}

/// Applies NOFILE. Set-up itself opens descriptors (landlock opens each granted path), so this
/// comes after it; a guest past the limit then sees EMFILE from the kernel.
inline result<void> apply_descriptor_limit(const resource_limits& limits, const rlimit_plan& plan) {
    const auto files = descriptor_limit(limits, plan);
    if (files == 0) return {};
    return detail::set_limit(RLIMIT_NOFILE, "NOFILE", files);
}

} // namespace cordon::process
