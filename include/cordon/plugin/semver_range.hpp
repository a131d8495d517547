// Version constraints in node-semver's range syntax ("^1.2", "~1.2.3", ">=1 <2", "1.x",
// "1.0 - 2.0", "^1 || ^2", plus commas as intersections), reduced to plain comparators.
#pragma once

#include <cordon/plugin/semver.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// One reduced comparison: `>=1.2.0`, `<2.0.0-0`, `=1.2.3`.
struct comparator {
    enum class op : std::uint8_t { eq, lt, le, gt, ge };
    op operation = op::ge;
    version bound{};

    [[nodiscard]] bool test(const version& v) const noexcept {
        const auto c = v <=> bound;
        switch (operation) {
        case op::eq: return c == 0;
        case op::lt: return c < 0;
        case op::le: return c <= 0;
        case op::gt: return c > 0;
        case op::ge: return c >= 0;
        }
        return false;
    }
    [[nodiscard]] std::string to_string() const {
        constexpr std::string_view names[] = {"=", "<", "<=", ">", ">="};
        return std::string(names[static_cast<int>(operation)]) + bound.to_string();
    }
};

/// A parsed constraint: a union (`||`) of intersections of comparators. A version satisfies
/// it when it satisfies every comparator of one intersection; a pre-release version must in
/// addition share MAJOR.MINOR.PATCH with a pre-release named in that intersection, as in
/// node-semver, so that "^1.2.0" never picks up "1.3.0-beta" by accident.
class version_range {
public:
    using comparator_set = std::vector<comparator>;

    [[nodiscard]] bool satisfied_by(const version& v) const noexcept {
        for (const auto& set : sets_)
            if (set_satisfied_by(set, v)) return true;
        return false;
    }

    /// The highest of `candidates` that satisfies the range, if any.
    template <class Range> [[nodiscard]] std::optional<version> max_satisfying(const Range& candidates) const {
        std::optional<version> best;
        for (const version& v : candidates)
            if (satisfied_by(v) && (!best || v > *best)) best = v;
        return best;
    }

    [[nodiscard]] const std::vector<comparator_set>& sets() const noexcept { return sets_; }
    /// The text it was parsed from, as written.
    [[nodiscard]] const std::string& source() const noexcept { return source_; }
    /// The reduced form, e.g. ">=1.2.0 <2.0.0-0 || =3.0.0".
    [[nodiscard]] std::string to_string() const {
        std::string out;
        for (std::size_t i = 0; i < sets_.size(); ++i) {
            if (i) out += " || ";
            for (std::size_t j = 0; j < sets_[i].size(); ++j) {
                if (j) out += ' ';
                out += sets_[i][j].to_string();
            }
        }
        return out;
    }

private:
    friend result<version_range> parse_range(std::string_view text);

    static bool set_satisfied_by(const comparator_set& set, const version& v) noexcept {
        for (const auto& c : set)
            if (!c.test(v)) return false;
        if (!v.is_prerelease()) return true;
        for (const auto& c : set)
            if (c.bound.is_prerelease() && c.bound.major == v.major && c.bound.minor == v.minor &&
                c.bound.patch == v.patch)
                return true;
        return false;
    }

    std::vector<comparator_set> sets_;
    std::string source_;
};

namespace detail {

/// Longest constraint accepted, so that a hostile manifest cannot make parsing expensive.
inline constexpr std::size_t max_range_length = 1024;

/// A version with some trailing parts missing or wildcards: "1", "1.2", "1.x", "*".
struct partial_version {
    std::optional<std::uint64_t> major, minor, patch;
    std::vector<prerelease_identifier> prerelease;

    [[nodiscard]] bool complete() const noexcept { return patch.has_value(); }
};

inline bool is_wildcard(std::string_view part) noexcept { return part == "x" || part == "X" || part == "*"; }

inline result<partial_version> parse_partial(std::string_view text) {
    if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) text.remove_prefix(1);
    if (text.empty()) return fail(error_kind::invalid_argument, "missing version");
    std::string_view rest = text;
    std::string_view pre;
    bool has_pre = false;
    if (const auto plus = rest.find('+'); plus != std::string_view::npos) {
        auto build = parse_build(rest.substr(plus + 1));  // validated, then ignored as the spec says
        if (!build) return build.error();
        rest = rest.substr(0, plus);
    }
    if (const auto dash = rest.find('-'); dash != std::string_view::npos) {
        pre = rest.substr(dash + 1);
        rest = rest.substr(0, dash);
        has_pre = true;
    }
    const auto parts = split_dots(rest);
    if (parts.size() > 3) return fail(error_kind::invalid_argument, "\"" + std::string(text) + "\" has more than three parts");
    partial_version out;
    std::optional<std::uint64_t>* fields[] = {&out.major, &out.minor, &out.patch};
    const char* names[] = {"major version", "minor version", "patch version"};
    bool wildcard_seen = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (is_wildcard(parts[i])) {
            wildcard_seen = true;
            continue;
        }
        auto number = parse_numeric_identifier(parts[i], names[i]);
        if (!number) return number.error();
        // node-semver reads "1.x.3" as "1.x": whatever follows a wildcard is a wildcard too.
        if (!wildcard_seen) *fields[i] = *number;
    }
    if (has_pre) {
        if (!out.complete())
            return fail(error_kind::invalid_argument, "\"" + std::string(text) + "\": a pre-release needs MAJOR.MINOR.PATCH");
        auto identifiers = parse_prerelease(pre);
        if (!identifiers) return identifiers.error();
        out.prerelease = std::move(*identifiers);
    }
    return out;
}

inline result<std::uint64_t> bump(std::uint64_t part) {
    if (part == std::numeric_limits<std::uint64_t>::max())
        return fail(error_kind::invalid_argument, "version part too large to take the next version of");
    return part + 1;
}

inline version make_version(std::uint64_t major, std::uint64_t minor, std::uint64_t patch,
                            std::vector<prerelease_identifier> pre = {}) {
    return version{major, minor, patch, std::move(pre), {}};
}

/// `<X.Y.Z-0`: below every pre-release of X.Y.Z, so an exclusive upper bound never admits
/// pre-releases of the next version.
inline comparator below(std::uint64_t major, std::uint64_t minor, std::uint64_t patch) {
    return {comparator::op::lt, make_version(major, minor, patch, {std::uint64_t{0}})};
}
inline comparator at_least(std::uint64_t major, std::uint64_t minor, std::uint64_t patch,
                           std::vector<prerelease_identifier> pre = {}) {
    return {comparator::op::ge, make_version(major, minor, patch, std::move(pre))};
}
inline comparator matches_nothing() { return below(0, 0, 0); }
inline comparator matches_anything() { return at_least(0, 0, 0); }

/// The exclusive upper bound of an X-range: 1.x -> <2.0.0-0, 1.2.x -> <1.3.0-0.
inline result<comparator> xrange_upper(const partial_version& p) {
    if (!p.minor) {
        auto next = bump(*p.major);
        if (!next) return next.error();
        return below(*next, 0, 0);
    }
    auto next = bump(*p.minor);
    if (!next) return next.error();
    return below(*p.major, *next, 0);
}

inline result<std::vector<comparator>> reduce_primitive(std::string_view op, const partial_version& p) {
    using cop = comparator::op;
    if (p.complete()) {
        const version v = make_version(*p.major, *p.minor, *p.patch, p.prerelease);
        if (op.empty() || op == "=") return std::vector{comparator{cop::eq, v}};
        if (op == ">") return std::vector{comparator{cop::gt, v}};
        if (op == ">=") return std::vector{comparator{cop::ge, v}};
        if (op == "<") return std::vector{comparator{cop::lt, v}};
        return std::vector{comparator{cop::le, v}};
    }
    if (!p.major) {  // "*", ">*", "<=x", ...
        if (op == ">" || op == "<") return std::vector{matches_nothing()};
        return std::vector{matches_anything()};
    }
    const std::uint64_t major = *p.major, minor = p.minor.value_or(0);
    if (op.empty() || op == "=") {
        auto upper = xrange_upper(p);
        if (!upper) return upper.error();
        return std::vector{at_least(major, minor, 0), *upper};
    }
    if (op == ">=") return std::vector{at_least(major, minor, 0)};
    if (op == "<") return std::vector{below(major, minor, 0)};
    // ">1.2" means above every 1.2.x; "<=1.2" means up to and including every 1.2.x.
    if (op == ">") {
        if (!p.minor) {
            auto next = bump(major);
            if (!next) return next.error();
            return std::vector{at_least(*next, 0, 0)};
        }
        auto next = bump(minor);
        if (!next) return next.error();
        return std::vector{at_least(major, *next, 0)};
    }
    auto upper = xrange_upper(p);  // "<="
    if (!upper) return upper.error();
    return std::vector{*upper};
}

inline result<std::vector<comparator>> reduce_tilde(const partial_version& p) {
    if (!p.major) return std::vector{matches_anything()};
    const std::uint64_t major = *p.major, minor = p.minor.value_or(0), patch = p.patch.value_or(0);
    if (!p.minor) {
        auto upper = xrange_upper(p);
        if (!upper) return upper.error();
        return std::vector{at_least(major, 0, 0), *upper};
    }
    auto next = bump(minor);
    if (!next) return next.error();
    return std::vector{at_least(major, minor, patch, p.prerelease), below(major, *next, 0)};
}

inline result<std::vector<comparator>> reduce_caret(const partial_version& p) {
    if (!p.major) return std::vector{matches_anything()};
    const std::uint64_t major = *p.major, minor = p.minor.value_or(0), patch = p.patch.value_or(0);
    // The leftmost non-zero part is the one that may not change; for "^0.0" and "^0.0.x"
    // node-semver keeps the minor fixed.
    result<std::uint64_t> next = 0;
    comparator upper;
    if (major != 0 || !p.minor) {
        next = bump(major);
        if (next) upper = below(*next, 0, 0);
    } else if (minor != 0 || !p.patch) {
        next = bump(minor);
        if (next) upper = below(0, *next, 0);
    } else {
        next = bump(patch);
        if (next) upper = below(0, 0, *next);
    }
    if (!next) return next.error();
    return std::vector{at_least(major, minor, patch, p.prerelease), upper};
}

inline result<std::vector<comparator>> reduce_hyphen(const partial_version& low, const partial_version& high) {
    std::vector<comparator> out;
    if (low.major) {
        if (low.complete()) out.push_back(at_least(*low.major, *low.minor, *low.patch, low.prerelease));
        else out.push_back(at_least(*low.major, low.minor.value_or(0), 0));
    }
    if (high.major) {
        if (high.complete()) {
            out.push_back({comparator::op::le, make_version(*high.major, *high.minor, *high.patch, high.prerelease)});
        } else {
            auto upper = xrange_upper(high);
            if (!upper) return upper.error();
            out.push_back(*upper);
        }
    }
    if (out.empty()) out.push_back(matches_anything());
    return out;
}

inline constexpr std::string_view range_operators[] = {">=", "<=", "~>", ">", "<", "=", "~", "^"};

/// The operator a token starts with ("" when none).
inline std::string_view leading_operator(std::string_view token) noexcept {
    for (auto op : range_operators)
        if (token.substr(0, op.size()) == op) return op;
    return {};
}

inline result<std::vector<comparator>> reduce_simple(std::string_view token) {
    const auto op = leading_operator(token);
    auto partial = parse_partial(token.substr(op.size()));
    if (!partial) return partial.error();
    if (op == "~" || op == "~>") return reduce_tilde(*partial);
    if (op == "^") return reduce_caret(*partial);
    return reduce_primitive(op, *partial);
}

/// Splits one `||` alternative into tokens, joining a lone operator with the version that
/// follows it (">= 1.2" is ">=1.2"). Commas separate tokens just as spaces do.
inline result<std::vector<std::string>> tokenize(std::string_view text) {
    std::vector<std::string> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == ',') {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != ',') ++end;
        tokens.emplace_back(text.substr(i, end - i));
        i = end;
    }
    std::vector<std::string> merged;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        if (tokens[t] != "-" && leading_operator(tokens[t]).size() == tokens[t].size()) {
            if (t + 1 == tokens.size() || tokens[t + 1] == "-" || !leading_operator(tokens[t + 1]).empty())
                return fail(error_kind::invalid_argument, "operator \"" + tokens[t] + "\" without a version");
            merged.push_back(tokens[t] + tokens[t + 1]);
            ++t;
        } else {
            merged.push_back(tokens[t]);
        }
    }
    return merged;
}

inline result<version_range::comparator_set> parse_intersection(std::string_view text) {
    auto tokens = tokenize(text);
    if (!tokens) return tokens.error();
    version_range::comparator_set set;
    const auto& t = *tokens;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == "-") return fail(error_kind::invalid_argument, "hyphen range without a lower bound");
        if (i + 1 < t.size() && t[i + 1] == "-") {  // "A - B"
            if (i + 2 >= t.size()) return fail(error_kind::invalid_argument, "hyphen range without an upper bound");
            if (!leading_operator(t[i]).empty() || !leading_operator(t[i + 2]).empty())
                return fail(error_kind::invalid_argument, "hyphen range bounds take no operator");
            auto low = parse_partial(t[i]);
            if (!low) return low.error();
            auto high = parse_partial(t[i + 2]);
            if (!high) return high.error();
            auto reduced = reduce_hyphen(*low, *high);
            if (!reduced) return reduced.error();
            set.insert(set.end(), reduced->begin(), reduced->end());
            i += 2;
            continue;
        }
        auto reduced = reduce_simple(t[i]);
        if (!reduced) return reduced.error();
        set.insert(set.end(), reduced->begin(), reduced->end());
    }
    if (set.empty()) set.push_back(matches_anything());  // "" means any version, as in npm
    return set;
}

} // namespace detail

/// Parses a constraint. Grammar (node-semver's, with ',' accepted wherever a space separates
/// comparators): `range ('||' range)*`, a range being a hyphen range `A - B` or comparators
/// `[op]partial` with op one of = > >= < <= ~ ~> ^ and a partial like 1, 1.2, 1.2.3, 1.x, *.
inline result<version_range> parse_range(std::string_view text) {
    const std::string shown{text.substr(0, 64)};
    auto bad = [&](const error& why) {
        return fail(error_kind::invalid_argument, "invalid version constraint \"" + shown + "\": " + why.message());
    };
    if (text.size() > detail::max_range_length)
        return fail(error_kind::invalid_argument, "version constraint longer than 1024 characters");
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '|') continue;
        if (i + 1 < text.size() && text[i + 1] == '|') {
            ++i;
            continue;
        }
        return bad(error{error_kind::invalid_argument, "a single '|': alternatives are separated by \"||\""});
    }
    version_range range;
    range.source_ = std::string(text);
    std::size_t start = 0;
    while (true) {
        const auto bar = text.find("||", start);
        auto set = detail::parse_intersection(
            text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
        if (!set) return bad(set.error());
        range.sets_.push_back(std::move(*set));
        if (bar == std::string_view::npos) break;
        start = bar + 2;
    }
    return range;
}

/// Convenience: does `v` satisfy the constraint `range_text`? Parse errors pass through.
inline result<bool> satisfies(const version& v, std::string_view range_text) {
    auto range = parse_range(range_text);
    if (!range) return range.error();
    return range->satisfied_by(v);
}

} // namespace cordon::plugin
