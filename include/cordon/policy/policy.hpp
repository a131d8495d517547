// policy<...>: composes a preset, allow<>/deny<>/ceiling<> and limits into one type, rejects
// contradictions with static_asserts that say what to write instead, and answers queries at
// compile time (allows<P>, limit_of, the ceiling, the default grants).
#pragma once

#include <cordon/policy/isolation.hpp>
#include <cordon/policy/spec.hpp>

#include <boost/hana/all_of.hpp>
#include <boost/hana/any_of.hpp>
#include <boost/hana/concat.hpp>
#include <boost/hana/count_if.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <cstdint>
#include <optional>
#include <type_traits>

namespace cordon {


// ---- the elements a policy is made of -------------------------------------------------------

namespace detail {
struct allow_base {};
struct deny_base {};
struct ceiling_base {};
} // namespace detail

/// Permissions granted when the sandbox is created (replacing the preset's default grants).
/// Each must lie within the ceiling.
template <perm::permission... Ps> struct allow : detail::allow_base {
    using set = perm::set<Ps...>;
};

/// Permission kinds removed from the ceiling: they can never be granted, not even at run time.
template <perm::permission... Ps> struct deny : detail::deny_base {
    static_assert((!perm::is_scoped_v<Ps> && ...),
                  "cordon: deny<> removes whole permission kinds; name them without a scope "
                  "(to narrow a kind to some paths, use ceiling<perm::fs_read::under<\"/srv\">>)");
    using set = perm::set<Ps...>;
};

/// Narrows the preset's ceiling to exactly these permissions (scopes narrow further).
template <perm::permission... Ps> struct ceiling : detail::ceiling_base {
    using set = perm::set<Ps...>;
};

/// Opt-in: where a mechanism a level requires is missing on this machine, create the sandbox
/// anyway and say so in the enforcement report instead of failing.
struct best_effort {};

namespace detail {

template <class E> inline constexpr bool is_allow = std::is_base_of_v<allow_base, E>;
template <class E> inline constexpr bool is_deny = std::is_base_of_v<deny_base, E>;
template <class E> inline constexpr bool is_ceiling = std::is_base_of_v<ceiling_base, E>;
template <class E> inline constexpr bool is_limit = std::is_base_of_v<limit::detail::limit_base, E>;
template <class E> inline constexpr bool is_best_effort = std::is_same_v<E, best_effort>;
template <class E> inline constexpr bool is_preset = isolation::preset<E>;
template <class E>
inline constexpr bool is_element =
    is_allow<E> || is_deny<E> || is_ceiling<E> || is_limit<E> || is_best_effort<E> || is_preset<E>;

/// Joins the permission lists of several allow<>/deny<>/ceiling<> elements into one perm::set.
template <class... Sets> struct join;
template <> struct join<> { using type = perm::set<>; };
template <class... A> struct join<perm::set<A...>> { using type = perm::set<A...>; };
template <class... A, class... B, class... Rest> struct join<perm::set<A...>, perm::set<B...>, Rest...> {
    using type = typename join<perm::set<A..., B...>, Rest...>::type;
};

/// The set of element E if it passes the filter, else the empty set.
template <bool Keep, class E> struct set_if { using type = perm::set<>; };
template <class E> struct set_if<true, E> { using type = typename E::set; };

template <class... Es> struct first_preset { using type = isolation::strict; };  // default deny
template <class E, class... Es> struct first_preset<E, Es...> {
    using type = std::conditional_t<is_preset<E>, E, typename first_preset<Es...>::type>;
};

/// The effective ceiling: the preset's, intersected with ceiling<> when given, minus deny<>.
template <class Base, bool Narrowed, class Narrow, class Denied> struct effective_ceiling : perm::detail::set_base {
    static constexpr auto members = hana::concat(Base::members, Narrow::members);
    static constexpr bool admits_unlisted = Base::admits_unlisted && !Narrowed;

    template <class P>
    static constexpr bool admits = Base::template admits<P> && (!Narrowed || Narrow::template admits<P>) &&
                                   !Denied::template admits<perm::kind_t<P>>;
    template <class Kind>
    static constexpr bool admits_any_scope = admits<Kind> && Base::template admits_any_scope<Kind> &&
                                             (!Narrowed || Narrow::template admits_any_scope<Kind>);
    using base = Base;
    using narrow = Narrow;
    using denied = Denied;
    static constexpr bool narrowed = Narrowed;
};

template <class Ceiling, class Set>
inline constexpr bool within = hana::all_of(Set::members, [](auto t) {
    return hana::bool_c<Ceiling::template admits<typename decltype(t)::type>>;
});

template <class A, class B>
inline constexpr bool disjoint_kinds = hana::all_of(A::members, [](auto t) {
    return hana::bool_c<!B::template admits<perm::kind_t<typename decltype(t)::type>>>;
});

} // namespace detail

// ---- the policy -----------------------------------------------------------------------------

/// A sandbox policy: at most one isolation preset (isolation::strict when none is named), any
/// number of allow<>, deny<>, ceiling<> and limit::* elements, and optionally best_effort.
/// Permission elements combine order-independently; for limits, a later element wins.
template <class... Elements> struct policy {
    static_assert((detail::is_element<Elements> && ...),
                  "cordon: unknown policy element: policy<...> takes isolation presets (isolation::minimal, "
                  "standard, strict, maximum or your own), allow<...>, deny<...>, ceiling<...>, limit::* and "
                  "best_effort; the offending element is named in the instantiation below");
    static_assert((0 + ... + (detail::is_preset<Elements> ? 1 : 0)) <= 1,
                  "cordon: conflicting isolation presets: a policy takes at most one isolation::* preset");

    /// The isolation preset this policy starts from.
    using preset = typename detail::first_preset<Elements...>::type;

private:
    template <class E> static constexpr void apply_limit(limit_set& s) noexcept {
        if constexpr (detail::is_limit<E>) s.set(E::which, E::value);
    }

    static constexpr bool narrowed = (detail::is_ceiling<Elements> || ...);
    using narrow_set = typename detail::join<typename detail::set_if<detail::is_ceiling<Elements>, Elements>::type...>::type;
    using deny_set = typename detail::join<typename detail::set_if<detail::is_deny<Elements>, Elements>::type...>::type;
    using allow_set = typename detail::join<typename detail::set_if<detail::is_allow<Elements>, Elements>::type...>::type;
    static constexpr bool has_allow = (detail::is_allow<Elements> || ...);

    static_assert(detail::within<typename preset::ceiling, typename preset::default_grants>,
                  "cordon: the isolation preset's default_grants lie outside its own ceiling; "
                  "a custom preset must only grant what its ceiling admits");
    static_assert(detail::within<typename preset::ceiling, narrow_set>,
                  "cordon: ceiling<...> may only narrow the isolation preset's ceiling, and it lists a permission "
                  "the preset never admits; choose a wider preset or drop that permission");
    static_assert(detail::disjoint_kinds<allow_set, deny_set>,
                  "cordon: contradictory policy: a permission is in both allow<> and deny<>; keep one of them");

public:
    /// The most this sandbox can ever be given.
    using ceiling = detail::effective_ceiling<typename preset::ceiling, narrowed, narrow_set, deny_set>;

    static_assert(detail::within<ceiling, allow_set>,
                  "cordon: allow<...> grants a permission outside the policy's ceiling (the isolation preset, "
                  "narrowed by ceiling<> and deny<>). isolation::maximum admits nothing; strict admits only "
                  "fs_read, fs_write, clock and random; standard all but process. Drop the permission or "
                  "choose a preset that admits it");

    /// What is granted at creation: allow<> when given, else the preset's defaults.
    using default_grants = std::conditional_t<has_allow, allow_set, typename preset::default_grants>;

    /// Is P (a kind, or a scoped tag) inside the ceiling?
    template <class P> static constexpr bool allows = ceiling::template admits<P>;

    /// Is P granted when the sandbox is created?
    template <class P>
    static constexpr bool grants_by_default = allows<P> && default_grants::template admits<P>;

    /// The limits given explicitly in the policy (backends check these against what they can enforce).
    static constexpr limit_set explicit_limits = [] {
        limit_set s;
        ((detail::is_limit<Elements> ? apply_limit<Elements>(s) : void()), ...);
        return s;
    }();

    /// The limits in force at creation: the preset's defaults overridden by explicit elements.
    static constexpr limit_set limits = [] {
        limit_set s = preset::default_limits;
        ((detail::is_limit<Elements> ? apply_limit<Elements>(s) : void()), ...);
        return s;
    }();

    static constexpr std::optional<std::uint64_t> limit_of(limit::kind k) noexcept { return limits.get(k); }
    static constexpr bool sets_explicitly(limit::kind k) noexcept { return explicit_limits.has(k); }

    static constexpr mechanism_set required_mechanisms = preset::required;
    static constexpr bool is_best_effort = (detail::is_best_effort<Elements> || ...);

    /// The same policy as a runtime value: what the runtime view, reports and printing use.
    static const policy_spec& spec() {
        static const policy_spec instance = detail::make_spec<ceiling, default_grants>(
            preset::name, isolation::builtin_of<preset>, limits, required_mechanisms, is_best_effort);
        return instance;
    }

};

template <class T> struct is_policy : std::false_type {};
template <class... Es> struct is_policy<policy<Es...>> : std::true_type {};

/// A policy type: policy<...> or anything shaped like one (a class deriving from policy<...>).
template <class T>
concept policy_type = requires {
    typename T::preset;
    typename T::ceiling;
    typename T::default_grants;
    { T::limits } -> std::convertible_to<limit_set>;
    { T::spec() } -> std::convertible_to<const policy_spec&>;
};

/// Queries that read like the design: allows<P, perm::net>, limit_of<P>(limit::kind::memory).
template <policy_type P, class Perm> inline constexpr bool allows = P::template allows<Perm>;
template <policy_type P> constexpr std::optional<std::uint64_t> limit_of(limit::kind k) noexcept {
    return P::limit_of(k);
}

} // namespace cordon
