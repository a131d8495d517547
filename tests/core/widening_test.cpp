// Attacks on the ceiling: every public path through which a host could try to widen a sandbox
// past its compile-time policy, each tried and watched to fail (at compile time or as a value).
#include <cordon/cordon.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace {
using namespace cordon;

using srv_only = policy<isolation::standard, ceiling<perm::fs_read::under<"/srv">, perm::clock>, allow<perm::clock>,
                        limit::wall_time_ms<1000>>;
using box_type = sandbox<none::backend, srv_only>;

none::program nothing() {
    none::program p;
    p.export_function("zero", [] { return std::int32_t{0}; });
    return p;
}

// Mutating access through the read-only accessors does not compile (checked as requirements,
// so each one is a test that can fail rather than a build break).
template <class Box> constexpr bool grants_through_policy = requires(Box& b) { b.policy().grant(std::string_view{"net"}); };
template <class Box> constexpr bool revokes_through_policy = requires(Box& b) { b.policy().revoke(std::string_view{"clock"}); };
template <class Box> constexpr bool grants_through_context =
    requires(Box& b) { b.context().policy().grant(std::string_view{"net"}); };
template <class Box> constexpr bool settles_violations_through_context =
    requires(Box& b) { b.context().on_violation = violation_action::record; };
template <class Box> constexpr bool reaches_the_mutable_instance = requires(Box& b) { b.backend_instance()->cancel(); };

static_assert(!grants_through_policy<box_type>, "policy() must not hand out a mutable runtime policy");
static_assert(!revokes_through_policy<box_type>);
static_assert(!grants_through_context<box_type>, "context() must not hand out a mutable host context");
static_assert(!settles_violations_through_context<box_type>);
static_assert(!reaches_the_mutable_instance<box_type>, "backend_instance() is read-only; unsafe_backend_instance() is the hatch");
// The checks above are not vacuous: the same expressions compile on mutable objects.
static_assert(requires(runtime_policy& p) { p.grant(std::string_view{"net"}); });
static_assert(requires(box_type& b) { b.unsafe_backend_instance()->cancel(); });

void expect_unwidened(const box_type& box) {
    EXPECT_FALSE(box.policy().granted("net"));
    EXPECT_FALSE(box.policy().granted("process"));
    EXPECT_FALSE(box.policy().check("fs.read", "/etc/passwd"));
    EXPECT_FALSE(box.policy().check("fs.read", "/srv/../etc/passwd"));
    EXPECT_FALSE(box.policy().check("fs.read", "/srv2/x"));
    EXPECT_EQ(box.policy().limit(limit::kind::wall_time_ms), 1000u);
}

TEST(Widening, TextGrantsOutsideTheCeilingAreErrorValues) {
    box_type box{nothing()};
    ASSERT_TRUE(box.ok());
    for (const char* attempt : {"net", "net=example.org:443", "process", "env", "system", "fs.write=/srv",
                                "fs.read=/", "fs.read=/etc", "fs.read=/srv/../etc", "fs.read=/srv2", "fs.read=/sr",
                                "ui", "NET", "net ", "fs.read=/srv/./../etc"}) {
        SCOPED_TRACE(attempt);
        auto r = box.grant(std::string_view{attempt});
        ASSERT_FALSE(r);
        EXPECT_TRUE(r.error().kind() == error_kind::permission_outside_policy ||
                    r.error().kind() == error_kind::invalid_argument)
            << r.error().message();
    }
    expect_unwidened(box);
    // Inside the ceiling still works: the attacks failed for being outside it, not for being grants.
    ASSERT_TRUE(box.grant(std::string_view{"fs.read=/srv/data"}));
    EXPECT_TRUE(box.policy().check("fs.read", "/srv/data/x"));
    EXPECT_FALSE(box.policy().check("fs.read", "/srv/other"));
}

TEST(Widening, RevokingFirstOpensNothing) {
    box_type box{nothing()};
    ASSERT_TRUE(box.revoke("clock"));
    ASSERT_TRUE(box.revoke("net"));  // revoking what was never there is not a way in either
    EXPECT_FALSE(box.grant(std::string_view{"net"}));
    expect_unwidened(box);
}

TEST(Widening, LimitsOnlyTighten) {
    box_type box{nothing()};
    EXPECT_EQ(box.tighten(limit::kind::wall_time_ms, 5000).error().kind(), error_kind::limit_outside_policy);
    EXPECT_EQ(box.tighten(limit::kind::wall_time_ms, 0).error().kind(), error_kind::invalid_argument);
    ASSERT_TRUE(box.tighten(limit::kind::wall_time_ms, 500));
    EXPECT_EQ(box.tighten(limit::kind::wall_time_ms, 1000).error().kind(), error_kind::limit_outside_policy)
        << "a tightened limit cannot be loosened back to the ceiling's either";
    EXPECT_EQ(box.policy().limit(limit::kind::wall_time_ms), 500u);
}

TEST(Widening, CreationOptionsOutsideTheCeilingRefuseTheSandbox) {
    for (const char* attempt : {"net", "fs.read=/etc", "fs.read=/srv/../etc"}) {
        SCOPED_TRACE(attempt);
        sandbox_options options;
        options.grants = {attempt};
        box_type box{nothing(), std::move(options)};
        ASSERT_FALSE(box.ok());
        EXPECT_EQ(box.status().error().kind(), error_kind::permission_outside_policy);
    }
    sandbox_options looser;
    looser.limits = limit_set{}.with(limit::kind::wall_time_ms, 60'000);
    EXPECT_EQ(box_type::create(nothing(), std::move(looser)).error().kind(), error_kind::limit_outside_policy);
}

TEST(Widening, ACopyOfThePolicyKeepsTheCeiling) {
    box_type box{nothing()};
    runtime_policy copy = box.policy();  // the one mutable runtime_policy a host can make
    EXPECT_EQ(copy.grant("net").error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(copy.grant("fs.read", "/etc").error().kind(), error_kind::permission_outside_policy);
    ASSERT_TRUE(copy.revoke("clock"));
    EXPECT_TRUE(box.policy().granted("clock")) << "a copy is not the sandbox's policy";
    expect_unwidened(box);
}

} // namespace
