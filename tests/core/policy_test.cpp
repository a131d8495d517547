// The compile-time algebra: presets, composition, queries, scopes, and generated combinations of
// presets, permission elements and limits checked against a plain model of the rules.
#include <cordon/cordon.hpp>

#include <boost/hana.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace {
using namespace cordon;
namespace hana = boost::hana;

struct ui : perm::custom<"ui"> {};
struct db : perm::custom<"db", perm::scope_kind::text> {
    using custom::custom;
};

// ---- presets: the table of DESIGN.md ---------------------------------------------------------
static_assert(policy<isolation::minimal>::allows<perm::process>);
static_assert(policy<isolation::minimal>::allows<ui>);
static_assert(!policy<isolation::standard>::allows<perm::process>);
static_assert(policy<isolation::standard>::allows<perm::net>);
static_assert(policy<isolation::standard>::allows<ui>);
static_assert(policy<isolation::strict>::allows<perm::fs_write>);
static_assert(!policy<isolation::strict>::allows<perm::net>);
static_assert(!policy<isolation::strict>::allows<ui>);
static_assert(!policy<isolation::maximum>::allows<perm::clock>);
static_assert(policy<isolation::minimal>::grants_by_default<perm::fs_read>);
static_assert(policy<isolation::standard>::grants_by_default<perm::random>);
static_assert(!policy<isolation::standard>::grants_by_default<perm::fs_read>);
static_assert(!policy<isolation::strict>::grants_by_default<perm::clock>);
static_assert(*policy<isolation::minimal>::limit_of(limit::kind::memory) == 1 * GiB);
static_assert(!policy<isolation::minimal>::limit_of(limit::kind::cpu_time_ms));
static_assert(*policy<isolation::standard>::limit_of(limit::kind::open_files) == 64);
static_assert(*policy<isolation::strict>::limit_of(limit::kind::processes) == 1);
static_assert(*policy<isolation::maximum>::limit_of(limit::kind::memory) == 16 * MiB);
static_assert(policy<isolation::maximum>::required_mechanisms.contains(mechanism::two_layers));
static_assert(policy<isolation::strict>::required_mechanisms.contains(mechanism::seccomp | mechanism::pid_namespace));
static_assert(!policy<isolation::standard>::required_mechanisms.contains(mechanism::user_namespace));

// ---- default preset is strict (default deny) --------------------------------------------------
static_assert(std::is_same_v<policy<>::preset, isolation::strict>);
static_assert(std::is_same_v<policy<allow<perm::clock>>::preset, isolation::strict>);

// ---- limits: explicit elements override the preset; later wins; queries are constant ---------
using limits_policy = policy<isolation::strict, limit::memory<32 * MiB>, limit::fuel<1000>, limit::memory<8 * MiB>>;
static_assert(*limits_policy::limit_of(limit::kind::memory) == 8 * MiB);
static_assert(*limit_of<limits_policy>(limit::kind::fuel) == 1000);
static_assert(*limits_policy::limit_of(limit::kind::wall_time_ms) == 5000);  // preset default kept
static_assert(limits_policy::sets_explicitly(limit::kind::fuel));
static_assert(!limits_policy::sets_explicitly(limit::kind::wall_time_ms));
static_assert(policy<isolation::strict, limit::memory<1 * GiB>>::limit_of(limit::kind::memory) == 1 * GiB,
              "preset limits are defaults, not ceilings");

// ---- composition is order-independent for permissions ----------------------------------------
using ab = policy<isolation::standard, allow<perm::clock>, deny<perm::env>, allow<perm::net>>;
using ba = policy<allow<perm::net>, deny<perm::env>, isolation::standard, allow<perm::clock>>;
static_assert(ab::allows<perm::net> == ba::allows<perm::net> && !ab::allows<perm::env> && !ba::allows<perm::env>);
static_assert(ab::grants_by_default<perm::clock> && ba::grants_by_default<perm::clock>);
static_assert(!ab::grants_by_default<perm::random>, "allow<> replaces the preset's default grants");

// ---- ceiling<> narrows, deny<> removes, scopes nest --------------------------------------------
using scoped_policy = policy<isolation::standard, ceiling<perm::fs_read::under<"/srv">, perm::net::to<"db.local:5432">, perm::clock>>;
static_assert(scoped_policy::allows<perm::fs_read>);
static_assert(scoped_policy::allows<perm::fs_read::under<"/srv/data">>);
static_assert(!scoped_policy::allows<perm::fs_read::under<"/srvdata">>);
static_assert(!scoped_policy::allows<perm::fs_read::under<"/">>);
static_assert(!scoped_policy::allows<perm::fs_write>);
static_assert(!scoped_policy::allows<perm::random>);
static_assert(scoped_policy::allows<perm::net::to<"db.local:5432">>);
static_assert(!scoped_policy::allows<perm::net::to<"db.local:5433">>);
static_assert(!scoped_policy::allows<perm::net::to<"db.local">>, "any port is wider than one port");
static_assert(allows<policy<isolation::standard, deny<perm::net>>, perm::fs_read>);
static_assert(!allows<policy<isolation::standard, deny<perm::net>>, perm::net::to<"a:1">>);

// ---- set algebra reads like set algebra ---------------------------------------------------------
static_assert(perm::contains<perm::set<perm::clock, perm::random>, perm::clock>);
static_assert(!perm::contains<perm::set<perm::clock>, perm::random>);
static_assert(perm::subset<perm::set<perm::clock>, perm::set<perm::clock, perm::random>>);
static_assert(!perm::subset<perm::set<perm::net>, isolation::strict::ceiling>);
static_assert(perm::subset<isolation::strict::ceiling, isolation::standard::ceiling>);
static_assert(!perm::subset<isolation::standard::ceiling, isolation::strict::ceiling>);
static_assert(perm::subset<isolation::standard::ceiling, isolation::minimal::ceiling>);

// ---- a custom preset, written as docs/policies.md shows ----------------------------------------
struct kiosk : isolation::standard {
    static constexpr std::string_view name = "kiosk";
    using ceiling = perm::set<perm::clock, perm::fs_read::under<"/usr/share/kiosk">, ui>;
    using default_grants = perm::set<perm::clock, ui>;
    static constexpr limit_set default_limits = limit_set{}.with(limit::kind::memory, 128 * MiB);
};
static_assert(isolation::preset<kiosk>);
static_assert(policy<kiosk>::allows<ui> && policy<kiosk>::grants_by_default<ui>);
static_assert(!policy<kiosk>::allows<perm::random>);
static_assert(policy<kiosk>::required_mechanisms == isolation::standard::required);
static_assert(*policy<kiosk>::limit_of(limit::kind::memory) == 128 * MiB);

TEST(Policy, SpecListsCeilingGrantsAndLimits) {
    const auto& spec = scoped_policy::spec();
    EXPECT_EQ(spec.preset, "standard");
    ASSERT_NE(spec.find("fs.read"), nullptr);
    ASSERT_EQ(spec.find("fs.read")->scope_limits.size(), 1u);
    EXPECT_EQ(spec.find("fs.read")->scope_limits[0], std::vector<std::string>{"/srv"});
    EXPECT_EQ(spec.find("net")->scope_limits[0], std::vector<std::string>{"db.local:5432"});
    EXPECT_EQ(spec.find("random"), nullptr);
    EXPECT_FALSE(spec.admits_unlisted);
    EXPECT_TRUE(policy<isolation::standard>::spec().admits_unlisted);
    EXPECT_TRUE(policy<isolation::standard>::spec().admits_kind("ui"));
    EXPECT_FALSE(policy<isolation::standard>::spec().admits_kind("process"));
    EXPECT_FALSE(policy<isolation::strict>::spec().admits_kind("ui"));
}

TEST(Policy, UnscopedNetGrantCoversWhatTheCeilingAdmits) {
    using p = policy<isolation::standard, ceiling<perm::net::to<"a.example:1">, perm::net::to<"b.example:2">>, allow<perm::net>>;
    runtime_policy view{p::spec()};
    EXPECT_TRUE(view.check("net", "a.example:1"));
    EXPECT_TRUE(view.check("net", "b.example:2"));
    EXPECT_FALSE(view.check("net", "c.example:3"));
}

TEST(Policy, UnscopedPathGrantGrantsNoPathYet) {
    using p = policy<isolation::strict, allow<perm::fs_read>>;
    runtime_policy view{p::spec()};
    EXPECT_TRUE(view.granted("fs.read"));
    EXPECT_FALSE(view.check("fs.read", "/etc/passwd"));
    ASSERT_TRUE(view.grant(perm::fs_read{"/srv"}));
    EXPECT_TRUE(view.check("fs.read", "/srv/x"));
}

// ---- generated combinations --------------------------------------------------------------------
// Every preset x every built-in kind x {plain, allow<K>, deny<K>, ceiling<K>} is compared with a
// plain model of the rules, at compile time where the policy compiles and at run time for its spec.

constexpr auto presets = hana::tuple_t<isolation::minimal, isolation::standard, isolation::strict, isolation::maximum>;
constexpr auto kinds = hana::tuple_t<perm::fs_read, perm::fs_write, perm::net, perm::process, perm::clock, perm::random,
                                     perm::env, perm::system, perm::plugin, ui>;

template <class Preset, class K> constexpr bool model_admits() {
    const std::string_view n = K::name;
    if (Preset::name == "minimal") return true;
    if (Preset::name == "standard") return n != "process";
    if (Preset::name == "strict") return n == "fs.read" || n == "fs.write" || n == "clock" || n == "random";
    return false;
}

TEST(Policy, GeneratedPresetKindCombinationsMatchTheModel) {
    int checked = 0;
    hana::for_each(presets, [&](auto pt) {
        using Preset = typename decltype(pt)::type;
        hana::for_each(kinds, [&](auto kt) {
            using K = typename decltype(kt)::type;
            constexpr bool admitted = model_admits<Preset, K>();
            using plain = policy<Preset>;
            static_assert(plain::template allows<K> == admitted);
            EXPECT_EQ(plain::spec().admits_kind(K::name), admitted) << Preset::name << " " << K::name;
            // deny<K> always removes K, and removes nothing else.
            using denied = policy<Preset, deny<K>>;
            static_assert(!denied::template allows<K>);
            static_assert(denied::template allows<perm::clock> == (model_admits<Preset, perm::clock>() && K::name != "clock"));
            EXPECT_FALSE(denied::spec().admits_kind(K::name));
            if constexpr (admitted) {
                // allow<K> grants exactly K; ceiling<K> admits exactly K.
                using allowed = policy<Preset, allow<K>>;
                static_assert(allowed::template grants_by_default<K>);
                static_assert(!allowed::template grants_by_default<perm::random> || std::is_same_v<K, perm::random>);
                using narrowed = policy<Preset, ceiling<K>>;
                static_assert(narrowed::template allows<K>);
                static_assert(!narrowed::template allows<perm::plugin> || std::is_same_v<K, perm::plugin>);
                runtime_policy view{narrowed::spec()};
                EXPECT_EQ(view.spec().ceiling.size(), 1u) << Preset::name << " " << K::name;
                const std::string scope = K::scoping == perm::scope_kind::path       ? "/tmp"
                                          : K::scoping == perm::scope_kind::endpoint ? "localhost:80"
                                                                                     : "";
                EXPECT_TRUE(view.grant(K::name, scope)) << Preset::name << " " << K::name;
                EXPECT_FALSE(view.grant(K::name == "clock" ? "env" : "clock"));
            }
            ++checked;
        });
    });
    EXPECT_EQ(checked, 40);
}

constexpr auto limit_values = hana::make_tuple(hana::ullong_c<1>, hana::ullong_c<777>, hana::ullong_c<1ull << 40>);

TEST(Policy, GeneratedLimitCombinationsOverrideInOrder) {
    hana::for_each(presets, [&](auto pt) {
        using Preset = typename decltype(pt)::type;
        hana::for_each(limit_values, [&](auto a) {
            hana::for_each(limit_values, [&](auto b) {
                constexpr auto first = decltype(a)::value;
                constexpr auto second = decltype(b)::value;
                using p = policy<Preset, limit::memory<first>, limit::cpu_time_ms<second>, limit::memory<second>>;
                static_assert(*p::limit_of(limit::kind::memory) == second);
                static_assert(*p::limit_of(limit::kind::cpu_time_ms) == second);
                static_assert(p::limits.get(limit::kind::wall_time_ms) == Preset::default_limits.get(limit::kind::wall_time_ms));
                runtime_policy view{p::spec()};
                EXPECT_EQ(view.limit(limit::kind::memory), second);
                EXPECT_FALSE(view.tighten(limit::kind::memory, second + 1)) << "limits only tighten";
                EXPECT_TRUE(view.tighten(limit::kind::memory, second));
            });
        });
    });
}

} // namespace
