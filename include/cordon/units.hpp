// Sizes ("64MiB"), durations ("500ms") and counts ("16") as the `cordon` CLI flags and plugin
// manifests write them: parsing, with every overflow and malformed input an error value, and printing.
#pragma once

#include <cordon/detail/units.hpp>
#include <cordon/policy/limit.hpp>
#include <cordon/result.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace cordon {

/// The largest byte count parse_size accepts: 2^62, far above any machine, and small enough
/// that adding two sizes never overflows.
inline constexpr std::uint64_t max_size_bytes = 1ULL << 62;

/// Parses a size: decimal digits then an optional unit (B, KiB, MiB, GiB, TiB; K, M, G, T as
/// powers of 1024; KB, MB, GB, TB as powers of 1000), case-insensitive. Whitespace, signs and
/// fractions are refused.
inline result<std::uint64_t> parse_size(std::string_view text) {
    using namespace detail::units_detail;
    const auto [digits, suffix] = split_number(text);
    if (digits.empty())
        return fail(error_kind::invalid_argument, "expected a size like \"64MiB\", got " + quoted(text));
    std::uint64_t count = 0;
    if (!to_u64(digits, count))
        return fail(error_kind::invalid_argument, "size " + quoted(text) + " is too large");
    for (const auto& u : size_units) {
        if (!iequals(suffix, u.suffix)) continue;
        std::uint64_t bytes = 0;
        if (!checked_multiply(count, u.factor, bytes) || bytes > max_size_bytes)
            return fail(error_kind::invalid_argument, "size " + quoted(text) + " is too large");
        return bytes;
    }
    return fail(error_kind::invalid_argument, "expected a size like \"64MiB\", got " + quoted(text) +
                                                  " (units: B, KiB, MiB, GiB, TiB)");
}

/// Parses a duration: decimal digits then a unit, one of ms, s, m (minutes), h. A unit is
/// required, since a bare "500" could mean either milliseconds or seconds.
inline result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    using namespace detail::units_detail;
    const auto [digits, suffix] = split_number(text);
    if (digits.empty() || suffix.empty())
        return fail(error_kind::invalid_argument, "expected a duration like \"500ms\", \"2s\" or \"1m\", got " + quoted(text));
    std::uint64_t count = 0;
    if (!to_u64(digits, count))
        return fail(error_kind::invalid_argument, "duration " + quoted(text) + " is too long");
    for (const auto& u : duration_units_ms) {
        if (suffix != u.suffix) continue;  // case matters: "M" would read as months to some
        std::uint64_t ms = 0;
        if (!checked_multiply(count, u.factor, ms) ||
            ms > static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max()))
            return fail(error_kind::invalid_argument, "duration " + quoted(text) + " is too long");
        return std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(ms)};
    }
    return fail(error_kind::invalid_argument, "expected a duration like \"500ms\", \"2s\" or \"1m\", got " +
                                                  quoted(text) + " (units: ms, s, m, h)");
}

/// Parses a plain count ("16"): decimal digits only.
inline result<std::uint64_t> parse_count(std::string_view text) {
    using namespace detail::units_detail;
    const auto [digits, rest] = split_number(text);
    if (digits.empty() || !rest.empty())
        return fail(error_kind::invalid_argument, "expected a whole number like \"16\", got " + quoted(text));
    std::uint64_t count = 0;
    if (!to_u64(digits, count))
        return fail(error_kind::invalid_argument, "number " + quoted(text) + " is too large");
    return count;
}

/// "64MiB" for 64 << 20: the largest binary unit that divides the size exactly.
inline std::string format_size(std::uint64_t bytes) {
    constexpr std::array<std::pair<std::uint64_t, std::string_view>, 4> units{{
        {1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}}};
    for (const auto& [factor, name] : units)
        if (bytes != 0 && bytes % factor == 0) return std::to_string(bytes / factor) + std::string(name);
    return std::to_string(bytes) + "B";
}

/// "2s" for 2000 ms: the largest unit that divides the duration exactly.
inline std::string format_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

/// "64 MiB", "1536 KiB", "2.5 MiB", "512 bytes": a size for people to read (messages, telemetry), unlike
/// format_size, whose output parses back.
inline std::string human_bytes(std::uint64_t bytes) {
    if (bytes >= GiB && bytes % GiB == 0) return fmt::format("{} GiB", bytes / GiB);
    if (bytes >= MiB && bytes % MiB == 0) return fmt::format("{} MiB", bytes / MiB);
    if (bytes >= KiB && bytes % KiB == 0) return fmt::format("{} KiB", bytes / KiB);
    if (bytes >= MiB) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / MiB);
    return fmt::format("{} bytes", bytes);
}

} // namespace cordon
