// Fuzzes semver parsing and version ranges: parse, print and compare, with the properties a
// resolver relies on (printing round-trips, ordering is consistent, a reduced range means the same).
#include "fuzz_support.hpp"

#include <cordon/plugin/semver.hpp>
#include <cordon/plugin/semver_range.hpp>

#include <array>
#include <compare>
#include <optional>
#include <string>

namespace {

using cordon::fuzz::require;
namespace plugin = cordon::plugin;

std::optional<plugin::version> checked_version(std::string_view text) {
    auto parsed = plugin::parse_version(text);
    if (!parsed) return std::nullopt;
    const std::string printed = parsed->to_string();
    require(printed == text, "a valid version prints as it was written");
    auto again = plugin::parse_version(printed);
    require(again.has_value(), "a printed version parses");
    require(again->identical(*parsed), "parse(print(v)) is v");
    require((*parsed <=> *again) == 0, "a version equals its reparse");
    return *parsed;
}

void check_order(const plugin::version& a, const plugin::version& b) {
    const auto ab = a <=> b;
    const auto ba = b <=> a;
    require((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0), "comparison is antisymmetric");
    require((a == b) == (ab == 0), "== agrees with <=>");
    if (a.identical(b)) require(ab == 0, "identical versions compare equal");
}

void check_range(std::string_view text, const std::array<std::optional<plugin::version>, 3>& versions) {
    auto range = plugin::parse_range(text);
    if (!range) return;
    require(range->source() == text, "a range keeps its source text");
    const std::string reduced = range->to_string();
    // Reduction can lengthen a range ("1" becomes ">=1.0.0 <2.0.0-0") past the parser's cap.
    if (reduced.size() > plugin::detail::max_range_length) return;
    auto again = plugin::parse_range(reduced);
    require(again.has_value(), "a range's reduced form parses");
    require(again->to_string() == reduced, "reducing a reduced range changes nothing");
    std::vector<plugin::version> candidates;
    for (const auto& v : versions) {
        if (!v) continue;
        require(range->satisfied_by(*v) == again->satisfied_by(*v), "a range and its reduced form agree");
        auto direct = plugin::satisfies(*v, text);
        require(direct.has_value() && *direct == range->satisfied_by(*v), "satisfies() agrees with the range");
        candidates.push_back(*v);
    }
    const auto best = range->max_satisfying(candidates);
    if (best) {
        require(range->satisfied_by(*best), "max_satisfying picks a satisfying version");
        for (const auto& v : candidates)
            if (range->satisfied_by(v)) require(v <= *best, "max_satisfying picks the highest");
    } else {
        for (const auto& v : candidates) require(!range->satisfied_by(v), "max_satisfying misses none");
    }
}

} // namespace

// Input: three versions and a range, separated by newlines.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cordon::fuzz::input in{data, size};
    std::array<std::optional<plugin::version>, 3> versions;
    for (auto& v : versions) v = checked_version(in.take_until('\n'));
    for (const auto& a : versions)
        for (const auto& b : versions)
            if (a && b) check_order(*a, *b);
    const auto rest = in.rest();
    check_range({reinterpret_cast<const char*>(rest.data()), rest.size()}, versions);
    return 0;
}
