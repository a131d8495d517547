// WebAssembly value types and function signatures as cordon sees them, engine-neutral, and the
// mapping from C++ argument and result types to them (so a typed call can be checked).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace cordon::wasm {

enum class value_type : std::uint8_t { i32, i64, f32, f64, v128, funcref, externref };

constexpr std::string_view to_string(value_type type) noexcept {
    switch (type) {
    case value_type::i32: return "i32";
    case value_type::i64: return "i64";
    case value_type::f32: return "f32";
    case value_type::f64: return "f64";
    case value_type::v128: return "v128";
    case value_type::funcref: return "funcref";
    case value_type::externref: return "externref";
    }
    return "?";
}

/// A function type: parameter and result types, comparable and printable as "(i32, i64) -> f64".
struct signature {
    std::vector<value_type> params;
    std::vector<value_type> results;

    friend bool operator==(const signature&, const signature&) = default;

    [[nodiscard]] std::string to_string() const {
        auto list = [](const std::vector<value_type>& types) {
            std::string text;
            for (std::size_t i = 0; i < types.size(); ++i) {
                if (i != 0) text += ", ";
                text += wasm::to_string(types[i]);
            }
            return text;
        };
        std::string text = "(" + list(params) + ") -> ";
        text += results.size() == 1 ? list(results) : "(" + list(results) + ")";
        return text;
    }
};

/// One scalar value crossing the host/guest boundary. Only numeric types cross: references and
/// vectors stay inside the guest.
struct value {
    value_type type = value_type::i32;
    union {
        std::int32_t i32;
        std::int64_t i64;
        float f32;
        double f64;
    };

    value() : i64{0} {}
    static value of_i32(std::int32_t v) { value x; x.type = value_type::i32; x.i32 = v; return x; }
    static value of_i64(std::int64_t v) { value x; x.type = value_type::i64; x.i64 = v; return x; }
    static value of_f32(float v) { value x; x.type = value_type::f32; x.f32 = v; return x; }
    static value of_f64(double v) { value x; x.type = value_type::f64; x.f64 = v; return x; }
};

namespace detail {

template <class T> struct wasm_type_of {
    static_assert(sizeof(T) == 0,
                  "this C++ type cannot cross the wasm boundary; use std::int32_t, std::uint32_t, "
                  "std::int64_t, std::uint64_t, float or double (pointers are guest offsets: pass "
                  "them as std::uint32_t)");
};
template <> struct wasm_type_of<bool> { static constexpr value_type type = value_type::i32; };
template <> struct wasm_type_of<std::int32_t> { static constexpr value_type type = value_type::i32; };
template <> struct wasm_type_of<std::uint32_t> { static constexpr value_type type = value_type::i32; };
template <> struct wasm_type_of<std::int64_t> { static constexpr value_type type = value_type::i64; };
template <> struct wasm_type_of<std::uint64_t> { static constexpr value_type type = value_type::i64; };
template <> struct wasm_type_of<float> { static constexpr value_type type = value_type::f32; };
template <> struct wasm_type_of<double> { static constexpr value_type type = value_type::f64; };

template <class T> value to_value(T v) {
    constexpr value_type type = wasm_type_of<T>::type;
    if constexpr (type == value_type::i32) return value::of_i32(static_cast<std::int32_t>(v));
    else if constexpr (type == value_type::i64) return value::of_i64(static_cast<std::int64_t>(v));
    else if constexpr (type == value_type::f32) return value::of_f32(v);
    else return value::of_f64(v);
}

template <class T> T from_value(const value& v) {
    constexpr value_type type = wasm_type_of<T>::type;
    if constexpr (std::is_same_v<T, bool>) return v.i32 != 0;
    else if constexpr (type == value_type::i32) return static_cast<T>(v.i32);
    else if constexpr (type == value_type::i64) return static_cast<T>(v.i64);
    else if constexpr (type == value_type::f32) return v.f32;
    else return v.f64;
}

template <class Fn> struct signature_of;
template <class R, class... Args> struct signature_of<R(Args...)> {
    using result_type = R;
    using args_tuple = std::tuple<Args...>;
    static signature get() {
        signature sig{{wasm_type_of<std::remove_cvref_t<Args>>::type...}, {}};
        if constexpr (!std::is_void_v<R>) sig.results.push_back(wasm_type_of<R>::type);
        return sig;
    }
};

} // namespace detail

/// The wasm signature a C++ function type stands for: signature_for<std::int32_t(double)>().
template <class Fn> signature signature_for() { return detail::signature_of<Fn>::get(); }

} // namespace cordon::wasm
