// Values that cross the sandbox boundary: the four WebAssembly number types, shared by every
// backend so one host function or one call signature means the same thing everywhere.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace cordon {

enum class value_type : std::uint8_t { i32, i64, f32, f64 };

constexpr std::string_view to_string(value_type t) noexcept {
    switch (t) {
    case value_type::i32: return "i32";
    case value_type::i64: return "i64";
    case value_type::f32: return "f32";
    case value_type::f64: return "f64";
    }
    return "?";
}

/// True for the C++ types that map onto a boundary value.
template <class T>
inline constexpr bool is_boundary_type_v =
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint32_t> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::uint64_t> || std::is_same_v<T, float> || std::is_same_v<T, double> ||
    std::is_same_v<T, bool>;

/// The boundary type of a C++ type: int32_t, uint32_t and bool are i32; 64-bit integers i64.
template <class T> constexpr value_type value_type_of() noexcept {
    static_assert(!std::is_pointer_v<T>,
                  "cordon: a pointer cannot cross the sandbox boundary; pass bytes with call_bytes() "
                  "or an offset into guest memory as uint32_t");
    static_assert(is_boundary_type_v<T>,
                  "cordon: this type cannot cross the sandbox boundary; use int32_t, uint32_t, int64_t, "
                  "uint64_t, float, double or bool");
    if constexpr (std::is_same_v<T, float>) return value_type::f32;
    else if constexpr (std::is_same_v<T, double>) return value_type::f64;
    else if constexpr (sizeof(T) == 8) return value_type::i64;
    else return value_type::i32;
}

/// One boundary value: a type tag and 64 bits.
struct value {
    value_type type = value_type::i32;
    std::uint64_t bits = 0;

    template <class T> static value of(T v) noexcept {
        value out{value_type_of<T>(), 0};
        if constexpr (std::is_same_v<T, float>) {
            std::uint32_t b;
            std::memcpy(&b, &v, 4);
            out.bits = b;
        } else if constexpr (std::is_same_v<T, double>) {
            std::memcpy(&out.bits, &v, 8);
        } else if constexpr (sizeof(T) == 8) {
            out.bits = static_cast<std::uint64_t>(v);
        } else {
            out.bits = static_cast<std::uint32_t>(v);
        }
        return out;
    }
    template <class T> [[nodiscard]] T as() const noexcept {
        if constexpr (std::is_same_v<T, float>) {
            float f;
            const auto b = static_cast<std::uint32_t>(bits);
            std::memcpy(&f, &b, 4);
            return f;
        } else if constexpr (std::is_same_v<T, double>) {
            double d;
            std::memcpy(&d, &bits, 8);
            return d;
        } else if constexpr (std::is_same_v<T, bool>) {
            return static_cast<std::uint32_t>(bits) != 0;
        } else {
            return static_cast<T>(bits);
        }
    }
};

} // namespace cordon
