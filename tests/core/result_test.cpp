// result<T>, error kinds and the std::error_code category.
#include <cordon/result.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <type_traits>
#include <utility>

namespace {
using namespace cordon;

TEST(Result, HoldsAValueOrAnError) {
    result<int> ok = 42;
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 42);
    EXPECT_EQ(ok.value_or(7), 42);
    result<int> bad = fail(error_kind::trap, "unreachable executed");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind(), error_kind::trap);
    EXPECT_EQ(bad.error().message(), "unreachable executed");
    EXPECT_EQ(bad.value_or(7), 7);
    EXPECT_THROW((void)bad.value(), bad_result_access);
}

TEST(Result, ComposesWithAndThenAndTransform) {
    result<int> ok = 20;
    auto doubled = ok.transform([](int v) { return v * 2; });
    EXPECT_EQ(*doubled, 40);
    auto chained = ok.and_then([](int v) -> result<std::string> { return std::to_string(v); });
    EXPECT_EQ(*chained, "20");
    result<int> bad = fail(error_kind::timeout, "too slow");
    EXPECT_EQ(bad.transform([](int v) { return v + 1; }).error().kind(), error_kind::timeout);
    result<void> done;
    EXPECT_TRUE(done);
    result<void> failed = fail(error_kind::denied, "no");
    EXPECT_EQ(failed.error().kind(), error_kind::denied);
    EXPECT_THROW(failed.value(), bad_result_access);
}

TEST(Result, ErrorsCarryDetailsAndContext) {
    error_info info{"memory limit exceeded"};
    info.limit = limit_detail{"memory", 1024, 2048};
    info.backtrace = {{"grow", 3, std::nullopt}, {"main", 0, std::nullopt}};
    error e{error_kind::memory_limit, info};
    auto wrapped = e.with_context("in plugin thumbnailer");
    EXPECT_EQ(wrapped.message(), "in plugin thumbnailer: memory limit exceeded");
    EXPECT_EQ(wrapped.info().limit->observed, 2048u);
    EXPECT_EQ(wrapped.info().backtrace.size(), 2u);
    EXPECT_EQ(e.message(), "memory limit exceeded") << "errors are immutable";
}

TEST(Result, ErrorCodeCategory) {
    std::error_code code = error_kind::violation;
    EXPECT_EQ(std::string(code.category().name()), "cordon");
    EXPECT_EQ(code.message(), "violation");
    EXPECT_EQ(error(error_kind::crash, "x").code(), make_error_code(error_kind::crash));
    EXPECT_NE(code, std::error_code(static_cast<int>(error_kind::violation), std::generic_category()));
}

// A temporary result hands its parts out by value: a reference bound to them stays valid.
static_assert(!std::is_reference_v<decltype(std::declval<result<int>>().error())>);
static_assert(!std::is_reference_v<decltype(std::declval<result<void>>().error())>);
static_assert(!std::is_reference_v<decltype(*std::declval<result<std::string>>())>);
static_assert(!std::is_reference_v<decltype(std::declval<result<std::string>>().value())>);
static_assert(!std::is_reference_v<decltype(std::declval<error>().message())>);
static_assert(!std::is_reference_v<decltype(std::declval<error>().info())>);
static_assert(std::is_lvalue_reference_v<decltype(std::declval<const result<int>&>().error())>,
              "an lvalue result still lends its error without a copy");

result<void> failed_status() { return fail(error_kind::load_error, std::string(64, 'x') + " module is malformed"); }
result<std::string> text_result() { return std::string(64, 'y'); }

// The pattern a new user wrote first; under AddressSanitizer a dangling reference here is a
// stack-use-after-scope or heap-use-after-free report, not a silent pass.
TEST(Result, ReferencesToPartsOfATemporaryResultStayValid) {
    const auto& e = failed_status().error();
    const auto& message = failed_status().error().message();
    const auto& info = failed_status().error().info();
    const auto& text = *text_result();
    const auto& value = text_result().value();
    EXPECT_EQ(e.kind(), error_kind::load_error);
    EXPECT_EQ(e.message(), std::string(64, 'x') + " module is malformed");
    EXPECT_EQ(message, e.message());
    EXPECT_EQ(info.message, e.message());
    EXPECT_EQ(text, std::string(64, 'y'));
    EXPECT_EQ(value, text);
    EXPECT_EQ(result<std::string>{fail(error_kind::trap, "t")}.value_or("fallback"), "fallback");
}

#ifndef NDEBUG
TEST(ResultDeathTest, ReadingTheWrongAlternativeStopsDebugBuilds) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    result<int> bad = fail(error_kind::trap, "unreachable executed");
    EXPECT_DEATH((void)*bad, "cordon::result: operator\\* on a result holding an error \\(trap: unreachable executed\\)");
    result<std::string> bad_text = fail(error_kind::denied, "no");
    EXPECT_DEATH((void)bad_text->size(), "cordon::result: operator-> on a result holding an error");
    result<int> ok = 1;
    EXPECT_DEATH((void)ok.error(), "cordon::result: error\\(\\) on a result holding a value");
    EXPECT_DEATH((void)result<int>{2}.error(), "error\\(\\) on a result holding a value");
    result<void> done;
    EXPECT_DEATH((void)done.error(), "error\\(\\) on a result holding a value");
}
#endif

TEST(Result, StatusNamesAreDistinctAndLimitsAreNamed) {
    std::set<std::string_view> names;
    for (auto k : all_error_kinds) names.insert(to_string(k));
    EXPECT_EQ(names.size(), std::size(all_error_kinds)) << "status names are distinct";
    std::set<error_kind> limits;
    for (auto k : all_error_kinds)
        if (is_limit(k)) limits.insert(k);
    EXPECT_EQ(limits, (std::set{error_kind::memory_limit, error_kind::cpu_limit, error_kind::timeout, error_kind::fuel_exhausted,
                                error_kind::file_limit, error_kind::process_limit, error_kind::output_limit}));
}

} // namespace
