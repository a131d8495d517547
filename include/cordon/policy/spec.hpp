// policy_spec: a compile-time policy flattened into a runtime value (ceiling entries with their
// scope constraints, initial grants, limits, mechanisms) for the runtime view, reports and printing.
#pragma once

#include <cordon/policy/isolation.hpp>
#include <cordon/policy/limit.hpp>
#include <cordon/policy/mechanism.hpp>
#include <cordon/policy/set.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon {

namespace hana = boost::hana;

/// One permission kind the ceiling admits. A scope must lie within one alternative of every
/// list in scope_limits; an empty scope_limits admits any scope.
struct ceiling_entry {
    std::string name;
    perm::scope_kind scoping = perm::scope_kind::none;
    std::vector<std::vector<std::string>> scope_limits{};
};

/// One grant: a kind, with a scope for scoped kinds. A scoped kind granted without any scope is
/// recorded with scope empty: the kind is on, but no path has been given yet.
struct grant_entry {
    std::string name;
    perm::scope_kind scoping = perm::scope_kind::none;
    std::optional<std::string> scope{};
};

struct policy_spec {
    std::string preset;
    isolation::builtin preset_kind = isolation::builtin::custom;  // which built-in preset, by type
    std::vector<ceiling_entry> ceiling;
    bool admits_unlisted = false;       // user-defined kinds not listed above are admitted, unscoped
    std::vector<std::string> denied;    // kinds removed by deny<>
    std::vector<grant_entry> grants;    // granted at creation
    limit_set limits;
    mechanism_set required;
    bool best_effort = false;

    [[nodiscard]] const ceiling_entry* find(std::string_view name) const noexcept {
        auto it = std::find_if(ceiling.begin(), ceiling.end(), [&](const auto& e) { return e.name == name; });
        return it == ceiling.end() ? nullptr : &*it;
    }
    /// A policy written at run time rather than as a type (engine tests, tools that drive an
    /// engine without the facade): adds a kind to the ceiling with any scope.
    policy_spec& admit(std::string_view name) {
        if (!find(name)) ceiling.push_back({std::string(name), perm::scoping_of(name), {}});
        return *this;
    }
    /// Admits a kind and grants it at creation, with a scope for scoped kinds.
    policy_spec& grant(std::string_view name, std::optional<std::string> scope = std::nullopt) {
        admit(name);
        grants.push_back({std::string(name), perm::scoping_of(name), std::move(scope)});
        return *this;
    }

    /// Is this kind inside the ceiling at all (some scope of it)?
    [[nodiscard]] bool admits_kind(std::string_view name) const noexcept {
        if (find(name)) return true;
        if (!admits_unlisted || perm::detail::is_builtin_name(name)) return false;
        return std::find(denied.begin(), denied.end(), name) == denied.end();
    }
};

namespace detail {

using builtin_kinds = decltype(hana::tuple_t<perm::fs_read, perm::fs_write, perm::net, perm::process, perm::clock,
                                              perm::random, perm::env, perm::system, perm::plugin>);

/// The scopes a set lists for a kind, or nothing when it admits that kind with any scope.
template <class Set, class Kind> std::optional<std::vector<std::string>> listed_scopes() {
    if constexpr (Set::template admits_any_scope<Kind>) {
        return std::nullopt;
    } else {
        std::vector<std::string> scopes;
        perm::for_each_member<Set>([&](auto t) {
            using M = typename decltype(t)::type;
            if constexpr (perm::is_scoped_v<M> && std::is_same_v<perm::kind_t<M>, Kind>)
                scopes.emplace_back(M::scope);
        });
        return scopes;
    }
}

template <class Ceiling, class Kind> ceiling_entry make_ceiling_entry() {
    ceiling_entry e{std::string(Kind::name), Kind::scoping, {}};
    if (auto s = listed_scopes<typename Ceiling::base, Kind>()) e.scope_limits.push_back(std::move(*s));
    if constexpr (Ceiling::narrowed) {
        if (auto s = listed_scopes<typename Ceiling::narrow, Kind>()) e.scope_limits.push_back(std::move(*s));
    }
    return e;
}

inline bool within_limits(const ceiling_entry& e, std::string_view scope) {
    return std::all_of(e.scope_limits.begin(), e.scope_limits.end(), [&](const auto& alternatives) {
        return std::any_of(alternatives.begin(), alternatives.end(),
                           [&](const auto& outer) { return perm::detail::scope_within(e.scoping, scope, outer); });
    });
}

template <class Ceiling, class Grants>
policy_spec make_spec(std::string_view preset, isolation::builtin preset_kind, limit_set limits, mechanism_set required,
                      bool best_effort) {
    policy_spec spec;
    spec.preset = std::string(preset);
    spec.preset_kind = preset_kind;
    spec.limits = limits;
    spec.required = required;
    spec.best_effort = best_effort;
    spec.admits_unlisted = Ceiling::admits_unlisted;

    auto add_kind = [&](auto kind_type) {
        using K = typename decltype(kind_type)::type;
        if constexpr (Ceiling::template admits<K>) {
            if (!spec.find(K::name)) spec.ceiling.push_back(make_ceiling_entry<Ceiling, K>());
        }
    };
    hana::for_each(builtin_kinds{}, add_kind);
    auto add_member_kind = [&](auto t) { add_kind(hana::type_c<perm::kind_t<typename decltype(t)::type>>); };
    perm::for_each_member<typename Ceiling::base>(add_member_kind);
    perm::for_each_member<typename Ceiling::narrow>(add_member_kind);
    perm::for_each_member<Grants>(add_member_kind);
    perm::for_each_member<typename Ceiling::denied>(
        [&](auto t) { spec.denied.emplace_back(decltype(t)::type::name); });

    perm::for_each_member<Grants>([&](auto t) {
        using G = typename decltype(t)::type;
        using K = perm::kind_t<G>;
        if constexpr (Ceiling::template admits<G>) {
            if constexpr (perm::is_scoped_v<G>) {
                spec.grants.push_back({std::string(K::name), K::scoping, std::string(G::scope)});
            } else if constexpr (K::scoping == perm::scope_kind::none || K::scoping == perm::scope_kind::path) {
                // Unscoped path kinds start with no paths: filesystem access is never implied.
                spec.grants.push_back({std::string(K::name), K::scoping, std::nullopt});
            } else {
                // Unscoped endpoint or text kinds grant whatever the ceiling admits for them.
                const auto* entry = spec.find(K::name);
                if (entry->scope_limits.empty()) {
                    spec.grants.push_back({std::string(K::name), K::scoping, std::string("*")});
                } else {
                    for (const auto& scope : entry->scope_limits.back())
                        if (within_limits(*entry, scope)) spec.grants.push_back({std::string(K::name), K::scoping, scope});
                }
            }
        }
    });
    return spec;
}

} // namespace detail
} // namespace cordon
