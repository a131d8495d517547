// From the core's runtime policy to a process confinement: the isolation level, the grants
// (paths, ports, kinds) and the limits in force, and the enforcement report of the result.
#pragma once

#include <cordon/policy/endpoint.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/process/cgroup.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/landlock.hpp>
#include <cordon/telemetry/enforcement.hpp>

#include <string>
#include <vector>

namespace cordon::process {

/// The level a policy's preset stands for, by the preset's type. A custom preset (whatever it
/// calls itself) is placed by the mechanisms it requires, so it gets at least the confinement
/// it asks for.
inline isolation_level level_of(const policy_spec& spec) {
    switch (spec.preset_kind) {
    case isolation::builtin::minimal: return isolation_level::minimal;
    case isolation::builtin::standard: return isolation_level::standard;
    case isolation::builtin::strict: return isolation_level::strict;
    case isolation::builtin::maximum: return isolation_level::maximum;
    case isolation::builtin::custom: break;
    }
    const auto& r = spec.required;
    if (r.contains(mechanism::strict_syscalls)) return isolation_level::maximum;
    if (r.contains(mechanism::mount_namespace) || r.contains(mechanism::pid_namespace)) return isolation_level::strict;
    if (r.contains(mechanism::seccomp) || r.contains(mechanism::landlock)) return isolation_level::standard;
    return isolation_level::minimal;
}

/// The grants of a runtime policy, as the confinement needs them.
inline grants grants_of(const runtime_policy& policy) {
    grants g;
    for (const auto& entry : policy.grants()) {
        if (entry.name == "fs.read" && entry.scope) g.read_paths.push_back(*entry.scope);
        else if (entry.name == "fs.write" && entry.scope) g.write_paths.push_back(*entry.scope);
        else if (entry.name == "net") {
            g.net = true;
            if (entry.scope)
                if (const auto parts = endpoint::parse(*entry.scope); parts && parts->port)
                    g.connect_ports.push_back(*parts->port);
        } else if (entry.name == "process") g.process = true;
        else if (entry.name == "clock") g.clock = true;
        else if (entry.name == "random") g.random = true;
        else if (entry.name == "system") g.system = true;
    }
    // A net grant without a port anywhere means every port: no TCP rule can express "some".
    if (g.net && policy.check("net", "*:1") && policy.check("net", "*:65535")) g.connect_ports.clear();
    return g;
}

/// The limits in force, as the confinement needs them.
inline resource_limits limits_of(const runtime_policy& policy) {
    const auto set = policy.limits();
    resource_limits l;
    l.memory_bytes = set.get(limit::kind::memory).value_or(0);
    l.cpu_time_ms = set.get(limit::kind::cpu_time_ms).value_or(0);
    l.wall_time_ms = set.get(limit::kind::wall_time_ms).value_or(0);
    l.open_files = set.get(limit::kind::open_files).value_or(0);
    l.processes = set.get(limit::kind::processes).value_or(0);
    l.output_bytes = set.get(limit::kind::output_bytes).value_or(0);
    return l;
}

/// Which mechanism enforces each element of a confinement on this machine: the facts that
/// replace the generic wording of process::backend's capability table.
inline std::vector<enforcement_entry> enforcement_of(const confinement& c) {
    enforcement_report report;
    const auto groups = cgroup_set::probe();
    const auto version_name = [](cgroup_support::version v) {
        return v == cgroup_support::version::v2 ? std::string("cgroup v2 ") : std::string("cgroup v1 ");
    };
    const int abi = landlock_abi();
    const bool confined = c.level != isolation_level::minimal;
    using lvl = enforcement_level;

    report.add(element::isolation, "forked process from a single-threaded zygote, level " + std::string(to_string(c.level)));
    report.add(element::syscalls,
               std::string("seccomp-bpf allow-list (") + (c.syscalls.strictest ? "strictest set" : "from the grants") +
                   "), i386 and x32 ABIs denied, violations named");
    std::string spaces;
    const auto& n = c.namespaces;
    for (auto [on, name] : {std::pair{n.user, "user"}, {n.pid, "pid"}, {n.net, "net"}, {n.mount, "mount"},
                            {n.ipc, "ipc"}, {n.uts, "uts"}})
        if (on) spaces += (spaces.empty() ? "" : ", ") + std::string(name);
    report.add(element::namespaces, spaces.empty() ? "none" : spaces, spaces.empty() ? lvl::not_enforced : lvl::enforced);
    if (c.minimal_root) report.add(element::root, "empty read-only tmpfs with read-only binds of granted paths");
    if (confined && abi >= 1)
        report.add(element::fs, "landlock ABI " + std::to_string(abi) + " path rules");
    else
        report.add(element::fs, confined ? "no landlock on this kernel" : "not confined at level minimal",
                   confined ? lvl::best_effort : lvl::not_enforced);
    if (!c.syscalls.net)
        report.add(element::net, n.net ? "network namespace without interfaces, socket() denied" : "socket() denied");
    else if (c.syscalls.net_by_port) {
        const bool ports = confined && abi >= 4;
        report.add(element::net, std::string("TCP stream sockets only (UDP, raw, MPTCP, fast open") +
                              (c.syscalls.net_listen ? "" : ", listening") + " refused by seccomp); " +
                              (ports ? "landlock ABI " + std::to_string(abi) + " TCP port rules; hosts not filtered"
                               : confined ? "ports and hosts not filterable on this kernel"
                                          : "ports and hosts not filtered at level minimal"),
                   ports ? lvl::best_effort : lvl::not_enforced);
    } else
        report.add(element::net, "IP sockets only, every host and port; unix sockets refused by seccomp");
    if (confined)
        report.add(element::ipc, abi >= 6 ? "landlock scoping of abstract unix sockets and signals" : "seccomp kill() to self only",
                   abi >= 6 ? lvl::enforced : lvl::best_effort);
    const auto& l = c.limits;
    if (l.memory_bytes != 0)
        report.add(element::memory, groups.memory != cgroup_support::version::none
                                 ? version_name(groups.memory) + "memory limit"
                                 : "RLIMIT_AS");
    if (l.cpu_time_ms != 0)
        report.add(element::cpu_time, "supervisor reading the child's CPU clock (ms), RLIMIT_CPU backstop");
    if (l.wall_time_ms != 0) report.add(element::wall_time, "supervisor wall timer, SIGKILL of the whole tree");
    if (l.open_files != 0)
        report.add(element::open_files, "RLIMIT_NOFILE above stdin, stdout and stderr (further opens fail with EMFILE)");
    if (l.processes != 0)
        report.add(element::processes, groups.pids != cgroup_support::version::none ? version_name(groups.pids) + "pids.max"
                                : n.user                                  ? "RLIMIT_NPROC in the user namespace"
                                                                          : "seccomp (no fork without process)",
                   groups.pids != cgroup_support::version::none || n.user ? lvl::enforced : lvl::best_effort);
    if (l.output_bytes != 0) report.add(element::output_bytes, "host-side cap on captured output");
    report.add(element::clock, c.syscalls.clock ? "granted" : "sleeping denied by seccomp; reading the clock (vDSO or system call) is not",
               c.syscalls.clock ? lvl::enforced : lvl::best_effort);
    if (!c.syscalls.random && c.syscalls.loader)
        report.add(element::random, "getrandom allowed to native programs, which read RDRAND regardless; the host API's "
                             "random_fill needs the grant",
                   lvl::best_effort);
    return std::move(report.entries);
}

} // namespace cordon::process
