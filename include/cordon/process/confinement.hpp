// What confines one sandboxed child (namespaces, minimal root, rlimits, cgroup limits,
// landlock, seccomp), derived from an isolation level and grants, and applied in the child.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/landlock.hpp>
#include <cordon/process/limits.hpp>
#include <cordon/process/namespaces.hpp>
#include <cordon/process/seccomp.hpp>
#include <cordon/process/wire.hpp>
#include <cordon/result.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace cordon::process {

enum class isolation_level : std::uint8_t { minimal, standard, strict, maximum };

constexpr std::string_view to_string(isolation_level level) {
    switch (level) {
    case isolation_level::minimal: return "minimal";
    case isolation_level::standard: return "standard";
    case isolation_level::strict: return "strict";
    case isolation_level::maximum: return "maximum";
    }
    return "unknown";
}

template <> struct wire_enum_range<isolation_level> {
    static constexpr auto first = isolation_level::minimal, last = isolation_level::maximum;
};

/// The permissions granted to one sandbox at run time (already checked against its ceiling).
struct grants {
    std::vector<std::string> read_paths{};
    std::vector<std::string> write_paths{};
    bool net = false;
    std::vector<std::uint16_t> connect_ports{};  // empty with net: any port
    std::vector<std::uint16_t> bind_ports{};
    bool process = false;
    bool clock = false;
    bool random = false;
    bool system = false;
};

/// What the payload itself needs from the filesystem to start.
enum class payload_kind : std::uint8_t { function, shared_object, executable };
template <> struct wire_enum_range<payload_kind> {
    static constexpr auto first = payload_kind::function, last = payload_kind::executable;
};
// Limits are counts and sizes: every byte pattern is one.
template <> struct any_byte_pattern_valid<resource_limits> : std::true_type {};

/// Everything the zygote needs to confine a child. Built on the host, sent to the zygote.
struct confinement {
    isolation_level level = isolation_level::standard;
    payload_kind payload = payload_kind::function;
    syscall_permissions syscalls{};
    landlock_rules landlock{};
    namespace_set namespaces{};
    bool minimal_root = false;
    std::vector<root_binding> root{};
    resource_limits limits{};
    bool best_effort = false;   // degrade where the kernel lacks a mechanism the level needs
    uid_t outside_uid = 0;
    gid_t outside_gid = 0;
};

namespace detail {

// Directories an executable or a shared object needs to be loaded by ld.so on Debian.
inline const std::vector<std::string>& loader_paths() {
    static const std::vector<std::string> paths{"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/bin",
                                                "/bin", "/etc/ld.so.cache"};
    return paths;
}

inline bool path_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

} // namespace detail

/// The confinement of a level with these grants and limits, for a payload whose code lives
/// at `payload_path` (empty for a function of the host program).
inline confinement make_confinement(isolation_level level, const grants& given, const resource_limits& limits,
                                    payload_kind payload, const std::string& payload_path = {}) {
    confinement c;
    c.level = level;
    c.payload = payload;
    c.limits = limits;
    c.outside_uid = ::geteuid();
    c.outside_gid = ::getegid();
    const bool at_least_standard = level != isolation_level::minimal;
    const bool at_least_strict = level == isolation_level::strict || level == isolation_level::maximum;

    auto& s = c.syscalls;
    s.fs_read = !given.read_paths.empty();
    s.fs_write = !given.write_paths.empty();
    s.net = given.net;
    s.net_by_port = given.net && (!given.connect_ports.empty() || !given.bind_ports.empty());
    s.net_listen = !given.bind_ports.empty();
    s.process = given.process;
    s.clock = given.clock;
    s.random = given.random;
    s.system = given.system;
    s.loader = payload != payload_kind::function;
    s.strictest = level == isolation_level::maximum;
    // A limit of one process leaves no room for a thread: the filter then refuses clone itself.
    s.threads = level != isolation_level::maximum && (given.process || limits.processes != 1);

    auto& l = c.landlock;
    l.read_paths = given.read_paths;
    l.write_paths = given.write_paths;
    if (payload != payload_kind::function) {
        for (const auto& path : detail::loader_paths())
            if (detail::path_exists(path)) l.execute_paths.push_back(path);
        if (!payload_path.empty()) l.execute_paths.push_back(payload_path);
    }
    l.restrict_tcp = !given.net || !given.connect_ports.empty() || !given.bind_ports.empty();
    l.connect_ports = given.connect_ports;
    l.bind_ports = given.bind_ports;
    l.scope_ipc = !given.process || at_least_standard;
    l.require_tcp = at_least_standard && given.net && !given.connect_ports.empty();
    l.require_scoping = at_least_strict;

    // The user namespace drops the host's privileges for every level that promises isolation;
    // standard also gets a private network unless `net` is granted.
    auto& n = c.namespaces;
    n.user = at_least_standard;
    n.net = at_least_standard && !given.net;
    n.ipc = at_least_standard;
    n.pid = at_least_standard;
    n.uts = at_least_standard;
    n.mount = at_least_strict;
    c.minimal_root = at_least_strict;
    if (c.minimal_root) {
        if (payload != payload_kind::function)
            for (const auto& path : detail::loader_paths()) c.root.push_back({path, false});
        if (!payload_path.empty()) c.root.push_back({payload_path, false});
        for (const auto& path : given.read_paths) c.root.push_back({path, false});
        for (const auto& path : given.write_paths) c.root.push_back({path, true});
    }
    return c;
}

namespace detail {

// The syscall permissions go on the wire field by field: the struct has padding, whose bytes
// are indeterminate, and two equal confinements must encode alike (the warm pool compares
// encodings; clang left different bytes there than g++ did).
template <class Permissions, class Visit> void visit_fields(Permissions& p, Visit&& visit) {
    visit(p.fs_read), visit(p.fs_write), visit(p.net), visit(p.net_by_port), visit(p.net_listen), visit(p.process);
    visit(p.clock), visit(p.random), visit(p.system), visit(p.threads), visit(p.loader), visit(p.strictest);
    visit(p.self_pid), visit(p.reserve_limit_signals);
}
static_assert(sizeof(syscall_permissions) == 20, "a field was added to syscall_permissions: add it to visit_fields");

template <class Namespaces, class Visit> void visit_fields_of_namespaces(Namespaces& n, Visit&& visit) {
    visit(n.user), visit(n.pid), visit(n.net), visit(n.mount), visit(n.ipc), visit(n.uts);
}
static_assert(sizeof(namespace_set) == 6, "a field was added to namespace_set: add it to visit_fields_of_namespaces");

} // namespace detail

/// Encodes a confinement for the zygote.
inline std::vector<std::byte> encode(const confinement& c) {
    wire_writer w;
    w.put(c.level);
    w.put(c.payload);
    detail::visit_fields(c.syscalls, [&](const auto& field) { w.put(field); });
    w.put_strings(c.landlock.read_paths);
    w.put_strings(c.landlock.write_paths);
    w.put_strings(c.landlock.execute_paths);
    w.put(c.landlock.restrict_tcp);
    w.put(c.landlock.scope_ipc);
    w.put(c.landlock.require_tcp);
    w.put(c.landlock.require_scoping);
    w.put(static_cast<std::uint64_t>(c.landlock.connect_ports.size()));
    for (auto port : c.landlock.connect_ports) w.put(port);
    w.put(static_cast<std::uint64_t>(c.landlock.bind_ports.size()));
    for (auto port : c.landlock.bind_ports) w.put(port);
    detail::visit_fields_of_namespaces(c.namespaces, [&](const auto& field) { w.put(field); });
    w.put(c.minimal_root);
    w.put(static_cast<std::uint64_t>(c.root.size()));
    for (const auto& binding : c.root) {
        w.put_string(binding.path);
        w.put(binding.writable);
    }
    w.put(c.limits);
    w.put(c.best_effort);
    w.put(c.outside_uid);
    w.put(c.outside_gid);
    return std::move(w).bytes();
}

/// Decodes what encode() wrote; nullopt for anything malformed.
inline std::optional<confinement> decode_confinement(std::span<const std::byte> bytes) {
    wire_reader r{bytes};
    confinement c;
    const auto read_ports = [&](std::vector<std::uint16_t>& ports) {
        const auto count = r.get<std::uint64_t>();
        if (!count || *count > 65536) return false;
        for (std::uint64_t i = 0; i < *count; ++i) {
            const auto port = r.get<std::uint16_t>();
            if (!port) return false;
            ports.push_back(*port);
        }
        return true;
    };
    c.level = r.get<isolation_level>().value_or(isolation_level::maximum);
    c.payload = r.get<payload_kind>().value_or(payload_kind::function);
    detail::visit_fields(c.syscalls, [&](auto& field) {
        field = r.get<std::remove_reference_t<decltype(field)>>().value_or(field);
    });
    c.landlock.read_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.write_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.execute_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.restrict_tcp = r.get<bool>().value_or(true);
    c.landlock.scope_ipc = r.get<bool>().value_or(true);
    c.landlock.require_tcp = r.get<bool>().value_or(true);
    c.landlock.require_scoping = r.get<bool>().value_or(true);
    if (!read_ports(c.landlock.connect_ports) || !read_ports(c.landlock.bind_ports)) return std::nullopt;
    detail::visit_fields_of_namespaces(c.namespaces, [&](auto& field) { field = r.get<bool>().value_or(field); });
    c.minimal_root = r.get<bool>().value_or(true);
    const auto bindings = r.get<std::uint64_t>();
    if (!bindings || *bindings > 4096) return std::nullopt;
    for (std::uint64_t i = 0; i < *bindings; ++i) {
        auto path = r.get_string();
        auto writable = r.get<bool>();
        if (!path || !writable) return std::nullopt;
        c.root.push_back({std::move(*path), *writable});
    }
    c.limits = r.get<resource_limits>().value_or(resource_limits{});
    c.best_effort = r.get<bool>().value_or(false);
    c.outside_uid = r.get<uid_t>().value_or(65534);
    c.outside_gid = r.get<gid_t>().value_or(65534);
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return c;
}

/// The descriptor number at which an executable payload waits for its execveat. It is kept
/// above every descriptor limit a sandbox gets, so the guest cannot recreate it after exec.
inline constexpr int exec_fd_number = 1000;
/// The child's control socket (set-up errors, violation records, the seccomp listener). Like
/// the program descriptor it lives above every limit: it takes none of the guest's slots, and
/// confinement's own transient descriptors (landlock's ruleset, the seccomp listener) always
/// find a free slot below even the smallest open_files limit.
inline constexpr int control_fd_number = exec_fd_number - 1;
/// NOFILE never exceeds this in a sandbox, whatever its open_files limit.
inline constexpr std::uint64_t sandbox_descriptor_ceiling = 512;
static_assert(sandbox_descriptor_ceiling < static_cast<std::uint64_t>(control_fd_number),
              "the sandbox's own descriptors must stay out of the guest's reach");

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
