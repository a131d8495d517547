// Semantic Versioning 2.0.0 (https://semver.org): parsing versions and ordering them by
// precedence, pre-release identifiers included and build metadata ignored.
#pragma once

#include <cordon/result.hpp>

#include <algorithm>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cordon::plugin {

/// One dot-separated pre-release identifier: numeric ("2") or alphanumeric ("beta").
using prerelease_identifier = std::variant<std::uint64_t, std::string>;

/// A SemVer 2.0.0 version. Comparison operators follow the spec's precedence rules, so two
/// versions differing only in build metadata compare equal; `identical` tells them apart.
struct version {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    std::uint64_t patch = 0;
    std::vector<prerelease_identifier> prerelease{};
    std::vector<std::string> build{};

    [[nodiscard]] bool is_prerelease() const noexcept { return !prerelease.empty(); }
    [[nodiscard]] std::string to_string() const;

    friend std::strong_ordering operator<=>(const version& a, const version& b) noexcept;
    friend bool operator==(const version& a, const version& b) noexcept { return (a <=> b) == 0; }

    /// Equal including build metadata.
    [[nodiscard]] bool identical(const version& other) const noexcept {
        return *this == other && build == other.build;
    }
};

namespace detail {

/// Longest version string accepted; npm's limit, and plenty for any real version.
inline constexpr std::size_t max_version_length = 256;

inline bool is_identifier_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
inline bool is_digits(std::string_view text) noexcept {
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

/// A numeric identifier: digits, no leading zero (except "0"), fits in 64 bits.
inline result<std::uint64_t> parse_numeric_identifier(std::string_view text, std::string_view what) {
    if (!is_digits(text))
        return fail(error_kind::invalid_argument, std::string(what) + " must be a number, got \"" + std::string(text) + "\"");
    if (text.size() > 1 && text[0] == '0')
        return fail(error_kind::invalid_argument, std::string(what) + " \"" + std::string(text) + "\" has a leading zero");
    std::uint64_t value = 0;
    for (char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            return fail(error_kind::invalid_argument, std::string(what) + " \"" + std::string(text) + "\" is too large");
        value = value * 10 + digit;
    }
    return value;
}

/// Splits on '.', keeping empty pieces so that "1..2" is seen as malformed.
inline std::vector<std::string_view> split_dots(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto dot = text.find('.', start);
        parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return parts;
}

inline result<std::vector<prerelease_identifier>> parse_prerelease(std::string_view text) {
    std::vector<prerelease_identifier> out;
    for (auto part : split_dots(text)) {
        if (part.empty()) return fail(error_kind::invalid_argument, "empty pre-release identifier");
        for (char c : part)
            if (!is_identifier_char(c))
                return fail(error_kind::invalid_argument,
                            "pre-release identifier \"" + std::string(part) + "\" may only hold [0-9A-Za-z-]");
        if (is_digits(part)) {
            auto number = parse_numeric_identifier(part, "numeric pre-release identifier");
            if (!number) return number.error();
            out.emplace_back(*number);
        } else {
            out.emplace_back(std::string(part));
        }
    }
    return out;
}

inline result<std::vector<std::string>> parse_build(std::string_view text) {
    std::vector<std::string> out;
    for (auto part : split_dots(text)) {
        if (part.empty()) return fail(error_kind::invalid_argument, "empty build metadata identifier");
        for (char c : part)
            if (!is_identifier_char(c))
                return fail(error_kind::invalid_argument,
                            "build metadata identifier \"" + std::string(part) + "\" may only hold [0-9A-Za-z-]");
        out.emplace_back(part);  // leading zeros are allowed in build metadata
    }
    return out;
}

inline std::strong_ordering compare_identifiers(const prerelease_identifier& a, const prerelease_identifier& b) noexcept {
    const auto* na = std::get_if<std::uint64_t>(&a);
    const auto* nb = std::get_if<std::uint64_t>(&b);
    if (na && nb) return *na <=> *nb;
    if (na) return std::strong_ordering::less;     // numeric identifiers sort below alphanumeric ones
    if (nb) return std::strong_ordering::greater;
    const int c = std::get<std::string>(a).compare(std::get<std::string>(b));  // ASCII order
    return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
}

} // namespace detail

/// Parses a version exactly as SemVer 2.0.0 writes it: "1.2.3", "1.0.0-alpha.1+build.5".
/// No leading "v", no leading zeros, no missing parts.
inline result<version> parse_version(std::string_view text) {
    auto bad = [&](const std::string& why) {
        std::string shown{text.substr(0, 64)};
        return fail(error_kind::invalid_argument, "invalid version \"" + shown + "\": " + why);
    };
    if (text.empty()) return bad("empty");
    if (text.size() > detail::max_version_length) return bad("longer than 256 characters");

    std::string_view core = text;
    std::string_view pre, build;
    bool has_pre = false, has_build = false;
    if (const auto plus = core.find('+'); plus != std::string_view::npos) {
        build = core.substr(plus + 1);
        core = core.substr(0, plus);
        has_build = true;
    }
    if (const auto dash = core.find('-'); dash != std::string_view::npos) {
        pre = core.substr(dash + 1);
        core = core.substr(0, dash);
        has_pre = true;
    }
    const auto parts = detail::split_dots(core);
    if (parts.size() != 3) return bad("expected MAJOR.MINOR.PATCH");
    version v;
    std::uint64_t* fields[] = {&v.major, &v.minor, &v.patch};
    const char* names[] = {"major version", "minor version", "patch version"};
    for (std::size_t i = 0; i < 3; ++i) {
        auto number = detail::parse_numeric_identifier(parts[i], names[i]);
        if (!number) return bad(number.error().message());
        *fields[i] = *number;
    }
    if (has_pre) {
        auto identifiers = detail::parse_prerelease(pre);
        if (!identifiers) return bad(identifiers.error().message());
        v.prerelease = std::move(*identifiers);
    }
    if (has_build) {
        auto identifiers = detail::parse_build(build);
        if (!identifiers) return bad(identifiers.error().message());
        v.build = std::move(*identifiers);
    }
    return v;
}

inline std::strong_ordering operator<=>(const version& a, const version& b) noexcept {
    if (auto c = a.major <=> b.major; c != 0) return c;
    if (auto c = a.minor <=> b.minor; c != 0) return c;
    if (auto c = a.patch <=> b.patch; c != 0) return c;
    // A pre-release sorts below the release it precedes.
    if (a.prerelease.empty() != b.prerelease.empty())
        return a.prerelease.empty() ? std::strong_ordering::greater : std::strong_ordering::less;
    const auto common = std::min(a.prerelease.size(), b.prerelease.size());
    for (std::size_t i = 0; i < common; ++i)
        if (auto c = detail::compare_identifiers(a.prerelease[i], b.prerelease[i]); c != 0) return c;
    return a.prerelease.size() <=> b.prerelease.size();
}

inline std::string version::to_string() const {
    std::string out = std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
    for (std::size_t i = 0; i < prerelease.size(); ++i) {
        out += i == 0 ? '-' : '.';
        if (const auto* n = std::get_if<std::uint64_t>(&prerelease[i])) out += std::to_string(*n);
        else out += std::get<std::string>(prerelease[i]);
    }
    for (std::size_t i = 0; i < build.size(); ++i) {
        out += i == 0 ? '+' : '.';
        out += build[i];
    }
    return out;
}

} // namespace cordon::plugin
