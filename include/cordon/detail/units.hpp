// The pieces cordon/units.hpp parses with: digit splitting, overflow-checked arithmetic, the
// unit tables and the quoting of bad input in messages. Internal; use cordon/units.hpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

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

} // namespace cordon::detail
