// A backend's capability table: which permission kinds, limits and mechanisms it enforces, how,
// and at which level; the facade derives the compile-time rejection and the enforcement report.
#pragma once

#include <cordon/policy/limit.hpp>
#include <cordon/telemetry/enforcement.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace cordon {

/// What to use instead of a policy element a backend cannot enforce. The compile error of a
/// refused element names one of these; to_string() says it in words.
enum class instead : std::uint8_t {
    nothing,  // the element is accepted (enforced, or reported as not enforced)
    a_wasm_backend,
    a_wasm_or_process_backend,
    a_wasm_backend_or_wall_time_ms,
    a_wasm_backend_or_cpu_time_ms,
    a_wasm_backend_or_memory_limit,
    process_backend,
    dropping_it_or_process_backend,
    dropping_it_or_denying_net,
};

constexpr std::string_view to_string(instead i) noexcept {
    switch (i) {
    case instead::nothing: return "";
    case instead::a_wasm_backend: return "use wasm::interpreter or wasm::compiled";
    case instead::a_wasm_or_process_backend: return "use a wasm backend or process::backend";
    case instead::a_wasm_backend_or_wall_time_ms: return "use a wasm backend, or limit::wall_time_ms";
    case instead::a_wasm_backend_or_cpu_time_ms: return "use a wasm backend, or limit::cpu_time_ms";
    case instead::a_wasm_backend_or_memory_limit: return "use a wasm backend, or limit::memory to bound the stack";
    case instead::process_backend: return "use process::backend";
    case instead::dropping_it_or_process_backend: return "drop the limit, or use process::backend";
    case instead::dropping_it_or_denying_net: return "drop the limit, or deny perm::net";
    }
    return "";
}

/// When a row of the table appears in a sandbox's enforcement report.
enum class shown : std::uint8_t {
    always,
    when_limited,   // a limit's row, while that limit is in force
    when_observed,  // only when the live instance reports a fact about it (a mechanism it set up)
};

/// One row: an element, the mechanism that enforces it (the report's wording) and how well.
/// A row with an alternative is refused at compile time when a policy sets the element
/// explicitly; set by a preset's defaults, it is reported as not enforced.
struct capability {
    cordon::element element = element::isolation;
    enforcement_level level = enforcement_level::enforced;
    std::string_view mechanism{};
    cordon::shown shown = shown::always;
    cordon::instead instead = instead::nothing;

    [[nodiscard]] constexpr bool refused() const noexcept { return instead != instead::nothing; }
};

/// Rows read as sentences: enforces(element::fs, "landlock path rules").
constexpr capability enforces(element e, std::string_view how, enforcement_level level = enforcement_level::enforced,
                              shown when = shown::always) noexcept {
    return {e, level, how, when, instead::nothing};
}
/// A limit's row, shown while the limit is in force.
constexpr capability limits(element e, std::string_view how, enforcement_level level = enforcement_level::enforced) noexcept {
    return {e, level, how, shown::when_limited, instead::nothing};
}
/// A row the backend cannot enforce: why not, and what to use instead.
constexpr capability refuses(element e, std::string_view why, instead alternative) noexcept {
    return {e, enforcement_level::not_enforced, why, shown::when_limited, alternative};
}

/// The index of `e`'s row, or N when the table has none. (An index, not a pointer, so that
/// compile-time checks stay constant expressions under g++'s -fsanitize=undefined, which does not
/// fold comparisons of pointers into a constexpr array.)
template <std::size_t N>
constexpr std::size_t capability_index(const std::array<capability, N>& table, element e) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (table[i].element == e) return i;
    return N;
}

/// The row of `e`, or nullptr when the table has none.
template <std::size_t N>
constexpr const capability* find_capability(const std::array<capability, N>& table, element e) noexcept {
    const std::size_t i = capability_index(table, e);
    return i == N ? nullptr : &table[i];
}

/// Two tables as one (a backend's common rows and an engine's own).
template <std::size_t A, std::size_t B>
constexpr std::array<capability, A + B> join(const std::array<capability, A>& a, const std::array<capability, B>& b) noexcept {
    std::array<capability, A + B> out{};
    for (std::size_t i = 0; i < A; ++i) out[i] = a[i];
    for (std::size_t i = 0; i < B; ++i) out[A + i] = b[i];
    return out;
}

/// The one compile-time rejection: instantiated with the element a policy sets explicitly, the
/// backend that cannot enforce it and what to use instead, so the compiler's note names all three.
template <element Element, class Backend, instead Instead> struct unenforceable {
    static constexpr bool accepted = Instead == instead::nothing;
    static_assert(accepted,
                  "cordon: the policy sets an element this backend cannot enforce; the note "
                  "'unenforceable<element, backend, instead>' names the element, the backend and what to use "
                  "instead (or leave the element to the isolation preset, which reports it as not enforced)");
    static constexpr bool value = true;
};

namespace detail {

template <std::size_t N> constexpr bool has_every_limit(const std::array<capability, N>& table) noexcept {
    for (auto k : limit::all_kinds)
        if (capability_index(table, element_of(k)) == N) return false;
    return true;
}

template <std::size_t N> constexpr bool one_row_each(const std::array<capability, N>& table) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = i + 1; j < N; ++j)
            if (table[i].element == table[j].element) return false;
    return true;
}

template <class Backend, class Policy, limit::kind K> constexpr instead refusal() noexcept {
    if (!Policy::sets_explicitly(K)) return instead::nothing;
    return Backend::capabilities[capability_index(Backend::capabilities, element_of(K))].instead;
}

template <class Backend, class Policy, std::size_t... I> constexpr bool accepts(std::index_sequence<I...>) noexcept {
    return (unenforceable<element_of(limit::all_kinds[I]), Backend,
                          refusal<Backend, Policy, limit::all_kinds[I]>()>::value &&
            ...);
}

} // namespace detail

/// True when Backend can run Policy: every limit the policy sets explicitly has a row in the
/// backend's table that does not refuse it. (A refused one fails to compile, naming it.)
template <class Backend, class Policy> constexpr bool enforces_policy() noexcept {
    static_assert(detail::has_every_limit(Backend::capabilities),
                  "cordon: a backend's capability table must have a row for every limit kind");
    static_assert(detail::one_row_each(Backend::capabilities),
                  "cordon: a backend's capability table has one row per element; two rows name the same one");
    return detail::accepts<Backend, Policy>(std::make_index_sequence<limit::kind_count>{});
}

/// A sandbox's report: the backend's rows in table order, with the limits in force, where a
/// fact the live instance observed (a landlock ABI, a cgroup version, a clamp) replaces the row's
/// wording and level; a fact with no wording keeps the row's.
template <class Backend>
enforcement_report report_from_table(const limit_set& in_force, std::span<const enforcement_entry> facts) {
    enforcement_report report{std::string(Backend::name), {}};
    for (const capability& row : Backend::capabilities) {
        const enforcement_entry* fact = nullptr;
        for (const auto& f : facts)
            if (f.element == row.element) fact = &f;
        if (row.shown == shown::when_observed && fact == nullptr) continue;
        if (row.shown == shown::when_limited)
            if (const auto k = limit_kind_of(row.element); k && !in_force.has(*k)) continue;
        if (fact != nullptr)
            report.add(row.element, fact->mechanism.empty() ? std::string(row.mechanism) : fact->mechanism, fact->level);
        else
            report.add(row.element, std::string(row.mechanism), row.level);
    }
    return report;
}

} // namespace cordon
