// Values that cross the sandbox boundary and the signatures made of them: one vocabulary for
// every backend and engine, so one host function or one call signature means the same thing
// everywhere (a wasm module's export, a native plugin's function, a host function's import).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace cordon {

/// The four WebAssembly number types cross the boundary. v128 and the reference types can be
/// named in a module's signature (what `inspect` shows, what a mismatch message says), but no
/// call passes them: an export that takes or returns one is not callable from the host.
enum class value_type : std::uint8_t { i32, i64, f32, f64, v128, funcref, externref };

/// True for the types a value of the boundary can hold.
constexpr bool is_number(value_type t) noexcept { return t <= value_type::f64; }

constexpr std::string_view to_string(value_type t) noexcept {
    switch (t) {
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

/// One boundary value: a type tag and 64 bits (an i32 or f32 in the low 32, the rest zero).
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

namespace host {

/// A function type at the boundary, comparable and printable.
struct signature {
    std::vector<value_type> params;
    std::vector<value_type> results;
    friend bool operator==(const signature&, const signature&) = default;
};

/// One export of a payload as its backend lists it: a function with its signature, or a
/// function of the bytes-in/bytes-out convention (then `signature` is what it is underneath, if
/// anything: a wasm export of that convention is () -> i32).
struct export_description {
    std::string name;
    std::optional<signature> sig;
    bool bytes = false;
};

/// "(i32, i64) -> f64", "() -> ()", "(i32) -> (i32, i64)": how errors and reports print one.
inline std::string to_string(const signature& sig) {
    auto list = [](const std::vector<value_type>& types) {
        std::string text;
        for (std::size_t i = 0; i < types.size(); ++i) (text += i ? ", " : "") += cordon::to_string(types[i]);
        return text;
    };
    const std::string results = list(sig.results);
    return "(" + list(sig.params) + ") -> " + (sig.results.size() == 1 ? results : "(" + results + ")");
}

/// The boundary signature of a C++ function type: signature_of<int32_t(int32_t)>() is (i32) -> i32.
template <class Sig> struct signature_traits;
template <class R, class... A> struct signature_traits<R(A...)> {
    using ret = R;
    using args = std::tuple<A...>;
    static signature make() {
        signature sig{{value_type_of<std::remove_cvref_t<A>>()...}, {}};
        if constexpr (!std::is_void_v<R>) sig.results.push_back(value_type_of<R>());
        return sig;
    }
};
template <class Sig> signature signature_of() { return signature_traits<Sig>::make(); }

} // namespace host
} // namespace cordon
