// What confines one sandboxed child (namespaces, minimal root, rlimits, cgroup limits,
// landlock, seccomp), derived from an isolation level and grants; the child's descriptor layout.
#pragma once

#include <cordon/process/landlock.hpp>
#include <cordon/process/limits.hpp>
#include <cordon/process/namespaces.hpp>
#include <cordon/process/seccomp.hpp>
#include <cordon/process/wire.hpp>

#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
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

} // namespace cordon::process
