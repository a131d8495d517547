// The four isolation presets of DESIGN.md: each sets a ceiling, default grants, default limits
// and the mechanisms it requires. A custom preset is a struct with the same five members.
#pragma once

#include <cordon/policy/limit.hpp>
#include <cordon/policy/mechanism.hpp>
#include <cordon/policy/set.hpp>

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace cordon::isolation {

/// Everything may be granted; clock, random and reading the whole filesystem are granted.
struct minimal {
    static constexpr std::string_view name = "minimal";
    using ceiling = perm::all;
    using default_grants = perm::set<perm::clock, perm::random, perm::fs_read::under<"/">>;
    static constexpr limit_set default_limits =
        limit_set{}.with(limit::kind::memory, 1 * GiB).with(limit::kind::wall_time_ms, 60'000);
    static constexpr mechanism_set required = mechanism::rlimits;
};

/// All but spawning processes may be granted; clock and random are granted.
struct standard {
    static constexpr std::string_view name = "standard";
    using ceiling = perm::all_except<perm::process>;
    using default_grants = perm::set<perm::clock, perm::random>;
    static constexpr limit_set default_limits = limit_set{}
                                                    .with(limit::kind::memory, 256 * MiB)
                                                    .with(limit::kind::cpu_time_ms, 10'000)
                                                    .with(limit::kind::wall_time_ms, 30'000)
                                                    .with(limit::kind::open_files, 64);
    static constexpr mechanism_set required =
        mechanism::rlimits | mechanism::seccomp | mechanism::landlock | mechanism::net_namespace;
};

/// Only scoped file access, clock and random may be granted; nothing is granted by default.
struct strict {
    static constexpr std::string_view name = "strict";
    using ceiling = perm::set<perm::fs_read, perm::fs_write, perm::clock, perm::random>;
    using default_grants = perm::set<>;
    static constexpr limit_set default_limits = limit_set{}
                                                    .with(limit::kind::memory, 64 * MiB)
                                                    .with(limit::kind::cpu_time_ms, 2'000)
                                                    .with(limit::kind::wall_time_ms, 5'000)
                                                    .with(limit::kind::open_files, 16)
                                                    .with(limit::kind::processes, 1);
    static constexpr mechanism_set required = standard::required | mechanism::user_namespace |
                                              mechanism::pid_namespace | mechanism::mount_namespace |
                                              mechanism::ipc_namespace;
};

/// Nothing may be granted; the guest may only compute and write to stdout and stderr.
struct maximum {
    static constexpr std::string_view name = "maximum";
    using ceiling = perm::set<>;
    using default_grants = perm::set<>;
    static constexpr limit_set default_limits = limit_set{}
                                                    .with(limit::kind::memory, 16 * MiB)
                                                    .with(limit::kind::cpu_time_ms, 1'000)
                                                    .with(limit::kind::wall_time_ms, 2'000)
                                                    .with(limit::kind::open_files, 4);
    static constexpr mechanism_set required =
        strict::required | mechanism::strict_syscalls | mechanism::two_layers;
};

/// What makes a type an isolation preset. Derive from a built-in one and override members to make
/// your own (see docs/policies.md).
template <class T>
concept preset = requires {
    { T::name } -> std::convertible_to<std::string_view>;
    requires perm::permission_set<typename T::ceiling>;
    requires perm::permission_set<typename T::default_grants>;
    { T::default_limits } -> std::convertible_to<limit_set>;
    { T::required } -> std::convertible_to<mechanism_set>;
};

/// Which built-in preset a preset is, by type (never by name: a custom preset may call itself
/// anything); `custom` for every other preset, whatever it derives from.
enum class builtin : std::uint8_t { custom, minimal, standard, strict, maximum };

template <class P> inline constexpr builtin builtin_of = std::is_same_v<P, minimal>    ? builtin::minimal
                                                         : std::is_same_v<P, standard> ? builtin::standard
                                                         : std::is_same_v<P, strict>   ? builtin::strict
                                                         : std::is_same_v<P, maximum>  ? builtin::maximum
                                                                                       : builtin::custom;

} // namespace cordon::isolation
