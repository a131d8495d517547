// Dependency resolution: highest satisfying versions, backtracking, load order, and
// missing dependencies, conflicts, cycles, host_api and rejected plugins with their chains.
#include "plugin_tree.hpp"

#include <cordon/plugin/resolver.hpp>

#include <gtest/gtest.h>

#include <memory>

using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

registry discover(const plugin_tree& tree) {
    const fs::path roots[] = {tree.root()};
    return registry::discover(roots).value();
}

std::vector<std::string> order_of(const resolution& r) {
    std::vector<std::string> out;
    for (const auto* record : r.load_order) out.push_back(record->label());
    return out;
}

resolution resolve_one(const registry& reg, const std::string& id, std::optional<std::string> range = std::nullopt) {
    const requirement root{id, range ? std::optional{parse_range(*range).value()} : std::nullopt};
    return resolve(reg, std::span{&root, 1});
}

std::string problems_of(const resolution& r) { return r.to_error().message(); }

/// Keeps a registry alive for the rest of the test, since a resolution points into it.
const registry& keep(registry reg) {
    static std::vector<std::unique_ptr<registry>> kept;
    kept.push_back(std::make_unique<registry>(std::move(reg)));
    return *kept.back();
}

} // namespace

TEST(Resolver, PicksTheHighestVersionSatisfyingEveryConstraintAndOrdersDependenciesFirst) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"ui", "^2"}, {"log", "^1.1"}});
    tree.add("ui", "1.5.0");
    tree.add("ui", "2.0.0", {{"log", ">=1.0.0"}});
    tree.add("ui", "2.3.1", {{"log", "~1.2"}});
    tree.add("ui", "3.0.0");
    tree.add("log", "1.0.0");
    tree.add("log", "1.2.7");
    tree.add("log", "1.3.0");
    tree.add("log", "2.0.0");
    const auto reg = discover(tree);
    const auto r = resolve_one(reg, "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    // Plugins are decided in the order they are first required (app's dependencies by id:
    // log, then ui); each takes the highest version that fits the decisions before it.
    EXPECT_EQ(order_of(r), (std::vector<std::string>{"log 1.3.0", "ui 2.0.0", "app 1.0.0"}));
    EXPECT_EQ(r.to_json()["load_order"][0]["version"], "1.3.0");
    EXPECT_EQ(r.to_json()["ok"], true);
}

TEST(Resolver, EarlierDecisionsWinOverLaterOnes) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"a-ui", "^2"}, {"log", "^1.1"}});
    tree.add("a-ui", "2.0.0", {{"log", ">=1.0.0"}});
    tree.add("a-ui", "2.3.1", {{"log", "~1.2"}});
    tree.add("log", "1.2.7");
    tree.add("log", "1.3.0");
    const auto reg = discover(tree);
    const auto r = resolve_one(reg, "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r), (std::vector<std::string>{"log 1.2.7", "a-ui 2.3.1", "app 1.0.0"}));
}

TEST(Resolver, BacktracksToAnOlderVersionWhenTheNewestLeadsToAConflict) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"db", "*"}, {"json", "^1"}});
    tree.add("db", "2.0.0", {{"json", "^2"}});  // newest db wants json 2, app needs json 1
    tree.add("db", "1.4.0", {{"json", "^1.2"}});
    tree.add("json", "1.1.0");
    tree.add("json", "1.3.0");
    tree.add("json", "2.0.0");
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r), (std::vector<std::string>{"json 1.3.0", "db 1.4.0", "app 1.0.0"}));
}

TEST(Resolver, BacktracksAcrossLevels) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"a", "*"}, {"b", "*"}});
    tree.add("a", "2.0.0", {{"c", "^2"}});
    tree.add("a", "1.0.0", {{"c", "^1"}});
    tree.add("b", "1.0.0", {{"c", "<2"}});
    tree.add("c", "1.0.0");
    tree.add("c", "2.0.0");
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r), (std::vector<std::string>{"c 1.0.0", "a 1.0.0", "b 1.0.0", "app 1.0.0"}));
}

TEST(Resolver, MissingDependencyNamesTheChain) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"ui", "^1"}});
    tree.add("ui", "1.0.0", {{"icons", "^3.1"}});
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.problems.size(), 1U);
    const auto& p = r.problems[0];
    EXPECT_EQ(p.kind, resolution_problem_kind::missing);
    EXPECT_EQ(p.plugin, "icons");
    EXPECT_EQ(p.chain, (std::vector<std::string>{"app 1.0.0", "ui 1.0.0", "icons"}));
    EXPECT_EQ(p.message, "missing dependency \"icons\": ^3.1 (required by app 1.0.0 -> ui 1.0.0), but no plugin with that id was found");
    EXPECT_EQ(r.to_json()["errors"][0]["kind"], "missing");
    EXPECT_TRUE(r.load_order.empty());
}

TEST(Resolver, NoMatchingVersionListsWhatIsAvailable) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"log", "^3"}});
    tree.add("log", "1.0.0");
    tree.add("log", "2.0.0");
    tree.add("log", "3.0.0-rc.1");  // pre-releases do not match ^3
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems[0].kind, resolution_problem_kind::missing);
    EXPECT_EQ(r.problems[0].message,
              "no version of \"log\" matches ^3 (required by app 1.0.0); available: 2.0.0, 1.0.0, 3.0.0-rc.1");
}

TEST(Resolver, ConflictNamesBothConstraintsAndTheirChains) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"db", "^1"}, {"cache", "^1"}});
    tree.add("db", "1.0.0", {{"json", "^1"}});
    tree.add("cache", "1.0.0", {{"json", "^2"}});
    tree.add("json", "1.9.0");
    tree.add("json", "2.1.0");
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_FALSE(r.ok());
    const auto& p = r.problems[0];
    EXPECT_EQ(p.kind, resolution_problem_kind::conflict);
    EXPECT_EQ(p.plugin, "json");
    EXPECT_NE(p.message.find("^2 (required by app 1.0.0 -> cache 1.0.0)"), std::string::npos) << p.message;
    EXPECT_NE(p.message.find("^1 (required by app 1.0.0 -> db 1.0.0)"), std::string::npos) << p.message;
}

TEST(Resolver, ConflictWithAnAlreadyChosenVersion) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"json", "^1"}, {"late", "*"}});
    tree.add("late", "1.0.0", {{"json", "^2"}});
    tree.add("json", "1.0.0");
    tree.add("json", "2.0.0");
    const auto r = resolve_one(keep(discover(tree)), "app");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems[0].kind, resolution_problem_kind::conflict);
    EXPECT_NE(r.problems[0].message.find("late 1.0.0 requires json ^2, but json 1.0.0 was already chosen for app 1.0.0"),
              std::string::npos)
        << r.problems[0].message;
    EXPECT_EQ(r.problems[0].chain, (std::vector<std::string>{"app 1.0.0", "late 1.0.0"}));
}

TEST(Resolver, CyclesAreReportedWithTheCycle) {
    plugin_tree tree;
    tree.add("a", "1.0.0", {{"b", "^1"}});
    tree.add("b", "1.0.0", {{"c", "^1"}});
    tree.add("c", "1.0.0", {{"a", "^1"}});
    const auto r = resolve_one(keep(discover(tree)), "a");
    ASSERT_FALSE(r.ok());
    const auto& p = r.problems[0];
    EXPECT_EQ(p.kind, resolution_problem_kind::cycle);
    EXPECT_EQ(p.message, "dependency cycle: c 1.0.0 -> a 1.0.0 -> b 1.0.0 -> c 1.0.0");
    EXPECT_EQ(p.chain.front(), p.chain.back());
}

TEST(Resolver, AVersionWithoutTheCycleIsPreferredToFailing) {
    plugin_tree tree;
    tree.add("a", "1.0.0", {{"b", "*"}});
    tree.add("b", "2.0.0", {{"a", "*"}});
    tree.add("b", "1.0.0");
    const auto r = resolve_one(keep(discover(tree)), "a");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r), (std::vector<std::string>{"b 1.0.0", "a 1.0.0"}));
}

TEST(Resolver, HostApiIsChecked) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"gfx", "*"}});
    tree.add("gfx", "2.0.0", {}, {{"host_api", "^2"}});
    tree.add("gfx", "1.0.0", {}, {{"host_api", ">=1.0 <2"}});
    const auto reg = discover(tree);
    auto r = resolve_one(reg, "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r)[0], "gfx 1.0.0");

    resolve_options newer;
    newer.host_api = parse_version("2.1.0").value();
    const requirement root{"app", std::nullopt};
    EXPECT_EQ(order_of(resolve(reg, std::span{&root, 1}, newer))[0], "gfx 2.0.0");

    const auto only_new = resolve_one(reg, "gfx", ">=2");
    ASSERT_FALSE(only_new.ok());
    EXPECT_EQ(only_new.problems[0].kind, resolution_problem_kind::host_api);
    EXPECT_EQ(only_new.problems[0].message, "gfx 2.0.0 needs host API ^2, but this host provides 1.0.0");
}

TEST(Resolver, RejectedPluginsAreNotChosenAndTheReasonIsGiven) {
    plugin_tree tree;
    tree.add("app", "1.0.0", {{"codec", "^1"}});
    tree.add("codec", "1.1.0");
    tree.add("codec", "1.0.0");
    plugin_tree::write(tree.root() / "codec-1.1.0" / "entry.bin", "tampered");
    const auto reg = discover(tree);
    const auto r = resolve_one(reg, "app");
    ASSERT_TRUE(r.ok()) << problems_of(r);
    EXPECT_EQ(order_of(r)[0], "codec 1.0.0");  // the good older version, never the tampered one

    plugin_tree::write(tree.root() / "codec-1.0.0" / "entry.bin", "tampered too");
    const auto none_left = resolve_one(keep(discover(tree)), "app");
    ASSERT_FALSE(none_left.ok());
    EXPECT_EQ(none_left.problems[0].kind, resolution_problem_kind::rejected);
    EXPECT_NE(none_left.problems[0].message.find("codec 1.1.0 cannot be used: entry \"entry.bin\" of codec 1.1.0 does not match"),
              std::string::npos)
        << none_left.problems[0].message;
    EXPECT_EQ(none_left.problems[0].chain, (std::vector<std::string>{"app 1.0.0", "codec 1.1.0"}));
}

TEST(Resolver, UnconstrainedRequestsPreferReleasesOverPreReleases) {
    plugin_tree tree;
    tree.add("x", "1.0.0");
    tree.add("x", "2.0.0-beta.1");
    tree.add("y", "0.1.0-alpha");
    const auto reg = discover(tree);
    const auto all = resolve_all(reg);
    ASSERT_TRUE(all.ok()) << problems_of(all);
    EXPECT_EQ(order_of(all), (std::vector<std::string>{"x 1.0.0", "y 0.1.0-alpha"}));
    EXPECT_EQ(order_of(resolve_one(reg, "x", ">=2.0.0-beta.0")), (std::vector<std::string>{"x 2.0.0-beta.1"}));
}

TEST(Resolver, ResolveAllReportsEveryIndependentProblem) {
    plugin_tree tree;
    tree.add("fine", "1.0.0");
    tree.add("needs-ghost", "1.0.0", {{"ghost", "*"}});
    tree.add("loop-a", "1.0.0", {{"loop-b", "*"}});
    tree.add("loop-b", "1.0.0", {{"loop-a", "*"}});
    const auto r = resolve_all(keep(discover(tree)));
    ASSERT_FALSE(r.ok());
    std::set<resolution_problem_kind> kinds;
    for (const auto& p : r.problems) kinds.insert(p.kind);
    EXPECT_TRUE(kinds.contains(resolution_problem_kind::missing));
    EXPECT_TRUE(kinds.contains(resolution_problem_kind::cycle));
    EXPECT_EQ(r.to_error().kind(), cordon::error_kind::load_error);
}

TEST(Resolver, RequestedIdThatDoesNotExist) {
    plugin_tree tree;
    tree.add("x", "1.0.0");
    const auto r = resolve_one(keep(discover(tree)), "nope");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems[0].message, "no plugin \"nope\" was found");
}

TEST(Resolver, ExponentialSearchIsCutOff) {
    // Every version of each layer accepts every version of the next, but the last layer
    // exists in no version the first accepts: without a cap this explores 8^6 paths.
    plugin_tree tree;
    const int layers = 6, versions = 8;
    for (int layer = 0; layer < layers; ++layer)
        for (int v = 0; v < versions; ++v) {
            std::map<std::string, std::string> deps;
            if (layer + 1 < layers) deps["l" + std::to_string(layer + 1)] = "*";
            else deps["l0"] = "<0.0.1";  // never satisfiable: l0 has no 0.0.0
            tree.add("l" + std::to_string(layer), std::to_string(v + 1) + ".0.0", deps);
        }
    const auto reg = discover(tree);
    resolve_options capped;
    capped.max_steps = 5000;
    const requirement root{"l0", std::nullopt};
    const auto r = resolve(reg, std::span{&root, 1}, capped);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems[0].kind, resolution_problem_kind::too_complex);
}
