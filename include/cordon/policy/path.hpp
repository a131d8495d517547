// Lexical path rules shared by compile-time and run-time scopes: normalisation and containment
// on whole components, so "/srv/data" admits "/srv/data/x" but never "/srv/database".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cordon::path {

/// string_view::find by index: in constant evaluation under -fsanitize=undefined, g++ 12 cannot
/// fold the pointer comparison inside the library's find on template-argument strings.
constexpr std::size_t find_char(std::string_view text, char c, std::size_t from = 0) noexcept {
    for (std::size_t i = from; i < text.size(); ++i)
        if (text[i] == c) return i;
    return std::string_view::npos;
}

/// True for an absolute path already in normal form: no empty, "." or ".." components and no
/// trailing slash (except "/" itself). Compile-time scopes must be written this way.
constexpr bool is_normal_absolute(std::string_view p) noexcept {
    if (p.empty() || p.front() != '/') return false;
    if (p == "/") return true;
    if (p.back() == '/') return false;
    std::size_t start = 1;
    while (start <= p.size()) {
        std::size_t end = find_char(p, '/', start);
        if (end == std::string_view::npos) end = p.size();
        const auto part = p.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = end + 1;
    }
    return true;
}

/// True when `inner` is `outer` or lies beneath it, comparing whole components. Both must be
/// normal absolute paths.
constexpr bool is_within(std::string_view inner, std::string_view outer) noexcept {
    if (outer == "/") return !inner.empty() && inner.front() == '/';
    if (inner.size() < outer.size()) return false;
    for (std::size_t i = 0; i < outer.size(); ++i)
        if (inner[i] != outer[i]) return false;
    return inner.size() == outer.size() || inner[outer.size()] == '/';
}

/// Lexical normalisation of an absolute path: collapses "//" and ".", resolves ".." (never above
/// "/"). Returns nothing for a relative or empty path, or one with a NUL byte. Symlinks are the
/// backend's business: it opens beneath the granted root with the kernel's help.
inline std::optional<std::string> normalize(std::string_view p) {
    if (p.empty() || p.front() != '/' || p.find('\0') != std::string_view::npos) return std::nullopt;
    std::string out;
    out.reserve(p.size());
    std::size_t start = 0;
    while (start < p.size()) {
        std::size_t end = p.find('/', start);
        if (end == std::string_view::npos) end = p.size();
        const auto part = p.substr(start, end - start);
        if (part == "..") {
            const auto slash = out.rfind('/');  // drop the last component, never above "/"
            out.resize(slash == std::string::npos ? 0 : slash);
        } else if (!part.empty() && part != ".") {
            out += '/';
            out += part;
        }
        start = end + 1;
    }
    if (out.empty()) out = "/";
    return out;
}

} // namespace cordon::path
