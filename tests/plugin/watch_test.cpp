// The opt-in directory watch: a plugin whose directory changes is reloaded once it settles; a
// change that does not fit is refused and the old version keeps serving.
#include "plugin_tree.hpp"

#include <cordon/none/backend.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/plugin/watch.hpp>
#include <cordon/policy/policy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

using namespace cordon;
using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

using plugin_manager = manager<cordon::policy<isolation::standard>, none::backend>;

/// Waits for something the watch's thread does; the bound is generous, the wait usually short.
bool eventually(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// Rewrites the plugin in `dir` in place as `version`.
void rewrite(const fs::path& dir, const std::string& version) {
    const std::string entry = "entry of calc " + version;
    plugin_tree::write(dir / "entry.bin", entry);
    const nlohmann::json manifest{{"id", "calc"}, {"name", "calc plugin"}, {"version", version}, {"entry", "entry.bin"},
                                  {"sha256", sha256_hex(std::string_view(entry))}};
    plugin_tree::write(dir / "plugin.json", manifest.dump());
}

} // namespace

TEST(DirectoryWatch, AChangedDirectoryIsReloadedAndAChangeThatDoesNotFitIsRefused) {
    plugin_tree tree;
    tree.add("calc", "1.0.0");
    const fs::path roots[] = {tree.root()};
    const auto found = registry::discover(roots).value();
    plugin_manager m{[](const plugin_record& r, std::span<const unsigned char>) -> result<none::program> {
        none::program p;
        const auto major_minor = static_cast<std::int32_t>(r.version().minor + 10 * r.version().major);
        p.export_function("which", [major_minor] { return major_minor; });
        return p;
    }};
    ASSERT_TRUE(m.register_plugin(*found.find("calc", parse_version("1.0.0").value())));
    ASSERT_TRUE(m.load("calc"));
    ASSERT_TRUE(m.activate("calc"));
    ASSERT_EQ(m.call<std::int32_t()>("calc", "which").value(), 10);

    auto watch = directory_watch<plugin_manager>::start(m, {std::chrono::milliseconds(20), std::chrono::milliseconds(20)});
    ASSERT_TRUE(watch) << watch.error().message();
    const auto dir = tree.directory_of("calc", "1.0.0");
    rewrite(dir, "1.1.0");
    ASSERT_TRUE(eventually([&] { return m.status("calc")->version == "1.1.0"; }));
    EXPECT_EQ(m.call<std::int32_t()>("calc", "which").value(), 11);

    plugin_tree::write(dir / "entry.bin", "not what the manifest's digest says");
    ASSERT_TRUE(eventually([&] {
        const auto history = m.recovery_history();
        return !history.empty() && history.back().outcome == recovery_outcome::refused;
    }));
    EXPECT_EQ(m.status("calc")->version, "1.1.0");
    EXPECT_EQ(m.call<std::int32_t()>("calc", "which").value(), 11) << "the old version keeps serving";
    watch->reset();
    const auto history = m.recovery_history();
    EXPECT_TRUE(std::any_of(history.begin(), history.end(), [](const recovery_record& r) { return r.detail == "1.0.0 -> 1.1.0"; }));
}
