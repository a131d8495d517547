// Command-line arguments as boundary values, parsed by an export's signature: i32 and i64 accept
// their whole signed and unsigned range, f32 and f64 decimal, hex, inf and nan.
#pragma once

#include <cordon/host/value.hpp>
#include <cordon/result.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace cordon::cli {

/// Parses one argument as a value of type t; the message says what was expected.
inline result<value> parse_value(std::string_view text, value_type t) {
    auto bad = [&](std::string_view what) {
        return fail(error_kind::invalid_argument, fmt::format("'{}' is not {}", text, what));
    };
    if (text.empty()) return bad("a number");
    if (t == value_type::i32 || t == value_type::i64) {
        const bool negative = text.front() == '-';
        const std::string_view digits = negative ? text.substr(1) : text;
        std::uint64_t magnitude = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
            return bad(t == value_type::i32 ? "an i32 (-2147483648 to 4294967295)"
                                            : "an i64 (-9223372036854775808 to 18446744073709551615)");
        if (t == value_type::i32) {
            if (negative ? magnitude > 2147483648ull : magnitude > 4294967295ull) return bad("an i32 (-2147483648 to 4294967295)");
            const auto v = negative ? static_cast<std::uint32_t>(0u - static_cast<std::uint32_t>(magnitude))
                                    : static_cast<std::uint32_t>(magnitude);
            return value::of(static_cast<std::int32_t>(v));
        }
        if (negative && magnitude > 9223372036854775808ull) return bad("an i64 (-9223372036854775808 to 18446744073709551615)");
        const auto v = negative ? 0ull - magnitude : magnitude;
        return value::of(static_cast<std::int64_t>(v));
    }
    const std::string copy(text);
    char* end = nullptr;
    errno = 0;
    if (t == value_type::f32) {
        const float f = std::strtof(copy.c_str(), &end);
        if (end != copy.c_str() + copy.size() || (errno == ERANGE && std::isinf(f))) return bad("an f32");
        return value::of(f);
    }
    const double d = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || (errno == ERANGE && std::isinf(d))) return bad("an f64");
    return value::of(d);
}

/// A value as JSON: integers signed as the guest sees them, floats as numbers (or strings for
/// nan and infinities, which JSON cannot hold).
inline nlohmann::json to_json(const value& v) {
    switch (v.type) {
    case value_type::i32: return v.as<std::int32_t>();
    case value_type::i64: return v.as<std::int64_t>();
    case value_type::f32:
    case value_type::f64: {
        const double d = v.type == value_type::f32 ? static_cast<double>(v.as<float>()) : v.as<double>();
        if (std::isfinite(d)) return d;
        return std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
    }
    default: return nullptr;  // only numbers come back from a call
    }
    return nullptr;
}

} // namespace cordon::cli
