// Parsing of the sizes ("64MiB"), durations ("500ms") and counts ("16") that the `cordon`
// CLI flags and plugin manifests share; every overflow and malformed input is an error value.
#pragma once

#include <cordon/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace cordon::detail {

namespace units_detail {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

/// Splits "64MiB" into its leading decimal digits and the rest; the digits may be empty.
constexpr std::pair<std::string_view, std::string_view> split_number(std::string_view text) noexcept {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    return {text.substr(0, digits), text.substr(digits)};
}

/// Decimal digits to an unsigned 64-bit value; false on overflow or when there are no digits.
constexpr bool to_u64(std::string_view digits, std::uint64_t& out) noexcept {
    if (digits.empty()) return false;
    std::uint64_t value = 0;
    for (char c : digits) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
        value = value * 10 + digit;
    }
    out = value;
    return true;
}

constexpr bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

struct unit {
    std::string_view suffix;
    std::uint64_t factor;
};

// Binary units are what the examples use ("64MiB"); bare K/M/G follow ulimit and docker in
// meaning powers of 1024; KB/MB/GB are the SI powers of 1000 so that nobody is surprised.
inline constexpr std::array<unit, 14> size_units{{
    {"", 1},
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"K", 1ULL << 10},
    {"M", 1ULL << 20},
    {"G", 1ULL << 30},
    {"T", 1ULL << 40},
    {"KB", 1000ULL},
    {"MB", 1000ULL * 1000},
    {"GB", 1000ULL * 1000 * 1000},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
}};

inline constexpr std::array<unit, 4> duration_units_ms{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60ULL * 1000},
    {"h", 60ULL * 60 * 1000},
}};

inline std::string quoted(std::string_view text) {
    // Error messages echo the input, but never more than a line of it.
    constexpr std::size_t max_echo = 64;
    std::string out = "\"";
    for (char c : text.substr(0, max_echo)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (text.size() > max_echo) out += "...";
    out += '"';
    return out;
}

} // namespace units_detail

/// The largest byte count parse_size accepts: 2^62, far above any machine, and small enough
/// that adding two sizes never overflows.
inline constexpr std::uint64_t max_size_bytes = 1ULL << 62;

/// Parses a size: decimal digits then an optional unit (B, KiB, MiB, GiB, TiB; K, M, G, T as
/// powers of 1024; KB, MB, GB, TB as powers of 1000), case-insensitive. Whitespace, signs and
/// fractions are refused.
inline result<std::uint64_t> parse_size(std::string_view text) {
    using namespace units_detail;
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
    using namespace units_detail;
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
    using namespace units_detail;
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

} // namespace cordon::detail
