// The kernel and runtime mechanisms a level may require, as a constexpr bit set. Presets list the
// ones they need; backends report which ones enforce each policy element on this machine.
#pragma once

#include <cstdint>
#include <string_view>

namespace cordon {

enum class mechanism : std::uint16_t {
    rlimits = 1u << 0,          // setrlimit on the child
    seccomp = 1u << 1,          // seccomp-bpf syscall allow-list
    landlock = 1u << 2,         // landlock filesystem (and TCP) rules
    net_namespace = 1u << 3,    // no network unless net is granted
    user_namespace = 1u << 4,
    pid_namespace = 1u << 5,
    mount_namespace = 1u << 6,
    ipc_namespace = 1u << 7,
    strict_syscalls = 1u << 8,  // the smallest syscall set: no file opens, no sockets
    two_layers = 1u << 9,       // WebAssembly runs inside a process sandbox
};

inline constexpr mechanism all_mechanisms[] = {
    mechanism::rlimits,         mechanism::seccomp,         mechanism::landlock,
    mechanism::net_namespace,   mechanism::user_namespace,  mechanism::pid_namespace,
    mechanism::mount_namespace, mechanism::ipc_namespace,   mechanism::strict_syscalls,
    mechanism::two_layers,
};

constexpr std::string_view name(mechanism m) noexcept {
    switch (m) {
    case mechanism::rlimits: return "rlimits";
    case mechanism::seccomp: return "seccomp";
    case mechanism::landlock: return "landlock";
    case mechanism::net_namespace: return "net namespace";
    case mechanism::user_namespace: return "user namespace";
    case mechanism::pid_namespace: return "pid namespace";
    case mechanism::mount_namespace: return "mount namespace";
    case mechanism::ipc_namespace: return "ipc namespace";
    case mechanism::strict_syscalls: return "strict syscall set";
    case mechanism::two_layers: return "wasm inside a process sandbox";
    }
    return "unknown";
}

/// A set of mechanisms: `mechanism::rlimits | mechanism::seccomp`.
class mechanism_set {
public:
    constexpr mechanism_set() = default;
    constexpr mechanism_set(mechanism m) noexcept : bits_{static_cast<std::uint16_t>(m)} {}  // NOLINT

    [[nodiscard]] constexpr bool contains(mechanism m) const noexcept {
        return (bits_ & static_cast<std::uint16_t>(m)) != 0;
    }
    [[nodiscard]] constexpr bool contains(mechanism_set other) const noexcept {
        return (bits_ & other.bits_) == other.bits_;
    }
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
    [[nodiscard]] constexpr std::uint16_t bits() const noexcept { return bits_; }

    friend constexpr mechanism_set operator|(mechanism_set a, mechanism_set b) noexcept {
        return from_bits(static_cast<std::uint16_t>(a.bits_ | b.bits_));
    }
    friend constexpr mechanism_set operator-(mechanism_set a, mechanism_set b) noexcept {
        return from_bits(static_cast<std::uint16_t>(a.bits_ & ~b.bits_));
    }
    friend constexpr bool operator==(mechanism_set, mechanism_set) = default;

private:
    static constexpr mechanism_set from_bits(std::uint16_t bits) noexcept {
        mechanism_set s;
        s.bits_ = bits;
        return s;
    }
    std::uint16_t bits_ = 0;
};

constexpr mechanism_set operator|(mechanism a, mechanism b) noexcept {
    return mechanism_set{a} | mechanism_set{b};
}

} // namespace cordon
