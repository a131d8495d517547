// A string usable as a template argument, for compile-time scopes (fs_read::under<"/srv">) and
// the names of user-defined permissions (perm::custom<"ui">).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace cordon {

template <std::size_t N> struct fixed_string {
    char chars[N]{};

    constexpr fixed_string(const char (&text)[N]) noexcept {  // NOLINT(google-explicit-constructor)
        std::copy_n(text, N, chars);
    }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return N - 1; }
    constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT(google-explicit-constructor)
};

} // namespace cordon
