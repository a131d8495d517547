// SemVer 2.0.0 parsing and precedence (the spec's own examples) and constraints following
// node-semver's documented range semantics, pre-release rules included.
#include <cordon/plugin/semver_range.hpp>

#include <gtest/gtest.h>

#include <utility>

using namespace cordon::plugin;

namespace {
version v(std::string_view text) { return parse_version(text).value(); }
} // namespace

TEST(Semver, ParsesTheSpecsValidVersions) {
    for (const char* text :
         {"0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid", "1.0.0-alpha",
          "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1", "1.0.0-alpha0.valid",
          "1.0.0-alpha.0valid", "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
          "2.0.0-rc.1+build.123", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "2.0.0+build.1848",
          "2.0.1-alpha.1227", "1.0.0-alpha+beta", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
          "1.2.3----R-S.12.9.1--.12+meta", "1.0.0+0.build.1-rc.10000aaa-kk-0.1", "1.0.0-0A.is.legal",
          "18446744073709551615.0.0"}) {
        auto parsed = parse_version(text);
        ASSERT_TRUE(parsed) << text << ": " << parsed.error().message();
        EXPECT_EQ(parsed->to_string(), text);
    }
}

TEST(Semver, RejectsTheSpecsInvalidVersions) {
    for (const char* text :
         {"1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid", "-invalid+invalid",
          "-invalid.01", "alpha", "alpha.beta", "alpha.beta.1", "alpha.1", "alpha+beta", "alpha_beta", "alpha.",
          "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.", "1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1",
          "01.1.1", "1.01.1", "1.1.01", "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
          "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta", "9.8.7-whatever+meta+meta",
          "", "v1.2.3", " 1.2.3", "1.2.3 ", "1.2.3-", "1.2.3+", "1.2.3-beta.01",
          // Valid by the spec's grammar but beyond 64 bits: refused rather than wrapped.
          "99999999999999999999999.999999999999999999.99999999999999999", "18446744073709551616.0.0"}) {
        auto parsed = parse_version(text);
        EXPECT_FALSE(parsed) << text;
        if (!parsed) {
            EXPECT_EQ(parsed.error().kind(), cordon::error_kind::invalid_argument);
        }
    }
    EXPECT_FALSE(parse_version(std::string(300, '1')));
}

TEST(Semver, PrecedenceFollowsTheSpecsChain) {
    const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                           "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0"};
    for (std::size_t i = 0; i < std::size(chain); ++i)
        for (std::size_t j = 0; j < std::size(chain); ++j)
            EXPECT_EQ(v(chain[i]) <=> v(chain[j]), i <=> j) << chain[i] << " vs " << chain[j];
}

TEST(Semver, BuildMetadataDoesNotAffectPrecedence) {
    EXPECT_EQ(v("1.0.0+20130313144700"), v("1.0.0"));
    EXPECT_EQ(v("1.0.0-beta+exp.sha.5114f85"), v("1.0.0-beta+other"));
    EXPECT_FALSE(v("1.0.0+a").identical(v("1.0.0+b")));
    EXPECT_TRUE(v("1.0.0+a").identical(v("1.0.0+a")));
    EXPECT_LT(v("1.0.0-alpha+999"), v("1.0.0"));
}

TEST(Semver, NumericIdentifiersCompareNumericallyAndBelowAlphanumeric) {
    EXPECT_LT(v("1.0.0-2"), v("1.0.0-10"));
    EXPECT_LT(v("1.0.0-999"), v("1.0.0-a"));
    EXPECT_LT(v("1.0.0-A"), v("1.0.0-a"));  // ASCII order
    EXPECT_LT(v("1.0.0-alpha"), v("1.0.0-alpha.0"));
    EXPECT_LT(v("1.9.0"), v("1.10.0"));
}

// node-semver's range-include cases that use strict (not "loose") syntax.
TEST(SemverRange, IncludesLikeNodeSemver) {
    const std::pair<const char*, const char*> cases[] = {
        {"1.0.0 - 2.0.0", "1.2.3"}, {"^1.2.3+build", "1.2.3"}, {"^1.2.3+build", "1.3.0"},
        {"1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3"}, {"1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3-pre.2"},
        {"1.2.3-pre+asdf - 2.4.3-pre+asdf", "2.4.3-alpha"}, {"1.2.3+asdf - 2.4.3+asdf", "1.2.3"},
        {"1.0.0", "1.0.0"}, {">=*", "0.2.4"}, {"", "1.0.0"}, {"*", "1.2.3"}, {">=1.0.0", "1.0.0"},
        {">=1.0.0", "1.0.1"}, {">=1.0.0", "1.1.0"}, {">1.0.0", "1.0.1"}, {">1.0.0", "1.1.0"},
        {"<=2.0.0", "2.0.0"}, {"<=2.0.0", "1.9999.9999"}, {"<=2.0.0", "0.2.9"}, {"<2.0.0", "1.9999.9999"},
        {"<2.0.0", "0.2.9"}, {">= 1.0.0", "1.0.0"}, {">=  1.0.0", "1.0.1"}, {"> 1.0.0", "1.0.1"},
        {"<=   2.0.0", "2.0.0"}, {"< 2.0.0", "1.9999.9999"}, {">=0.1.97", "0.1.97"},
        {"0.1.20 || 1.2.4", "1.2.4"}, {">=0.2.3 || <0.0.1", "0.0.0"}, {">=0.2.3 || <0.0.1", "0.2.3"},
        {">=0.2.3 || <0.0.1", "0.2.4"}, {"||", "1.3.4"}, {"2.x.x", "2.1.3"}, {"1.2.x", "1.2.3"},
        {"1.2.x || 2.x", "2.1.3"}, {"1.2.x || 2.x", "1.2.3"}, {"x", "1.2.3"}, {"2.*.*", "2.1.3"},
        {"1.2.*", "1.2.3"}, {"1.2.* || 2.*", "2.1.3"}, {"2", "2.1.2"}, {"2.3", "2.3.1"}, {"~0.0.1", "0.0.1"},
        {"~0.0.1", "0.0.2"}, {"~x", "0.0.9"}, {"~2", "2.0.9"}, {"~2.4", "2.4.0"}, {"~2.4", "2.4.5"},
        {"~>3.2.1", "3.2.2"}, {"~1", "1.2.3"}, {"~>1", "1.2.3"}, {"~> 1", "1.2.3"}, {"~1.0", "1.0.2"},
        {"~ 1.0", "1.0.2"}, {"~ 1.0.3", "1.0.12"}, {">=1", "1.0.0"}, {">= 1", "1.0.0"}, {"<1.2", "1.1.1"},
        {"< 1.2", "1.1.1"}, {"~v0.5.4-pre", "0.5.5"}, {"~v0.5.4-pre", "0.5.4"}, {"=0.7.x", "0.7.2"},
        {"<=0.7.x", "0.7.2"}, {">=0.7.x", "0.7.2"}, {"<=0.7.x", "0.6.2"}, {"~1.2.1 >=1.2.3", "1.2.3"},
        {"~1.2.1 =1.2.3", "1.2.3"}, {"~1.2.1 1.2.3", "1.2.3"}, {"~1.2.1 >=1.2.3 1.2.3", "1.2.3"},
        {"~1.2.1 1.2.3 >=1.2.3", "1.2.3"}, {">=1.2.1 1.2.3", "1.2.3"}, {"1.2.3 >=1.2.1", "1.2.3"},
        {">=1.2.3 >=1.2.1", "1.2.3"}, {">=1.2.1 >=1.2.3", "1.2.3"}, {">=1.2", "1.2.8"}, {"^1.2.3", "1.8.1"},
        {"^0.1.2", "0.1.2"}, {"^0.1", "0.1.2"}, {"^0.0.1", "0.0.1"}, {"^1.2", "1.4.2"}, {"^1.2 ^1", "1.4.2"},
        {"^1.2.3-alpha", "1.2.3-pre"}, {"^1.2.0-alpha", "1.2.0-pre"}, {"^0.0.1-alpha", "0.0.1-beta"},
        {"^0.0.1-alpha", "0.0.1"}, {"^0.1.1-alpha", "0.1.1-beta"}, {"^x", "1.2.3"}, {"x - 1.0.0", "0.9.7"},
        {"x - 1.x", "0.9.7"}, {"1.0.0 - x", "1.9.7"}, {"1.x - x", "1.9.7"}, {"<=7.x", "7.9.9"},
        // Commas intersect just as spaces do.
        {">=1.2.0, <2.0.0", "1.5.0"}, {">=1.2,<2", "1.9.9"},
    };
    for (const auto& [range, ver] : cases) {
        auto parsed = parse_range(range);
        ASSERT_TRUE(parsed) << range << ": " << parsed.error().message();
        EXPECT_TRUE(parsed->satisfied_by(v(ver))) << ver << " should satisfy " << range << " (" << parsed->to_string() << ")";
    }
}

// node-semver's range-exclude cases that use strict syntax.
TEST(SemverRange, ExcludesLikeNodeSemver) {
    const std::pair<const char*, const char*> cases[] = {
        {"1.0.0 - 2.0.0", "2.2.3"}, {"1.2.3+asdf - 2.4.3+asdf", "1.2.3-pre.2"},
        {"1.2.3+asdf - 2.4.3+asdf", "2.4.3-alpha"}, {"^1.2.3+build", "2.0.0"}, {"^1.2.3+build", "1.2.0"},
        {"^1.2.3", "1.2.3-pre"}, {"^1.2", "1.2.0-pre"}, {">1.2", "1.3.0-beta"}, {"<=1.2.3", "1.2.3-beta"},
        {"^1.2.3", "1.2.3-beta"}, {"=0.7.x", "0.7.0-asdf"}, {">=0.7.x", "0.7.0-asdf"}, {"<=0.7.x", "0.7.0-asdf"},
        {"1.0.0", "1.0.1"}, {">=1.0.0", "0.0.0"}, {">=1.0.0", "0.0.1"}, {">=1.0.0", "0.1.0"}, {">1.0.0", "0.0.1"},
        {">1.0.0", "0.1.0"}, {"<=2.0.0", "3.0.0"}, {"<=2.0.0", "2.9999.9999"}, {"<=2.0.0", "2.2.9"},
        {"<2.0.0", "2.9999.9999"}, {"<2.0.0", "2.2.9"}, {">=0.1.97", "0.1.93"}, {"0.1.20 || 1.2.4", "1.2.3"},
        {">=0.2.3 || <0.0.1", "0.0.3"}, {">=0.2.3 || <0.0.1", "0.2.2"}, {"2.x.x", "1.1.3"}, {"2.x.x", "3.1.3"},
        {"1.2.x", "1.3.3"}, {"1.2.x || 2.x", "3.1.3"}, {"1.2.x || 2.x", "1.1.3"}, {"2.*.*", "1.1.3"},
        {"2.*.*", "3.1.3"}, {"1.2.*", "1.3.3"}, {"2", "1.1.2"}, {"2.3", "2.4.1"}, {"~0.0.1", "0.1.0-alpha"},
        {"~0.0.1", "0.1.0"}, {"~2.4", "2.5.0"}, {"~2.4", "2.3.9"}, {"~>3.2.1", "3.3.2"}, {"~>3.2.1", "3.2.0"},
        {"~1", "0.2.3"}, {"~>1", "2.2.3"}, {"~1.0", "1.1.0"}, {"<1", "1.0.0"}, {">=1.2", "1.1.1"},
        {"~v0.5.4-beta", "0.5.4-alpha"}, {"=0.7.x", "0.8.2"}, {">=0.7.x", "0.6.2"}, {"<0.7.x", "0.7.2"},
        {"<1.2.3", "1.2.3-beta"}, {"=1.2.3", "1.2.3-beta"}, {">1.2", "1.2.8"}, {"^0.0.1", "0.0.2-alpha"},
        {"^0.0.1", "0.0.2"}, {"^1.2.3", "2.0.0-alpha"}, {"^1.2.3", "1.2.2"}, {"^1.2", "1.1.9"},
        {"^1.0.0", "2.0.0-rc1"}, {"1 - 2", "2.0.0-pre"}, {"1 - 2", "1.0.0-pre"}, {"1.0 - 2", "1.0.0-pre"},
        {"1.1.x", "1.0.0-a"}, {"1.1.x", "1.1.0-a"}, {"1.1.x", "1.2.0-a"}, {"1.x", "1.0.0-a"}, {"1.x", "1.1.0-a"},
        {"1.x", "1.2.0-a"}, {">=1.0.0 <1.1.0", "1.1.0"}, {">=1.0.0 <1.1.0", "1.1.0-pre"},
        {">=1.0.0 <1.1.0-pre", "1.1.0-pre"}, {"*", "1.2.3-foo"}, {"<1", "1.0.0-beta"}, {">X", "1.0.0"},
        {"<X", "0.0.0"}, {">=1.2.0, <2.0.0", "2.0.0"}, {"^1.2.3", "18446744073709551615.0.0"},
    };
    for (const auto& [range, ver] : cases) {
        auto parsed = parse_range(range);
        ASSERT_TRUE(parsed) << range << ": " << parsed.error().message();
        EXPECT_FALSE(parsed->satisfied_by(v(ver))) << ver << " should not satisfy " << range << " (" << parsed->to_string() << ")";
    }
}

// node-semver's range-parse cases: the comparators each form reduces to.
TEST(SemverRange, ReducesToTheSameComparatorsAsNodeSemver) {
    const std::pair<const char*, const char*> cases[] = {
        {"1.0.0 - 2.0.0", ">=1.0.0 <=2.0.0"}, {"1 - 2", ">=1.0.0 <3.0.0-0"}, {"1.0 - 2.0", ">=1.0.0 <2.1.0-0"},
        {"1.0.0", "=1.0.0"}, {">=*", ">=0.0.0"}, {"", ">=0.0.0"}, {"*", ">=0.0.0"}, {">1.0.0", ">1.0.0"},
        {"~1.2.3", ">=1.2.3 <1.3.0-0"}, {"^1.2.3", ">=1.2.3 <2.0.0-0"}, {"^0.0.1", ">=0.0.1 <0.0.2-0"},
        {"^0.1.2", ">=0.1.2 <0.2.0-0"}, {"^0.0", ">=0.0.0 <0.1.0-0"}, {"^0.0.x", ">=0.0.0 <0.1.0-0"},
        {"^0.x", ">=0.0.0 <1.0.0-0"}, {"^1.x", ">=1.0.0 <2.0.0-0"}, {"^1.2.x", ">=1.2.0 <2.0.0-0"},
        {">1.2", ">=1.3.0"}, {"<1.2", "<1.2.0-0"}, {"<=1.2", "<1.3.0-0"}, {">1", ">=2.0.0"}, {"<=1", "<2.0.0-0"},
        {">X", "<0.0.0-0"}, {"<X", "<0.0.0-0"}, {"~1", ">=1.0.0 <2.0.0-0"}, {"~1.2", ">=1.2.0 <1.3.0-0"},
        {"^1.2.3-beta.4", ">=1.2.3-beta.4 <2.0.0-0"}, {"~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"},
        {"1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"}, {"1.2 - 2.3.4", ">=1.2.0 <=2.3.4"}, {"v1.2.3", "=1.2.3"},
        {"=1.2", ">=1.2.0 <1.3.0-0"},
    };
    for (const auto& [range, reduced] : cases) {
        auto parsed = parse_range(range);
        ASSERT_TRUE(parsed) << range << ": " << parsed.error().message();
        EXPECT_EQ(parsed->to_string(), reduced) << range;
    }
    EXPECT_EQ(parse_range("^1.2 || >=3, <4").value().to_string(), ">=1.2.0 <2.0.0-0 || >=3.0.0 <4.0.0-0");
}

TEST(SemverRange, RejectsMalformedConstraints) {
    for (const char* text :
         {"blerg", ">=1.2.3.4", ">01.2.3", "~1.2.3beta", "1.2.3 -", "- 1.2.3", "1 - 2 - 3", ">= ", "^", "1 | 2",
          "git+https://user:password0123@github.com/foo", "1.x-beta", ">=1.2.3 <", "^18446744073709551615",
          "~1.18446744073709551615", ">18446744073709551615", "1.2.3 - >2", "1.2.3+", "!=1.2.3", ">=1.2.3 ||| 2"}) {
        auto parsed = parse_range(text);
        EXPECT_FALSE(parsed) << text << " -> " << (parsed ? parsed->to_string() : "");
        if (!parsed) {
            EXPECT_NE(parsed.error().message().find("invalid version constraint"), std::string::npos)
                << parsed.error().message();
        }
    }
    EXPECT_FALSE(parse_range(std::string(2000, '1')));
}

TEST(SemverRange, MaxSatisfyingPicksTheHighestMatch) {
    const std::vector<version> available{v("1.0.0"), v("1.4.2"), v("1.5.0-beta"), v("2.0.0"), v("2.1.0-rc.1")};
    EXPECT_EQ(parse_range("^1").value().max_satisfying(available), v("1.4.2"));
    EXPECT_EQ(parse_range("*").value().max_satisfying(available), v("2.0.0"));
    EXPECT_EQ(parse_range(">=2.1.0-rc.0").value().max_satisfying(available), v("2.1.0-rc.1"));
    EXPECT_FALSE(parse_range("^3").value().max_satisfying(available).has_value());
    EXPECT_TRUE(satisfies(v("1.2.3"), "1.x").value());
    EXPECT_FALSE(satisfies(v("1.2.3"), "bad range"));
}
