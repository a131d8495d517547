// Admission on its own, without a manager: the backend a plugin was built for, its permissions
// and limits against a policy's ceiling, records refused at discovery, the options it starts with.
#include "plugin_tree.hpp"

#include <cordon/none/backend.hpp>
#include <cordon/plugin/admission.hpp>
#include <cordon/policy/policy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

using namespace cordon;
using namespace cordon::plugin;
using cordon::plugin::testing::plugin_tree;
namespace fs = std::filesystem;

namespace {

using standard = cordon::policy<isolation::standard>;
using strict = cordon::policy<isolation::strict>;

struct wasm_like {  // the name is all admission reads of a backend
    static constexpr std::string_view name = "wasm interpreter";
};

class Admission : public ::testing::Test {
protected:
    const plugin_record& add(const std::string& id, nlohmann::json extra = nlohmann::json::object()) {
        const auto manifest = tree.add(id, "1.0.0", {}, extra);
        if (id.starts_with("tampered")) plugin_tree::write(manifest.parent_path() / "entry.bin", "not what was hashed");
        const fs::path roots[] = {tree.root()};
        registries.push_back(std::make_unique<registry>(registry::discover(roots).value()));
        return *registries.back()->find(id, parse_version("1.0.0").value());
    }
    plugin_tree tree;
    std::vector<std::unique_ptr<registry>> registries;
};

} // namespace

TEST_F(Admission, ABackendRunsOnlyWhatWasBuiltForIt) {
    const auto& native = add("native", {{"backend", "process"}});
    const std::string_view wasm_engines[] = {"wasm interpreter", "wasm compiled"};
    auto refused = check_built_for(native, wasm_engines);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(),
              "native 1.0.0 is built for the process backend; this manager runs wasm interpreter, wasm compiled");
    EXPECT_TRUE(runs_on(native, "process"));
    EXPECT_FALSE(runs_on(native, "wasm compiled"));
    EXPECT_TRUE(runs_on(native, "none")) << "the reference backend runs anything";
    const std::string_view mixed[] = {"wasm interpreter", "process"};
    EXPECT_TRUE(check_built_for(native, mixed));
    EXPECT_FALSE((check_admission<wasm_like, standard>(native)));
}

TEST(AdmissionBackend, WithoutABackendTheEntryTellsWhatAPluginIsBuiltFor) {
    manifest m;
    m.entry = "lib/filter.wasm";
    EXPECT_EQ(built_for(m), backend_kind::wasm);
    for (const char* entry : {"libfilter.so", "filter", "filter.wasm.sh", "bin/filter.py"}) {
        m.entry = entry;
        EXPECT_EQ(built_for(m), backend_kind::process) << entry;
    }
    m.backend = backend_kind::wasm;
    EXPECT_EQ(built_for(m), backend_kind::wasm) << "the manifest's backend wins over the entry";
}

TEST_F(Admission, RequestsAboveTheCeilingAreRefusedWithTheirName) {
    const auto& spawner = add("spawner", {{"permissions", {"clock", "process"}}});
    auto refused = check_within_policy(spawner, standard::spec());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::permission_outside_policy);
    EXPECT_NE(refused.error().message().find("spawner 1.0.0 requests process"), std::string::npos) << refused.error().message();

    const auto& networked = add("networked", {{"permissions", {"net=example.org:443"}}});
    EXPECT_TRUE(check_within_policy(networked, standard::spec()));
    EXPECT_FALSE(check_within_policy(networked, strict::spec())) << "strict's ceiling has no net";

    auto hog = check_within_policy(add("hog", {{"limits", {{"memory", "1GiB"}}}}), standard::spec());
    ASSERT_FALSE(hog);
    EXPECT_EQ(hog.error().kind(), error_kind::limit_outside_policy);
    EXPECT_NE(hog.error().message().find("hog 1.0.0 asks for a memory limit"), std::string::npos);
}

TEST_F(Admission, ARecordRefusedAtDiscoveryIsRefusedWithItsReason) {
    const auto& tampered = add("tampered");
    ASSERT_FALSE(tampered.usable());
    auto refused = check_admission<none::backend, standard>(tampered);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), tampered.rejection->kind());
    EXPECT_EQ(refused.error().message().rfind("cannot register: ", 0), 0u) << refused.error().message();
    EXPECT_TRUE((check_admission<none::backend, standard>(add("plain"))));
}

TEST_F(Admission, OptionsGrantOnlyWhatTheManifestAsksFor) {
    const auto& modest = add("modest", {{"permissions", {"fs.read=/srv"}}, {"limits", {{"memory", "64MiB"}, {"timeout", "2s"}}}});
    const auto options = admitted_options(modest, standard::spec());
    EXPECT_EQ(options.grants, (std::vector<std::string>{"fs.read=/srv"}));
    for (const auto& g : standard::spec().grants)
        EXPECT_NE(std::find(options.revokes.begin(), options.revokes.end(), g.name), options.revokes.end())
            << "the preset's default grant " << g.name << " is revoked";
    EXPECT_EQ(options.limits.get(limit::kind::memory), 64 * MiB);
    EXPECT_EQ(options.limits.get(limit::kind::wall_time_ms), 2000U);
    EXPECT_FALSE(options.limits.get(limit::kind::fuel));
}
