// Resource limits: one type per limit with its value fixed at compile time (limit::memory<64 * MiB>),
// and limit_set, the plain value that carries a whole set of limits through compile and run time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cordon {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

namespace limit {

/// Every limit a policy can set. Values are positive; a limit that is absent is unlimited.
enum class kind : std::uint8_t {
    memory,           // bytes of guest memory
    cpu_time_ms,      // CPU time per call (wasm) or per child (process)
    wall_time_ms,     // wall-clock time per call
    fuel,             // instructions, counted deterministically
    open_files,       // descriptors or handles open at once
    processes,        // processes or threads alive at once
    net_connections,  // connections open at once
    output_bytes,     // bytes written to stdout, stderr and logs together
    call_depth,       // nested guest calls
};
inline constexpr std::size_t kind_count = 9;
inline constexpr kind all_kinds[kind_count] = {kind::memory,     kind::cpu_time_ms, kind::wall_time_ms,
                                               kind::fuel,       kind::open_files,  kind::processes,
                                               kind::net_connections, kind::output_bytes, kind::call_depth};

/// The name used in reports, errors and the CLI's JSON.
constexpr std::string_view name(kind k) noexcept {
    switch (k) {
    case kind::memory: return "memory";
    case kind::cpu_time_ms: return "cpu_time";
    case kind::wall_time_ms: return "wall_time";
    case kind::fuel: return "fuel";
    case kind::open_files: return "open_files";
    case kind::processes: return "processes";
    case kind::net_connections: return "net_connections";
    case kind::output_bytes: return "output_bytes";
    case kind::call_depth: return "call_depth";
    }
    return "unknown";
}

/// The unit a value of this kind is counted in.
constexpr std::string_view unit(kind k) noexcept {
    switch (k) {
    case kind::memory:
    case kind::output_bytes: return "bytes";
    case kind::cpu_time_ms:
    case kind::wall_time_ms: return "ms";
    case kind::fuel: return "instructions";
    default: return "";
    }
}

namespace detail {
struct limit_base {};
} // namespace detail

/// The common shape of every limit element: which limit and its value.
template <kind K, std::uint64_t Value> struct basic_limit : detail::limit_base {
    static_assert(Value > 0, "cordon: a limit must be positive; 0 would allow nothing. To keep the "
                             "isolation preset's default, leave the limit out of the policy");
    static constexpr kind which = K;
    static constexpr std::uint64_t value = Value;
};

template <std::uint64_t Bytes> struct memory : basic_limit<kind::memory, Bytes> {};
template <std::uint64_t Ms> struct cpu_time_ms : basic_limit<kind::cpu_time_ms, Ms> {};
template <std::uint64_t Ms> struct wall_time_ms : basic_limit<kind::wall_time_ms, Ms> {};
template <std::uint64_t Instructions> struct fuel : basic_limit<kind::fuel, Instructions> {};
template <std::uint64_t Count> struct open_files : basic_limit<kind::open_files, Count> {};
template <std::uint64_t Count> struct processes : basic_limit<kind::processes, Count> {};
template <std::uint64_t Count> struct net_connections : basic_limit<kind::net_connections, Count> {};
template <std::uint64_t Bytes> struct output_bytes : basic_limit<kind::output_bytes, Bytes> {};
template <std::uint64_t Depth> struct call_depth : basic_limit<kind::call_depth, Depth> {};

} // namespace limit

/// A set of limits as a value: usable in constant expressions (a preset's defaults, a policy's
/// limits) and at run time (a sandbox's current limits).
class limit_set {
public:
    constexpr limit_set() = default;

    [[nodiscard]] constexpr std::optional<std::uint64_t> get(limit::kind k) const noexcept {
        const auto v = values_[index(k)];
        return v == 0 ? std::nullopt : std::optional<std::uint64_t>{v};
    }
    [[nodiscard]] constexpr bool has(limit::kind k) const noexcept { return values_[index(k)] != 0; }

    /// Sets a limit; 0 removes it.
    constexpr void set(limit::kind k, std::uint64_t value) noexcept { values_[index(k)] = value; }

    /// A copy with one limit set, for building sets in constant expressions.
    [[nodiscard]] constexpr limit_set with(limit::kind k, std::uint64_t value) const noexcept {
        limit_set copy = *this;
        copy.set(k, value);
        return copy;
    }

    /// The elementwise tighter of two sets: a limit present in either is present, the smaller wins.
    [[nodiscard]] constexpr limit_set tightest(const limit_set& other) const noexcept {
        limit_set out;
        for (auto k : limit::all_kinds) {
            const auto a = get(k);
            const auto b = other.get(k);
            if (a && b) out.set(k, *a < *b ? *a : *b);
            else if (a) out.set(k, *a);
            else if (b) out.set(k, *b);
        }
        return out;
    }

    friend constexpr bool operator==(const limit_set&, const limit_set&) = default;

private:
    static constexpr std::size_t index(limit::kind k) noexcept { return static_cast<std::size_t>(k); }
    std::array<std::uint64_t, limit::kind_count> values_{};
};

} // namespace cordon
