// The example plugin tree under tests/plugin/data: discovery, integrity verdicts, signature
// checks with the test key, and resolution with its load order.
#include <cordon/plugin/resolver.hpp>

#include <gtest/gtest.h>

using namespace cordon::plugin;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir{CORDON_PLUGIN_TEST_DATA};

registry discover(const registry_options& options = {}) {
    const fs::path roots[] = {data_dir};
    return registry::discover(roots, options).value();
}

registry_options trusting_test_key(bool require) {
    registry_options options;
    options.integrity.require_signatures = require;
    EXPECT_TRUE(options.integrity.trusted.add_file(data_dir / "keys" / "test.pub"));
    return options;
}

const plugin_record& only(const registry& reg, std::string_view id) {
    const auto versions = reg.versions_of(id);
    EXPECT_EQ(versions.size(), 1U) << id;
    return *versions.at(0);
}

} // namespace

TEST(ExampleTree, DiscoversEveryPluginAndReportsTheInvalidOnes) {
    const auto reg = discover(trusting_test_key(false));
    EXPECT_EQ(reg.ids(), (std::vector<std::string>{"app", "asker", "badsig", "counter", "flaky", "greeter", "log", "tampered"}));
    EXPECT_EQ(reg.versions_of("greeter").size(), 2U);
    ASSERT_EQ(reg.problems().size(), 2U);
    EXPECT_NE(reg.problems()[0].problem.message().find("limits.memory: expected a size like \"64MiB\""), std::string::npos)
        << reg.problems()[0].problem.message();
    EXPECT_NE(reg.problems()[1].problem.message().find("permisions: unknown field"), std::string::npos);
}

TEST(ExampleTree, IntegrityVerdicts) {
    const auto reg = discover(trusting_test_key(false));
    EXPECT_EQ(only(reg, "app").signature.status, signature_status::verified);
    EXPECT_EQ(only(reg, "app").signature.key_id, reg.options().integrity.trusted.keys()[0].key_id());
    EXPECT_TRUE(only(reg, "flaky").usable());
    EXPECT_EQ(only(reg, "flaky").signature.status, signature_status::absent);
    ASSERT_FALSE(only(reg, "tampered").usable());
    EXPECT_NE(only(reg, "tampered").rejection->message().find("does not match its sha256"), std::string::npos);
    ASSERT_FALSE(only(reg, "badsig").usable());
    EXPECT_NE(only(reg, "badsig").rejection->message().find("signature does not verify"), std::string::npos);
    EXPECT_EQ(only(reg, "badsig").signature.status, signature_status::invalid);
}

TEST(ExampleTree, ResolvesTheApplicationInLoadOrder) {
    const auto reg = discover(trusting_test_key(false));
    const requirement root{"app", std::nullopt};
    const auto r = resolve(reg, std::span{&root, 1});
    ASSERT_TRUE(r.ok()) << r.to_error().message();
    std::vector<std::string> order;
    for (const auto* p : r.load_order) order.push_back(p->label());
    EXPECT_EQ(order, (std::vector<std::string>{"log 1.2.0", "greeter 1.1.0", "app 1.0.0"}));
}

TEST(ExampleTree, ResolvingEverythingFailsOnTheTamperedAndBadlySignedPlugins) {
    const auto reg = discover(trusting_test_key(false));
    const auto r = resolve_all(reg);
    ASSERT_FALSE(r.ok());
    std::set<std::string> failing;
    for (const auto& p : r.problems) {
        EXPECT_EQ(p.kind, resolution_problem_kind::rejected) << p.message;
        failing.insert(p.plugin);
    }
    EXPECT_EQ(failing, (std::set<std::string>{"badsig", "tampered"}));
    EXPECT_EQ(r.to_error().kind(), cordon::error_kind::load_error);
}

TEST(ExampleTree, RequiringSignaturesRejectsTheUnsignedDependencies) {
    const auto reg = discover(trusting_test_key(true));
    EXPECT_TRUE(only(reg, "app").usable());
    EXPECT_FALSE(only(reg, "flaky").usable());
    const requirement root{"app", std::nullopt};
    const auto r = resolve(reg, std::span{&root, 1});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problems[0].kind, resolution_problem_kind::rejected);
    EXPECT_NE(r.problems[0].message.find("requires signatures"), std::string::npos) << r.problems[0].message;
}

TEST(ExampleTree, EntriesAreRealWebAssembly) {
    const auto reg = discover();
    for (const auto& record : reg.plugins()) {
        if (!record.usable()) continue;
        auto bytes = read_verified_entry(record.definition, record.directory);
        ASSERT_TRUE(bytes) << record.label();
        ASSERT_GE(bytes->size(), 8U);
        EXPECT_EQ(std::string(bytes->begin(), bytes->begin() + 4), std::string("\0asm", 4)) << record.label();
    }
}
