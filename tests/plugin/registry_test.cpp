// Discovery (bounded, no symlink loops, integrity verdicts), several versions per id, and
// searches by id, name and capability.
#include "plugin_tree.hpp"

#include <cordon/plugin/registry.hpp>

#include <gtest/gtest.h>

using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {
cordon::result<registry> discover(const fs::path& root, const registry_options& options = {}) {
    const fs::path roots[] = {root};
    return registry::discover(roots, options);
}
std::vector<std::string> labels(const std::vector<const plugin_record*>& records) {
    std::vector<std::string> out;
    for (const auto* r : records) out.push_back(r->label());
    return out;
}
} // namespace

TEST(Registry, KeepsEveryVersionHighestFirst) {
    plugin_tree tree;
    tree.add("log", "1.0.0");
    tree.add("log", "1.10.0");
    tree.add("log", "1.2.0");
    tree.add("log", "2.0.0-beta.1");
    tree.add("ui", "0.1.0");
    auto reg = discover(tree.root());
    ASSERT_TRUE(reg) << reg.error().message();
    EXPECT_TRUE(reg->problems().empty());
    EXPECT_EQ(reg->ids(), (std::vector<std::string>{"log", "ui"}));
    EXPECT_EQ(labels(reg->versions_of("log")),
              (std::vector<std::string>{"log 2.0.0-beta.1", "log 1.10.0", "log 1.2.0", "log 1.0.0"}));
    EXPECT_NE(reg->find("log", parse_version("1.2.0").value()), nullptr);
    EXPECT_EQ(reg->find("log", parse_version("1.3.0").value()), nullptr);
    EXPECT_TRUE(reg->versions_of("nothing").empty());
}

TEST(Registry, SearchesByNameAndCapability) {
    plugin_tree tree;
    tree.add("thumb", "1.0.0", {}, {{"name", "Image Thumbnailer"}, {"capabilities", {"image.thumbnail", "image.resize"}}});
    tree.add("resize", "1.0.0", {}, {{"name", "Resizer"}, {"capabilities", {"image.resize"}}});
    tree.add("log", "1.0.0");
    auto reg = discover(tree.root()).value();
    EXPECT_EQ(labels(reg.find_by_name("thumbnail")), (std::vector<std::string>{"thumb 1.0.0"}));
    EXPECT_EQ(labels(reg.find_by_name("IMAGE")), (std::vector<std::string>{"thumb 1.0.0"}));
    EXPECT_EQ(labels(reg.find_by_capability("image.resize")), (std::vector<std::string>{"resize 1.0.0", "thumb 1.0.0"}));
    EXPECT_TRUE(reg.find_by_capability("image").empty());  // exact match only
}

TEST(Registry, BadManifestsAreRecordedAndDiscoveryGoesOn) {
    plugin_tree tree;
    tree.add("good", "1.0.0");
    plugin_tree::write(tree.root() / "broken" / "plugin.json", "{ not json");
    plugin_tree::write(tree.root() / "typo" / "plugin.json", R"({"id":"t","name":"T","version":"1.0.0","entry":"e","sha256":")" +
                                                               std::string(64, '0') + R"(","permisions":[]})");
    plugin_tree::write(tree.root() / "notes" / "readme.json", "not a manifest, not looked at");
    auto reg = discover(tree.root());
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->ids(), (std::vector<std::string>{"good"}));
    ASSERT_EQ(reg->problems().size(), 2U);
    EXPECT_NE(reg->problems()[0].problem.message().find("not valid JSON"), std::string::npos);
    EXPECT_NE(reg->problems()[1].problem.message().find("permisions: unknown field"), std::string::npos);
    const auto json = reg->to_json();
    EXPECT_EQ(json["plugins"].size(), 1U);
    EXPECT_EQ(json["problems"].size(), 2U);
}

TEST(Registry, DuplicateVersionsAreReportedOnce) {
    plugin_tree tree;
    tree.add("log", "1.0.0");
    const auto copy = tree.root() / "zz-copy";
    fs::create_directories(copy);
    fs::copy(tree.root() / "log-1.0.0", copy, fs::copy_options::recursive);
    tree.add("other", "1.0.0+build.7");
    auto dup = tree.root() / "zz-other";
    fs::create_directories(dup);
    fs::copy(tree.root() / "other-1.0.0+build.7", dup, fs::copy_options::recursive);
    auto reg = discover(tree.root()).value();
    EXPECT_EQ(reg.plugins().size(), 2U);
    ASSERT_EQ(reg.problems().size(), 2U);
    EXPECT_NE(reg.problems()[0].problem.message().find("already provided by"), std::string::npos);
}

TEST(Registry, TamperedEntriesAndBadSignaturesAreRejectedNotHidden) {
    plugin_tree tree;
    tree.add("fine", "1.0.0");
    tree.add("tampered", "1.0.0");
    plugin_tree::write(tree.root() / "tampered-1.0.0" / "entry.bin", "replaced by an attacker");
    auto unsigned_ok = discover(tree.root()).value();
    ASSERT_EQ(unsigned_ok.plugins().size(), 2U);
    EXPECT_TRUE(unsigned_ok.versions_of("fine")[0]->usable());
    const auto* tampered = unsigned_ok.versions_of("tampered")[0];
    ASSERT_FALSE(tampered->usable());
    EXPECT_NE(tampered->rejection->message().find("does not match its sha256"), std::string::npos);
    EXPECT_EQ(registry::record_json(*tampered)["status"], "rejected");

    registry_options strict;
    strict.integrity.require_signatures = true;
    strict.integrity.trusted.add(secret_key::generate().value().public_key());
    auto reg = discover(tree.root(), strict).value();
    EXPECT_FALSE(reg.versions_of("fine")[0]->usable());
    EXPECT_NE(reg.versions_of("fine")[0]->rejection->message().find("requires signatures"), std::string::npos);
}

TEST(Registry, SymlinksAreNeverFollowedSoLoopsCannotHappen) {
    plugin_tree tree;
    tree.add("log", "1.0.0");
    fs::create_directory_symlink(tree.root(), tree.root() / "loop");
    fs::create_directory_symlink(tree.root() / "log-1.0.0", tree.root() / "alias");
    fs::create_directories(tree.root() / "linked");
    fs::create_symlink(tree.root() / "log-1.0.0" / "plugin.json", tree.root() / "linked" / "plugin.json");
    auto reg = discover(tree.root());
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->plugins().size(), 1U);
    EXPECT_TRUE(reg->problems().empty());
}

TEST(Registry, DepthAndSizeCapsBoundDiscovery) {
    plugin_tree tree;
    fs::path deep = tree.root();
    for (int i = 0; i < 6; ++i) deep /= "d" + std::to_string(i);
    fs::create_directories(deep);
    fs::copy(tree.add("deep", "1.0.0").parent_path(), deep, fs::copy_options::recursive);
    fs::remove_all(tree.root() / "deep-1.0.0");
    EXPECT_TRUE(discover(tree.root()).value().plugins().empty());  // 7 levels down, max_depth 4
    registry_options deeper;
    deeper.max_depth = 8;
    EXPECT_EQ(discover(tree.root(), deeper).value().plugins().size(), 1U);

    plugin_tree big;
    plugin_tree::write(big.root() / "huge" / "plugin.json", std::string(1 << 20, ' '));
    auto reg = discover(big.root()).value();
    ASSERT_EQ(reg.problems().size(), 1U);
    EXPECT_NE(reg.problems()[0].problem.message().find("larger than"), std::string::npos);

    plugin_tree many;
    for (int i = 0; i < 5; ++i) many.add("p" + std::to_string(i), "1.0.0");
    registry_options few;
    few.max_manifests = 3;
    auto capped = discover(many.root(), few).value();
    EXPECT_EQ(capped.plugins().size(), 3U);
    EXPECT_FALSE(capped.problems().empty());
    registry_options narrow;
    narrow.max_directory_entries = 4;
    EXPECT_LE(discover(many.root(), narrow).value().plugins().size(), 4U);
}

TEST(Registry, RootsCanBeManifestFilesAndMissingRootsAreErrors) {
    plugin_tree tree;
    const auto manifest = tree.add("solo", "1.0.0");
    const fs::path roots[] = {manifest, tree.root()};  // overlapping roots: no duplicate
    auto reg = registry::discover(roots);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->plugins().size(), 1U);
    EXPECT_FALSE(discover(tree.root() / "absent"));
}
