// Capability tables: which policies a backend accepts at compile time, and how a sandbox's
// enforcement report is derived from its backend's rows, the limits in force and live facts.
#include <cordon/cordon.hpp>

#include <gtest/gtest.h>

#include <set>

namespace {
using namespace cordon;

// A backend reduced to its table, to exercise the derivation without a payload.
struct table_only {
    static constexpr std::string_view name = "table only";
    static constexpr std::array capabilities{
        enforces(element::isolation, "a wall"),
        enforces(element::root, "a private root", enforcement_level::enforced, shown::when_observed),
        limits(element::memory, "a cap"),
        limits(element::cpu_time, "a clock", enforcement_level::best_effort),
        enforces(element::wall_time, "a timer"),
        refuses(element::fuel, "nothing counts", instead::a_wasm_backend),
        limits(element::open_files, "a table"),
        limits(element::processes, "a count"),
        limits(element::net_connections, "a count"),
        limits(element::output_bytes, "a cap"),
        limits(element::call_depth, "a counter"),
    };
};

TEST(Capabilities, TheReportFollowsTheTableAndTheLimitsInForce) {
    const auto in_force = limit_set{}.with(limit::kind::memory, 1024).with(limit::kind::fuel, 10);
    const auto report = report_from_table<table_only>(in_force, {});
    EXPECT_EQ(report.backend, "table only");
    std::vector<element> order;
    for (const auto& e : report.entries) order.push_back(e.element);
    // isolation always; root only when observed; memory and fuel in force; wall_time always.
    EXPECT_EQ(order, (std::vector{element::isolation, element::memory, element::wall_time, element::fuel}));
    EXPECT_EQ(report.find(element::fuel)->level, enforcement_level::not_enforced);
    EXPECT_EQ(report.find(element::fuel)->mechanism, "nothing counts");
    EXPECT_EQ(report.find("memory"), report.find(element::memory));
}

TEST(Capabilities, LiveFactsReplaceTheWordingOrConfirmARow) {
    const std::vector<enforcement_entry> facts{{element::memory, "a cap of 3 pages", enforcement_level::best_effort},
                                               {element::root, {}, enforcement_level::enforced}};
    const auto report = report_from_table<table_only>(limit_set{}.with(limit::kind::memory, 1), facts);
    ASSERT_NE(report.find(element::root), nullptr);
    EXPECT_EQ(report.find(element::root)->mechanism, "a private root");
    EXPECT_EQ(report.find(element::memory)->mechanism, "a cap of 3 pages");
    EXPECT_EQ(report.find(element::memory)->level, enforcement_level::best_effort);
}

// A refused element is accepted when the preset sets it (and reported), refused when explicit
// (tests/compile_fail holds the rejections themselves).
static_assert(enforces_policy<none::backend, policy<isolation::strict>>());
static_assert(policy<isolation::strict>::limits.has(limit::kind::memory));
static_assert(enforces_policy<none::backend, policy<isolation::strict, limit::wall_time_ms<10>, limit::output_bytes<8>>>());
static_assert(find_capability(none::backend::capabilities, element::call_depth)->refused());
static_assert(find_capability(none::backend::capabilities, element::open_files)->refused());
static_assert(!find_capability(none::backend::capabilities, element::wall_time)->refused());

TEST(Capabilities, EveryAlternativeIsSaidInWords) {
    std::set<std::string_view> sentences;
    for (auto i : {instead::a_wasm_backend, instead::a_wasm_or_process_backend, instead::a_wasm_backend_or_wall_time_ms,
                   instead::a_wasm_backend_or_cpu_time_ms, instead::a_wasm_backend_or_memory_limit,
                   instead::process_backend, instead::dropping_it_or_process_backend, instead::dropping_it_or_denying_net})
        EXPECT_TRUE(sentences.insert(to_string(i)).second && !to_string(i).empty()) << static_cast<int>(i);
    EXPECT_TRUE(to_string(instead::nothing).empty());
}

TEST(Capabilities, EveryElementHasItsOwnName) {
    std::set<std::string_view> names;
    for (int e = 0; e <= static_cast<int>(element::call_depth); ++e)
        EXPECT_TRUE(names.insert(to_string(static_cast<element>(e))).second) << e;
    for (auto k : limit::all_kinds) EXPECT_EQ(to_string(element_of(k)), limit::name(k));
    for (auto k : limit::all_kinds) EXPECT_EQ(limit_kind_of(element_of(k)), k);
    EXPECT_FALSE(limit_kind_of(element::fs));
}

} // namespace
