// Landlock confinement of a process sandbox: read and write rules from path lists, TCP ports at
// ABI 4+, abstract-unix-socket and signal scoping at ABI 6+, degraded only where allowed.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/result.hpp>

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cordon::process {

/// What a landlock domain should allow; everything else on the filesystem (and, when
/// restrict_tcp is set, every TCP port) is denied.
struct landlock_rules {
    std::vector<std::string> read_paths{};     // read files, list directories
    std::vector<std::string> write_paths{};    // also create, write, truncate, remove, rename
    std::vector<std::string> execute_paths{};  // read and execute (payload binaries, libraries)
    bool restrict_tcp = false;                 // deny TCP bind/connect except the ports below
    std::vector<std::uint16_t> connect_ports{};
    std::vector<std::uint16_t> bind_ports{};
    bool scope_ipc = true;                     // no abstract unix sockets or signals outside
    bool require_tcp = false;                  // fail, not degrade, if the kernel lacks TCP rules
    bool require_scoping = false;              // fail, not degrade, if the kernel lacks scoping
};

/// What the kernel enforced, for the enforcement report.
struct landlock_status {
    int abi = 0;
    bool filesystem = false;
    bool tcp = false;
    bool scoping = false;
};

namespace detail::landlock {

// Definitions newer than Debian 12's kernel headers (landlock ABI 3 to 6).
inline constexpr std::uint64_t access_fs_truncate = 1ULL << 14;
inline constexpr std::uint64_t access_fs_ioctl_dev = 1ULL << 15;
inline constexpr std::uint64_t access_net_bind_tcp = 1ULL << 0;
inline constexpr std::uint64_t access_net_connect_tcp = 1ULL << 1;
inline constexpr std::uint64_t scope_abstract_unix_socket = 1ULL << 0;
inline constexpr std::uint64_t scope_signal = 1ULL << 1;
inline constexpr int rule_net_port = 2;

struct ruleset_attr {
    std::uint64_t handled_access_fs;
    std::uint64_t handled_access_net;
    std::uint64_t scoped;
};
struct path_beneath_attr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
} __attribute__((packed));
struct net_port_attr {
    std::uint64_t allowed_access;
    std::uint64_t port;
};

inline constexpr std::uint64_t fs_read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
inline constexpr std::uint64_t fs_write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                                          LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                                          LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM |
                                          LANDLOCK_ACCESS_FS_REFER | access_fs_truncate;
// The only rights a rule on a regular file (not a directory) may carry.
inline constexpr std::uint64_t fs_file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                                LANDLOCK_ACCESS_FS_READ_FILE | access_fs_truncate |
                                                access_fs_ioctl_dev;

// Every filesystem right the given ABI knows: handling all of them is what makes the
// domain default-deny.
constexpr std::uint64_t fs_rights_of_abi(int abi) {
    std::uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0..12
    if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) rights |= access_fs_truncate;
    if (abi >= 5) rights |= access_fs_ioctl_dev;
    return rights;
}

inline error errno_error(error_kind kind, const std::string& what) {
    return fail(kind, what + ": " + std::strerror(errno));
}

inline result<void> add_path_rule(int ruleset_fd, const std::string& path, std::uint64_t rights, int abi) {
    cordon::detail::unique_fd dir{::open(path.c_str(), O_PATH | O_CLOEXEC)};
    if (dir.get() < 0) {
        error_info info{"cannot open granted path " + path + ": " + std::strerror(errno)};
        info.path = path;
        return error{error_kind::invalid_argument, std::move(info)};
    }
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) return errno_error(error_kind::internal, "fstat " + path);
    rights &= fs_rights_of_abi(abi);
    if (!S_ISDIR(st.st_mode)) rights &= fs_file_rights;
    path_beneath_attr rule{rights, dir.get()};
    if (::syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        return errno_error(error_kind::internal, "landlock rule for " + path);
    return {};
}

inline result<void> add_port_rule(int ruleset_fd, std::uint16_t port, std::uint64_t rights) {
    net_port_attr rule{rights, port};
    if (::syscall(SYS_landlock_add_rule, ruleset_fd, rule_net_port, &rule, 0) != 0)
        return errno_error(error_kind::internal, "landlock rule for port " + std::to_string(port));
    return {};
}

} // namespace detail::landlock

/// The landlock ABI version of the running kernel, 0 when landlock is unavailable.
inline int landlock_abi() noexcept {
    const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : static_cast<int>(abi);
}

/// Restricts the calling process (and its future children) to the rules. Needs no_new_privs
/// or CAP_SYS_ADMIN in the current user namespace. Rights the kernel does not know are
/// dropped, unless the rules require them: then creation fails with `unsupported`.
inline result<landlock_status> apply_landlock(const landlock_rules& rules) {
    namespace ll = detail::landlock;
    landlock_status status;
    status.abi = landlock_abi();
    if (status.abi < 1) return fail(error_kind::unsupported, "landlock is not available on this kernel");
    const bool can_tcp = status.abi >= 4;
    const bool can_scope = status.abi >= 6;
    if (rules.restrict_tcp && rules.require_tcp && !can_tcp)
        return fail(error_kind::unsupported, "landlock ABI " + std::to_string(status.abi) +
                                                 " cannot restrict TCP ports (needs ABI 4)");
    if (rules.scope_ipc && rules.require_scoping && !can_scope)
        return fail(error_kind::unsupported, "landlock ABI " + std::to_string(status.abi) +
                                                 " cannot scope unix sockets and signals (needs ABI 6)");

    ll::ruleset_attr attr{ll::fs_rights_of_abi(status.abi), 0, 0};
    if (rules.restrict_tcp && can_tcp) attr.handled_access_net = ll::access_net_bind_tcp | ll::access_net_connect_tcp;
    if (rules.scope_ipc && can_scope) attr.scoped = ll::scope_abstract_unix_socket | ll::scope_signal;
    // Older kernels reject a larger struct with unknown non-zero fields; pass only what they know.
    const std::size_t attr_size = can_scope ? sizeof attr : can_tcp ? 2 * sizeof(std::uint64_t) : sizeof(std::uint64_t);
    cordon::detail::unique_fd ruleset{static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0))};
    if (ruleset.get() < 0) return ll::errno_error(error_kind::internal, "landlock_create_ruleset");

    for (const auto& path : rules.read_paths)
        if (auto added = ll::add_path_rule(ruleset.get(), path, ll::fs_read, status.abi); !added) return added.error();
    for (const auto& path : rules.execute_paths)
        if (auto added = ll::add_path_rule(ruleset.get(), path, ll::fs_read | LANDLOCK_ACCESS_FS_EXECUTE, status.abi);
            !added)
            return added.error();
    for (const auto& path : rules.write_paths)
        if (auto added = ll::add_path_rule(ruleset.get(), path, ll::fs_read | ll::fs_write, status.abi); !added)
            return added.error();
    if (attr.handled_access_net != 0) {
        for (auto port : rules.connect_ports)
            if (auto added = ll::add_port_rule(ruleset.get(), port, ll::access_net_connect_tcp); !added)
                return added.error();
        for (auto port : rules.bind_ports)
            if (auto added = ll::add_port_rule(ruleset.get(), port, ll::access_net_bind_tcp); !added)
                return added.error();
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ll::errno_error(error_kind::internal, "no_new_privs");
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
        return ll::errno_error(error_kind::internal, "landlock_restrict_self");
    status.filesystem = true;
    status.tcp = attr.handled_access_net != 0;
    status.scoping = attr.scoped != 0;
    return status;
}

} // namespace cordon::process
