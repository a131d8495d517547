// The runtime view: grants stay inside the ceiling, scopes match on components after
// normalisation, limits only tighten, and concurrent revokes are safe.
#include <cordon/cordon.hpp>

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace {
using namespace cordon;

using standard = policy<isolation::standard>;
using scoped = policy<isolation::standard, ceiling<perm::fs_read::under<"/srv">, perm::fs_write::under<"/srv/out">, perm::net>>;

TEST(Path, NormalisesLexically) {
    EXPECT_EQ(path::normalize("/a/./b//c/../d"), "/a/b/d");
    EXPECT_EQ(path::normalize("/../../etc"), "/etc");
    EXPECT_EQ(path::normalize("/"), "/");
    EXPECT_FALSE(path::normalize("relative/path"));
    EXPECT_FALSE(path::normalize(""));
    EXPECT_FALSE(path::normalize(std::string_view("/a\0b", 4)));
    EXPECT_EQ(path::normalize("/a/b/.."), "/a");
    EXPECT_EQ(path::normalize("/a/b/../../.."), "/");
    EXPECT_EQ(path::normalize("/a/../b/./c/"), "/b/c");
    EXPECT_EQ(path::normalize("/ab/../a"), "/a");
    EXPECT_EQ(path::normalize("//"), "/");
    EXPECT_EQ(path::normalize("/..."), "/...") << "three dots are a name";
}

// A path already in normal form is checked as it is; every other form is normalised first, so
// the two paths through the check agree.
TEST(RuntimeView, ScopeChecksAgreeOnNormalAndOtherForms) {
    runtime_policy view{standard::spec()};
    ASSERT_TRUE(view.grant(perm::fs_read{"/srv/data"}));
    for (const auto& [probe, admitted] : std::vector<std::pair<std::string, bool>>{
             {"/srv/data/x", true}, {"/srv/data/x/", true}, {"/srv/./data/x", true}, {"/srv/data/../data/x", true},
             {"/srv/database", false}, {"/srv/data/../database", false}, {"/srv/data/x/../../../etc", false},
             {"srv/data/x", false}, {"", false}, {std::string("/srv/data/\0x", 12), false}})
        EXPECT_EQ(view.check("fs.read", probe).has_value(), admitted) << probe;
    const auto refused = view.check("fs.read", "/srv/data/../etc//passwd");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().info().path, "/srv/etc/passwd") << "a refusal names the path as normalised";
}

TEST(Path, ContainmentIsByWholeComponents) {
    static_assert(path::is_within("/srv/data/x", "/srv/data"));
    static_assert(path::is_within("/srv/data", "/srv/data"));
    static_assert(!path::is_within("/srv/database", "/srv/data"));
    static_assert(!path::is_within("/srv", "/srv/data"));
    static_assert(path::is_within("/anything", "/"));
}

TEST(RuntimeView, PathScopesAdmitOnlyWhatIsBeneath) {
    runtime_policy view{standard::spec()};
    ASSERT_TRUE(view.grant(perm::fs_read{"/srv/data"}));
    EXPECT_TRUE(view.check("fs.read", "/srv/data"));
    EXPECT_TRUE(view.check("fs.read", "/srv/data/a/b.txt"));
    EXPECT_FALSE(view.check("fs.read", "/srv/database"));
    EXPECT_FALSE(view.check("fs.read", "/srv/data/../etc/passwd"));
    EXPECT_FALSE(view.check("fs.read", "/srv/data/../../etc/passwd"));
    EXPECT_FALSE(view.check("fs.read", "relative"));
    EXPECT_FALSE(view.check("fs.write", "/srv/data/x")) << "read does not imply write";
    auto denied = view.check("fs.read", "/etc/passwd");
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind(), error_kind::violation);
    EXPECT_EQ(denied.error().info().permission, "fs.read");
    EXPECT_EQ(denied.error().info().path, "/etc/passwd");
}

TEST(RuntimeView, GrantsNormaliseTheirScopes) {
    runtime_policy view{standard::spec()};
    ASSERT_TRUE(view.grant("fs.read", "/srv/./data/../data/"));
    EXPECT_TRUE(view.check("fs.read", "/srv/data/x"));
    EXPECT_FALSE(view.check("fs.read", "/srv/other"));
    EXPECT_EQ(view.grant("fs.read", "srv").error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(view.grant("fs.read").error().kind(), error_kind::invalid_argument) << "a path kind needs a path";
    EXPECT_EQ(view.grant("clock", "x").error().kind(), error_kind::invalid_argument);
}

TEST(RuntimeView, GrantsOutsideTheCeilingAreRefused) {
    runtime_policy view{scoped::spec()};
    EXPECT_TRUE(view.grant("fs.read", "/srv/a"));
    auto outside = view.grant("fs.read", "/etc");
    ASSERT_FALSE(outside);
    EXPECT_EQ(outside.error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(view.grant("fs.read", "/srv/../etc").error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(view.grant("fs.write", "/srv/in").error().kind(), error_kind::permission_outside_policy);
    EXPECT_TRUE(view.grant("fs.write", "/srv/out/x"));
    EXPECT_EQ(view.grant("clock").error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(view.grant("process").error().kind(), error_kind::permission_outside_policy);
    EXPECT_EQ(view.grant("ui").error().kind(), error_kind::permission_outside_policy) << "ceiling<> lists no custom kinds";
    runtime_policy wide{standard::spec()};
    EXPECT_TRUE(wide.grant("ui")) << "standard admits user-defined permissions";
    EXPECT_EQ(wide.grant("process").error().kind(), error_kind::permission_outside_policy);
}

TEST(RuntimeView, NetScopesMatchHostAndPort) {
    runtime_policy view{standard::spec()};
    ASSERT_TRUE(view.grant(perm::net{"db.local:5432"}));
    EXPECT_TRUE(view.check("net", "db.local:5432"));
    EXPECT_TRUE(view.check("net", "DB.LOCAL:5432"));
    EXPECT_FALSE(view.check("net", "db.local:5433"));
    EXPECT_FALSE(view.check("net", "db.local.evil:5432"));
    EXPECT_FALSE(view.check("net", "evil:5432"));
    ASSERT_TRUE(view.grant("net", "*:443"));
    EXPECT_TRUE(view.check("net", "anything.example:443"));
    ASSERT_TRUE(view.grant("net", "[::1]:8080"));
    EXPECT_TRUE(view.check("net", "[::1]:8080"));
    EXPECT_EQ(view.grant("net", "host:99999").error().kind(), error_kind::invalid_argument);
    EXPECT_EQ(view.grant("net", "::1:80").error().kind(), error_kind::invalid_argument);
}

TEST(RuntimeView, RevokeRemovesKindsOrScopes) {
    runtime_policy view{standard::spec()};
    ASSERT_TRUE(view.check("clock"));
    ASSERT_TRUE(view.revoke("clock"));
    EXPECT_FALSE(view.check("clock"));
    ASSERT_TRUE(view.grant("fs.read", "/a"));
    ASSERT_TRUE(view.grant("fs.read", "/b"));
    ASSERT_TRUE(view.revoke("fs.read", "/a/"));
    EXPECT_FALSE(view.check("fs.read", "/a/x"));
    EXPECT_TRUE(view.check("fs.read", "/b/x"));
}

TEST(RuntimeView, LimitsOnlyTighten) {
    runtime_policy view{standard::spec()};
    EXPECT_EQ(view.limit(limit::kind::memory), 256 * MiB);
    auto looser = view.tighten(limit::kind::memory, 512 * MiB);
    ASSERT_FALSE(looser);
    EXPECT_EQ(looser.error().kind(), error_kind::limit_outside_policy);
    ASSERT_TRUE(looser.error().info().limit);
    EXPECT_EQ(looser.error().info().limit->limit, 256 * MiB);
    EXPECT_TRUE(view.tighten(limit::kind::memory, 64 * MiB));
    EXPECT_FALSE(view.tighten(limit::kind::memory, 128 * MiB)) << "cannot loosen back";
    EXPECT_EQ(view.tighten(limit::kind::memory, 0).error().kind(), error_kind::invalid_argument);
    EXPECT_TRUE(view.tighten(limit::kind::fuel, 1000)) << "an absent limit may be set";
    EXPECT_EQ(view.ceiling_limits().get(limit::kind::memory), 256 * MiB);
}

TEST(RuntimeView, GenerationChangesWithEveryChange) {
    runtime_policy view{standard::spec()};
    const auto g0 = view.generation();
    ASSERT_TRUE(view.grant("env"));
    const auto g1 = view.generation();
    EXPECT_GT(g1, g0);
    ASSERT_TRUE(view.tighten(limit::kind::memory, MiB));
    EXPECT_GT(view.generation(), g1);
}

TEST(RuntimeView, PermissionTextParses) {
    auto p = permission_text::parse("fs.read=/srv/x=y");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "fs.read");
    EXPECT_EQ(p->scope, "/srv/x=y");
    EXPECT_FALSE(permission_text::parse("fs.read="));
    EXPECT_FALSE(permission_text::parse("=x"));
    EXPECT_FALSE(permission_text::parse("Bad Name"));
}

// A random walk of grants, revokes and tightenings never leaves the ceiling and agrees with a
// simple model of which paths are readable.
TEST(RuntimeView, RandomOperationsStayInsideTheCeiling) {
    std::mt19937 rng(12345);
    const std::vector<std::string> paths = {"/srv", "/srv/a", "/srv/a/b", "/srv/ab", "/etc", "/srv/../etc", "/", "/srv/a/../b"};
    for (int round = 0; round < 50; ++round) {
        runtime_policy view{scoped::spec()};
        std::vector<std::string> model;  // granted read scopes, normalised
        std::uint64_t memory = *view.limit(limit::kind::memory);
        for (int step = 0; step < 40; ++step) {
            const auto& p = paths[rng() % paths.size()];
            const auto normal = *path::normalize(p);
            switch (rng() % 3) {
            case 0: {
                const bool inside = path::is_within(normal, "/srv");
                auto r = view.grant("fs.read", p);
                ASSERT_EQ(r.has_value(), inside) << p;
                if (inside && std::find(model.begin(), model.end(), normal) == model.end()) model.push_back(normal);
                break;
            }
            case 1:
                ASSERT_TRUE(view.revoke("fs.read", p));
                std::erase(model, normal);
                break;
            default: {
                const std::uint64_t v = 1 + rng() % (512 * MiB);
                auto r = view.tighten(limit::kind::memory, v);
                ASSERT_EQ(r.has_value(), v <= memory);
                if (r) memory = v;
            }
            }
            for (const auto& probe : paths) {
                const auto n = *path::normalize(probe);
                const bool expected = std::any_of(model.begin(), model.end(), [&](const auto& s) { return path::is_within(n, s); });
                ASSERT_EQ(view.check("fs.read", probe).has_value(), expected) << probe;
            }
            ASSERT_LE(*view.limit(limit::kind::memory), 256 * MiB);
        }
    }
}

TEST(RuntimeView, ConcurrentRevokeAndCheckAreSafe) {
    runtime_policy view{standard::spec()};
    std::atomic<bool> stop{false};
    std::thread checker([&] {
        while (!stop) (void)view.check("fs.read", "/srv/a/b");
    });
    for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(view.grant("fs.read", "/srv/a"));
        ASSERT_TRUE(view.revoke("fs.read"));
    }
    stop = true;
    checker.join();
    EXPECT_FALSE(view.check("fs.read", "/srv/a/b"));
}

// ---- permission ids: what the backends check on every host call ----------------------------

using open_ceiling = policy<isolation::standard>;

TEST(RuntimeView, IdsAreBitsThatFollowGrantAndRevoke) {
    runtime_policy view{policy<isolation::strict>::spec()};
    EXPECT_EQ(view.intern("clock"), perm::id::clock);
    EXPECT_EQ(view.intern("fs.write"), perm::id::fs_write);
    EXPECT_FALSE(view.intern("net")) << "strict's ceiling does not admit net";
    EXPECT_FALSE(view.intern("ui")) << "strict's ceiling admits no unlisted kind";
    EXPECT_FALSE(view.granted(perm::id::clock));
    ASSERT_TRUE(view.grant("clock"));
    EXPECT_TRUE(view.granted(perm::id::clock));
    EXPECT_FALSE(view.granted(perm::id::random));
    EXPECT_TRUE(view.check(perm::id::clock));
    auto refused = view.check(perm::id::random);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().info().permission, "random");
    ASSERT_TRUE(view.revoke("clock"));
    EXPECT_FALSE(view.granted(perm::id::clock));
    // A scoped kind is on while any scope is; revoking one scope leaves it on.
    ASSERT_TRUE(view.grant("fs.read", "/srv/a"));
    ASSERT_TRUE(view.grant("fs.read", "/srv/b"));
    ASSERT_TRUE(view.revoke("fs.read", "/srv/a"));
    EXPECT_TRUE(view.granted(perm::id::fs_read));
    ASSERT_TRUE(view.revoke("fs.read"));
    EXPECT_FALSE(view.granted(perm::id::fs_read));
}

TEST(RuntimeView, UnlistedKindsOfAnOpenCeilingGetTheirOwnIds) {
    runtime_policy view{open_ceiling::spec()};
    const auto ui = view.intern("ui");
    ASSERT_TRUE(ui);
    EXPECT_GE(static_cast<int>(*ui), static_cast<int>(perm::id::first_custom));
    EXPECT_EQ(view.intern("ui"), ui) << "the same kind keeps its id";
    EXPECT_NE(view.intern("db"), ui);
    EXPECT_EQ(view.name_of(*ui), "ui");
    EXPECT_FALSE(view.granted(*ui)) << "numbering a kind grants nothing";
    ASSERT_TRUE(view.grant("ui"));
    EXPECT_TRUE(view.granted(*ui));
    EXPECT_FALSE(view.intern("process")) << "standard denies process";
    const runtime_policy copy{view};
    EXPECT_TRUE(copy.granted(*ui)) << "a copy keeps ids and grants";
    EXPECT_EQ(copy.name_of(*ui), "ui");
}

TEST(RuntimeView, MoreKindsThanTheMaskHoldsAreRefusedNotAliased) {
    runtime_policy view{open_ceiling::spec()};
    std::vector<perm::id> ids;
    for (int i = 0;; ++i) {
        const std::string name = "kind" + std::to_string(i);
        auto id = view.intern(name);
        if (!id) {
            EXPECT_EQ(ids.size() + std::size(perm::detail::builtin_names), perm::max_kinds)
                << "every id up to the mask's width is used";
            auto r = view.grant(name);
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().kind(), error_kind::permission_outside_policy);
            EXPECT_FALSE(view.granted(name));
            break;
        }
        ASSERT_LT(static_cast<std::size_t>(*id), perm::max_kinds);
        ids.push_back(*id);
        ASSERT_LT(i, 100);
    }
    for (perm::id id : ids) ASSERT_TRUE(view.grant(view.name_of(id)));
    for (perm::id id : ids) EXPECT_TRUE(view.granted(id));
    EXPECT_FALSE(view.granted(perm::id::process));
    // An id no policy hands out is never granted (and shifts nothing past the mask).
    EXPECT_FALSE(view.granted(static_cast<perm::id>(perm::max_kinds)));
    EXPECT_FALSE(view.granted(static_cast<perm::id>(255)));
}

// A ceiling written at run time may list more user-defined kinds than the mask holds: those
// past it get no id, are refused when granted, and are not granted by the spec either.
TEST(RuntimeView, CeilingKindsPastTheMaskAreNeverGranted) {
    policy_spec spec;
    for (int i = 0; i < 70; ++i) spec.grant("many" + std::to_string(i));
    runtime_policy view{spec};
    const std::size_t fit = perm::max_kinds - std::size(perm::detail::builtin_names);
    for (int i = 0; i < 70; ++i) {
        const std::string name = "many" + std::to_string(i);
        const bool inside = static_cast<std::size_t>(i) < fit;
        EXPECT_EQ(view.granted(name), inside) << name;
        EXPECT_EQ(view.intern(name).has_value(), inside) << name;
        EXPECT_EQ(view.grant(name).has_value(), inside) << name;
        EXPECT_EQ(view.check(name).has_value(), inside) << name;
    }
}

} // namespace
