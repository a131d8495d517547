// Sets of permissions at compile time: perm::set<...> (exactly these), perm::all (everything,
// including user-defined tags) and perm::all_except<...>. Presets' ceilings and grants are sets.
#pragma once

#include <cordon/policy/permission.hpp>

#include <boost/hana/all_of.hpp>
#include <boost/hana/any_of.hpp>
#include <boost/hana/bool.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <type_traits>

namespace cordon::perm {

namespace hana = boost::hana;

namespace detail {
/// Does the listed element L admit the permission P? Same kind, and when both carry a compile-time
/// scope, P's lies within L's. An unscoped P asks about the kind only (its scopes come at run time).
template <class L, class P> constexpr bool listing_admits() noexcept {
    if constexpr (!std::is_same_v<kind_t<L>, kind_t<P>>) {
        return false;
    } else if constexpr (is_scoped_v<L> && is_scoped_v<P>) {
        return scope_within(L::scoping, P::scope, L::scope);
    } else {
        return true;
    }
}
struct set_base {};
} // namespace detail

/// Exactly the listed permissions (scoped entries admit their scope and anything beneath it).
template <permission... Ps> struct set : detail::set_base {
    static constexpr auto members = hana::tuple_t<Ps...>;
    static constexpr bool admits_unlisted = false;

    template <class P>
    static constexpr bool admits = hana::any_of(members, [](auto t) {
        return hana::bool_c<detail::listing_admits<typename decltype(t)::type, P>()>;
    });
    /// Does the set name this kind with no scope at all (any scope admitted)?
    template <class Kind>
    static constexpr bool admits_any_scope = hana::any_of(members, [](auto t) {
        using L = typename decltype(t)::type;
        return hana::bool_c<std::is_same_v<L, Kind>>;
    });
};

/// Every permission, built-in or user-defined.
struct all : detail::set_base {
    static constexpr auto members = hana::tuple_t<>;
    static constexpr bool admits_unlisted = true;
    template <class P> static constexpr bool admits = true;
    template <class Kind> static constexpr bool admits_any_scope = true;
};

/// Every permission but the listed kinds.
template <permission... Excluded> struct all_except : detail::set_base {
    static_assert((!is_scoped_v<Excluded> && ...),
                  "cordon: all_except<> excludes whole permission kinds; name them without a scope");
    static constexpr auto members = hana::tuple_t<Excluded...>;  // listed, so reports can name them
    static constexpr bool admits_unlisted = true;
    template <class P> static constexpr bool admits = !(std::is_same_v<kind_t<P>, Excluded> || ...);
    template <class Kind> static constexpr bool admits_any_scope = admits<Kind>;
};

template <class S>
concept permission_set = std::is_base_of_v<detail::set_base, S>;

/// Set algebra that reads like it: contains<S, P>, subset<A, B> (every listed member of A is in B).
template <permission_set S, class P> inline constexpr bool contains = S::template admits<P>;

template <permission_set A, permission_set B>
inline constexpr bool subset = hana::all_of(A::members, [](auto t) {
    return hana::bool_c<B::template admits<typename decltype(t)::type>>;
}) && (!A::admits_unlisted || B::admits_unlisted);

/// Calls f(hana::type_c<P>) for each listed member of S (the unlisted rest of all / all_except is
/// not enumerable).
template <permission_set S, class F> constexpr void for_each_member(F&& f) {
    hana::for_each(S::members, f);
}

} // namespace cordon::perm
