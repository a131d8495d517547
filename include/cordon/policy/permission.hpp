// Permission tags: the built-in ones of DESIGN.md, user-defined ones (perm::custom<"ui">), and
// compile-time scoped variants (perm::fs_read::under<"/srv">). A tag type names a capability in
// a policy; a tag value (perm::fs_read{"/srv/images"}) is a runtime grant with its scope.
#pragma once

#include <cordon/policy/endpoint.hpp>
#include <cordon/policy/fixed_string.hpp>
#include <cordon/policy/path.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cordon::perm {

/// What a permission's scope is made of, which decides how scopes are matched.
enum class scope_kind : std::uint8_t {
    none,      // no scope: granted or not
    path,      // filesystem path, matched on whole components after normalisation
    endpoint,  // network "host:port", matched on host and port
    text,      // opaque string, matched exactly (for user-defined scoped permissions)
};

namespace detail {
constexpr bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
constexpr bool is_valid_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}
// In the order of perm::id's built-in values.
inline constexpr std::string_view builtin_names[] = {"fs.read", "fs.write", "net",    "process", "clock",
                                                      "random",  "env",      "system", "plugin"};
constexpr bool is_builtin_name(std::string_view name) noexcept {
    for (auto b : builtin_names)
        if (b == name) return true;
    return false;
}

/// True when a scope written at compile time is well formed for its kind.
constexpr bool is_valid_scope(scope_kind kind, std::string_view scope) noexcept {
    switch (kind) {
    case scope_kind::none: return scope.empty();
    case scope_kind::path: return cordon::path::is_normal_absolute(scope);
    case scope_kind::endpoint: return cordon::endpoint::parse(scope).has_value();
    case scope_kind::text: return !scope.empty();
    }
    return false;
}

/// True when `inner` lies within `outer` for scopes of this kind.
constexpr bool scope_within(scope_kind kind, std::string_view inner, std::string_view outer) noexcept {
    switch (kind) {
    case scope_kind::none: return true;
    case scope_kind::path: return cordon::path::is_within(inner, outer);
    case scope_kind::endpoint: return cordon::endpoint::is_within(inner, outer);
    case scope_kind::text: return inner == outer;
    }
    return false;
}

struct permission_base {};
struct scoped_base {};
} // namespace detail

/// A permission kind as a small number, so that a grant check below the facade is a bit test.
/// Built-in kinds have fixed ids; a sandbox's runtime policy numbers user-defined kinds after
/// them (runtime_policy::intern), so a custom kind's id means something only in its sandbox.
enum class id : std::uint8_t {
    fs_read, fs_write, net, process, clock, random, env, system, plugin,
    first_custom,
};
static_assert(std::size(detail::builtin_names) == static_cast<std::size_t>(id::first_custom),
              "every built-in kind has its id, in the order of builtin_names");
/// How many kinds one sandbox can tell apart (the width of its grant mask).
inline constexpr std::size_t max_kinds = 64;

/// How a kind's scopes are made, for a kind known by name (user-defined kinds named at run time
/// are unscoped).
constexpr scope_kind scoping_of(std::string_view name) noexcept {
    if (name == "fs.read" || name == "fs.write") return scope_kind::path;
    if (name == "net") return scope_kind::endpoint;
    return scope_kind::none;
}

/// The name of a built-in kind's id ("" for a user-defined kind's, which only its sandbox knows).
constexpr std::string_view builtin_name(id kind) noexcept {
    const auto i = static_cast<std::size_t>(kind);
    return i < std::size(detail::builtin_names) ? detail::builtin_names[i] : std::string_view{};
}

/// The id of a built-in kind's name, if it is one.
constexpr std::optional<id> builtin_id(std::string_view name) noexcept {
    for (std::size_t i = 0; i < std::size(detail::builtin_names); ++i)
        if (detail::builtin_names[i] == name) return static_cast<id>(i);
    return std::nullopt;
}

template <class Kind, fixed_string Scope> struct scoped;

/// The common shape of every permission tag. Name is what the CLI, manifests, errors and
/// enforcement reports call it; Scope says how its runtime values are scoped.
template <fixed_string Name, scope_kind Scope = scope_kind::none>
struct basic_permission : detail::permission_base {
    static_assert(detail::is_valid_name(Name.view()),
                  "cordon: a permission name must be non-empty and use only a-z, 0-9, '.', '_' and '-'");
    static constexpr std::string_view name = Name.view();
    static constexpr scope_kind scoping = Scope;

    /// The runtime scope of this value; empty for unscoped permissions.
    [[nodiscard]] std::string_view scope_text() const noexcept { return {}; }
};

template <fixed_string Name, scope_kind Scope>
    requires(Scope != scope_kind::none)
struct basic_permission<Name, Scope> : detail::permission_base {
    static_assert(detail::is_valid_name(Name.view()),
                  "cordon: a permission name must be non-empty and use only a-z, 0-9, '.', '_' and '-'");
    static constexpr std::string_view name = Name.view();
    static constexpr scope_kind scoping = Scope;

    basic_permission() = default;
    explicit basic_permission(std::string scope_value) : scope{std::move(scope_value)} {}

    std::string scope;  // a path, "host:port", or text, checked when granted
    [[nodiscard]] std::string_view scope_text() const noexcept { return scope; }
};

// ---- built-in permissions -------------------------------------------------------------------

/// Read files beneath a path.
struct fs_read : basic_permission<"fs.read", scope_kind::path> {
    using basic_permission::basic_permission;
    template <fixed_string Path> using under = scoped<fs_read, Path>;
};
/// Create and write files beneath a path.
struct fs_write : basic_permission<"fs.write", scope_kind::path> {
    using basic_permission::basic_permission;
    template <fixed_string Path> using under = scoped<fs_write, Path>;
};
/// Open network connections to an endpoint ("host:port", "host", "*:443").
struct net : basic_permission<"net", scope_kind::endpoint> {
    using basic_permission::basic_permission;
    template <fixed_string Endpoint> using to = scoped<net, Endpoint>;
};
/// Spawn processes (exec, fork).
struct process : basic_permission<"process"> {};
/// Read the wall and monotonic clocks.
struct clock : basic_permission<"clock"> {};
/// Read cryptographically secure random bytes.
struct random : basic_permission<"random"> {};
/// Read environment variables the host passes.
struct env : basic_permission<"env"> {};
/// Read host information (CPU count, OS name, memory size).
struct system : basic_permission<"system"> {};
/// Call and message other plugins through the host's bus.
struct plugin : basic_permission<"plugin"> {};

/// A user-defined permission for a host-specific capability:
///     struct ui : cordon::perm::custom<"ui"> {};
///     struct db : cordon::perm::custom<"db", cordon::perm::scope_kind::text> { using custom::custom; };
template <fixed_string Name, scope_kind Scope = scope_kind::none>
struct custom : basic_permission<Name, Scope> {
    static_assert(!detail::is_builtin_name(Name.view()),
                  "cordon: a custom permission may not reuse a built-in permission's name "
                  "(fs.read, fs.write, net, process, clock, random, env, system, plugin); pick another name");
    using basic_permission<Name, Scope>::basic_permission;
};

// ---- traits ---------------------------------------------------------------------------------

/// A permission tag: a built-in, a custom one, or a compile-time scoped variant of either.
template <class T>
concept permission = std::is_base_of_v<detail::permission_base, T> || std::is_base_of_v<detail::scoped_base, T>;

/// A permission fixed to a scope at compile time: fs_read::under<"/srv">, net::to<"db:5432">.
template <class Kind, fixed_string Scope> struct scoped : detail::scoped_base {
    static_assert(std::is_base_of_v<detail::permission_base, Kind>,
                  "cordon: scoped<Kind, Scope> needs a permission tag as Kind");
    static_assert(Kind::scoping != scope_kind::none,
                  "cordon: this permission takes no scope; name it without ::under<> / ::to<>");
    static_assert(detail::is_valid_scope(Kind::scoping, Scope.view()),
                  "cordon: malformed compile-time scope: a path scope must be a normalised absolute path "
                  "like \"/srv/data\" (no trailing '/', '.' or '..'); a net scope must be \"host:port\", "
                  "\"host\" or \"*:port\"");
    using kind = Kind;
    static constexpr std::string_view name = Kind::name;
    static constexpr scope_kind scoping = Kind::scoping;
    static constexpr std::string_view scope = Scope.view();
};

namespace detail {
template <class P> struct kind_of { using type = P; };
template <class K, fixed_string S> struct kind_of<scoped<K, S>> { using type = K; };
} // namespace detail

/// The unscoped tag behind a permission: kind_t<fs_read::under<"/srv">> is fs_read.
template <class P> using kind_t = typename detail::kind_of<P>::type;

/// True for tags with a compile-time scope.
template <class P> inline constexpr bool is_scoped_v = std::is_base_of_v<detail::scoped_base, P>;

/// The compile-time scope of a tag, or "" when it has none.
template <class P> constexpr std::string_view static_scope() noexcept {
    if constexpr (is_scoped_v<P>) return P::scope;
    else return {};
}

} // namespace cordon::perm
