// Network scopes: "host:port", "host" (any port), "*:port" (any host), "[::1]:80". Parsed the same
// way at compile time (validation of net::to<"...">) and at run time (grants and checks).
#pragma once

#include <cordon/policy/path.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cordon::endpoint {

struct parts {
    std::string_view host;                 // "*" for any host
    std::optional<std::uint16_t> port;     // empty for any port
};

/// Splits and validates an endpoint scope; nothing when it is malformed.
constexpr std::optional<parts> parse(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::string_view host = text;
    std::string_view port_text;
    if (text.front() == '[') {  // [v6]:port or [v6]
        const auto close = path::find_char(text, ']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
            if (port_text.empty()) return std::nullopt;
        }
    } else if (const auto colon = path::find_char(text, ':'); colon != std::string_view::npos) {
        if (path::find_char(text, ':', colon + 1) != std::string_view::npos) return std::nullopt;  // bare IPv6 must be bracketed
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (port_text.empty()) return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '-' || c == '_' || c == ':' || c == '*';
        if (!ok) return std::nullopt;
    }
    if (path::find_char(host, '*') != std::string_view::npos && host != "*") return std::nullopt;
    if (port_text.empty()) return parts{host, std::nullopt};
    if (port_text == "*") return parts{host, std::nullopt};
    std::uint32_t port = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + static_cast<std::uint32_t>(c - '0');
        if (port > 65535) return std::nullopt;
    }
    if (port == 0) return std::nullopt;
    return parts{host, static_cast<std::uint16_t>(port)};
}

constexpr bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

/// True when the concrete endpoint `inner` (or a narrower scope) lies within the scope `outer`.
constexpr bool is_within(std::string_view inner, std::string_view outer) noexcept {
    const auto i = parse(inner);
    const auto o = parse(outer);
    if (!i || !o) return false;
    const bool host_ok = o->host == "*" || (i->host != "*" && iequal(i->host, o->host));
    const bool port_ok = !o->port || (i->port && *i->port == *o->port);
    return host_ok && port_ok;
}

} // namespace cordon::endpoint
