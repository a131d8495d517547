// Permission strings in the `--allow` syntax shared by the CLI and plugin manifests
// (fs.read=PATH fs.write=PATH net=HOST:PORT|net clock random env process plugin system).
#pragma once

#include <cordon/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cordon::plugin {

enum class permission_kind : std::uint8_t { fs_read, fs_write, net, clock, random, env, process, plugin, system };

/// The spelling of each kind in the `--allow` syntax.
constexpr std::string_view to_string(permission_kind kind) noexcept {
    switch (kind) {
    case permission_kind::fs_read: return "fs.read";
    case permission_kind::fs_write: return "fs.write";
    case permission_kind::net: return "net";
    case permission_kind::clock: return "clock";
    case permission_kind::random: return "random";
    case permission_kind::env: return "env";
    case permission_kind::process: return "process";
    case permission_kind::plugin: return "plugin";
    case permission_kind::system: return "system";
    }
    return "unknown";
}

/// A requested permission: its kind and, for fs.* and scoped net, its scope as written.
struct permission_request {
    permission_kind kind{};
    std::string scope{};  // "" when unscoped

    [[nodiscard]] std::string to_string() const {
        std::string out{plugin::to_string(kind)};
        if (!scope.empty()) out += '=' + scope;
        return out;
    }
    friend bool operator==(const permission_request&, const permission_request&) = default;
};

namespace detail {

inline constexpr std::size_t max_scope_length = 4096;

inline constexpr std::array<permission_kind, 9> all_permission_kinds{
    permission_kind::fs_read, permission_kind::fs_write, permission_kind::net,    permission_kind::clock,
    permission_kind::random,  permission_kind::env,      permission_kind::process, permission_kind::plugin,
    permission_kind::system};

inline std::optional<permission_kind> permission_kind_named(std::string_view name) noexcept {
    for (auto kind : all_permission_kinds)
        if (to_string(kind) == name) return kind;
    return std::nullopt;
}

inline bool has_control_char(std::string_view text) noexcept {
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

/// An absolute path with no "." or ".." component: scopes are resolved beneath their root
/// by the backends, and a path that climbs out of itself is never what a plugin should ask for.
inline result<void> check_scope_path(std::string_view path) {
    if (path.empty()) return fail(error_kind::invalid_argument, "needs a path, like fs.read=/srv/data");
    if (path.size() > max_scope_length) return fail(error_kind::invalid_argument, "path longer than 4096 bytes");
    if (path.front() != '/') return fail(error_kind::invalid_argument, "path \"" + std::string(path) + "\" must be absolute");
    if (has_control_char(path)) return fail(error_kind::invalid_argument, "path contains a control character");
    std::size_t start = 1;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part == "." || part == "..")
            return fail(error_kind::invalid_argument, "path \"" + std::string(path) + "\" may not contain \"" + std::string(part) + "\"");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return {};
}

inline bool is_hostname(std::string_view host) noexcept {
    if (host.empty() || host.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
        if (i == host.size() || host[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (host[i - 1] == '-' || host[i - label] == '-') return false;
            label = 0;
            continue;
        }
        const char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
        ++label;
    }
    return true;
}

inline bool is_bracketed_ipv6(std::string_view host) noexcept {
    if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
    std::size_t colons = 0;
    for (char c : host.substr(1, host.size() - 2)) {
        if (c == ':') ++colons;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.')) return false;
    }
    return colons >= 2 && colons <= 7;
}

/// HOST:PORT with HOST a DNS name, an IPv4 address or a bracketed IPv6 address and PORT
/// in 1..65535.
inline result<void> check_net_scope(std::string_view scope) {
    const auto colon = scope.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return fail(error_kind::invalid_argument, "expected HOST:PORT, like net=example.org:443");
    const auto host = scope.substr(0, colon);
    const auto port = scope.substr(colon + 1);
    if (!is_hostname(host) && !is_bracketed_ipv6(host))
        return fail(error_kind::invalid_argument, "\"" + std::string(host.substr(0, 64)) + "\" is not a host name or address");
    if (port.empty() || port.size() > 5 || (port.size() > 1 && port[0] == '0'))
        return fail(error_kind::invalid_argument, "port \"" + std::string(port.substr(0, 16)) + "\" must be a number in 1..65535");
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9')
            return fail(error_kind::invalid_argument, "port \"" + std::string(port) + "\" must be a number in 1..65535");
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535)
        return fail(error_kind::invalid_argument, "port " + std::string(port) + " must be in 1..65535");
    return {};
}

} // namespace detail

/// Parses one permission string. fs.read and fs.write need an absolute path; net takes an
/// optional HOST:PORT; the others take no scope.
inline result<permission_request> parse_permission(std::string_view text) {
    const auto equals = text.find('=');
    const auto name = text.substr(0, equals);
    const auto kind = detail::permission_kind_named(name);
    if (!kind)
        return fail(error_kind::invalid_argument,
                    "unknown permission \"" + std::string(name.substr(0, 64)) +
                        "\" (known: fs.read=PATH fs.write=PATH net[=HOST:PORT] clock random env process plugin system)");
    permission_request request{*kind, {}};
    const bool scoped = equals != std::string_view::npos;
    const auto scope = scoped ? text.substr(equals + 1) : std::string_view{};
    auto with_name = [&](const error& e) {
        return fail(error_kind::invalid_argument, std::string(name) + ": " + e.message());
    };
    switch (*kind) {
    case permission_kind::fs_read:
    case permission_kind::fs_write:
        if (auto ok = detail::check_scope_path(scope); !ok) return with_name(ok.error());
        break;
    case permission_kind::net:
        if (scoped)
            if (auto ok = detail::check_net_scope(scope); !ok) return with_name(ok.error());
        break;
    default:
        if (scoped) return fail(error_kind::invalid_argument, std::string(name) + " takes no scope");
    }
    request.scope = std::string(scope);
    return request;
}

} // namespace cordon::plugin
