// Conformance cases: user host functions registered through sandbox_options, custom permissions, reentrancy.
// Included by suite.hpp, which registers them; one expectation for every backend.
#pragma once

#include "fixture.hpp"

#include <stdexcept>

namespace cordon::conformance {

struct ui : perm::custom<"ui"> {};

/// The host functions of the host_functions part: a plain one and one guarded by perm `ui`.
inline host::functions app_functions() {
    host::functions f;
    f.push_back(host::function(
        "mix", [](std::int32_t a, std::int64_t b) { return std::int64_t{a} * 100 + b; }, "app"));
    f.push_back(host::function<ui>(
        "beep", [] { return std::int32_t{7}; }, "app"));
    return f;
}

// ---- host functions and reentrancy ------------------------------------------------------------

TYPED_TEST_P(Conformance, HostFunctionsAreCalled) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else {
        sandbox_options options;
        options.functions = app_functions();
        auto box =
            this->template make<policy<isolation::standard, allow<ui>>>(std::move(options), part::host_functions);
        EXPECT_EQ(box.template call<std::int64_t(std::int32_t)>("use_mix", 3).value(), 310);
        EXPECT_EQ(box.telemetry().last_call.host_calls, 1U);
        EXPECT_EQ(box.template call<std::int32_t()>("use_beep").value(), 7);
        EXPECT_TRUE(box.violations().empty());
    }
}

/// A host function guarded by perm `ui`, in the ceiling but not granted: refused as a violation
/// naming `ui` until the host grants it.
template <class Box>
void expect_ui_guarded(Box& box) {
    auto r = box.template call<std::int32_t()>("use_beep");
    ASSERT_FALSE(r) << "answered " << *r;
    EXPECT_EQ(r.error().kind(), error_kind::violation) << r.error().message();
    ASSERT_EQ(box.violations().size(), 1U);
    EXPECT_EQ(box.violations().front().info().permission, "ui");
    EXPECT_EQ(box.template call<std::int64_t(std::int32_t)>("use_mix", 1).value(), 110) << "mix needs no permission";
    ASSERT_TRUE(box.grant(ui{}));
    EXPECT_EQ(box.template call<std::int32_t()>("use_beep").value(), 7);
}

TYPED_TEST_P(Conformance, CustomPermissionGuardsAHostFunction) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else {
        sandbox_options options;
        options.functions = app_functions();
        auto box = this->template make<policy<isolation::standard, ceiling<ui, perm::clock, perm::random>>>(
            std::move(options), part::host_functions);
        expect_ui_guarded(box);
    }
}

// A preset's ceiling that admits every kind but some (standard: all but process) admits custom
// kinds it does not list, as its compile-time ceiling does.
TYPED_TEST_P(Conformance, UnlistedCustomPermissionIsInsideAnOpenCeiling) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else if constexpr (!TypeParam::open_ceiling.supported) {
        CORDON_CONFORMANCE_SKIP(open_ceiling);
    } else {
        static_assert(policy<isolation::standard>::allows<ui>);
        sandbox_options options;
        options.functions = app_functions();
        auto box = this->template make<policy<isolation::standard>>(std::move(options), part::host_functions);
        expect_ui_guarded(box);
    }
}

TYPED_TEST_P(Conformance, HostFunctionErrorStopsTheCall) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else {
        sandbox_options options;
        options.functions.push_back(host::function(
            "mix",
            [](std::int32_t, std::int64_t) -> result<std::int64_t> {
                return fail(error_kind::violation, "mix refused");
            },
            "app"));
        options.functions.push_back(host::function(
            "beep", [] { return std::int32_t{0}; }, "app"));
        auto box = this->template make<strict>(std::move(options), part::host_functions);
        auto r = box.template call<std::int64_t(std::int32_t)>("use_mix", 1);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind(), error_kind::violation);
        EXPECT_THAT(r.error().message(), HasSubstr("mix refused"));
        EXPECT_EQ(box.template call<std::int32_t()>("use_beep").value(), 0) << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, HostFunctionThatThrowsEndsTheCallAsAnError) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else {
        sandbox_options options;
        options.functions.push_back(host::function(
            "mix", [](std::int32_t, std::int64_t) -> std::int64_t { throw std::runtime_error("mix broke"); }, "app"));
        options.functions.push_back(host::function(
            "beep", [] { return std::int32_t{0}; }, "app"));
        auto box = this->template make<strict>(std::move(options), part::host_functions);
        auto r = box.template call<std::int64_t(std::int32_t)>("use_mix", 1);
        ASSERT_FALSE(r) << "the exception did not reach the call's result";
        EXPECT_EQ(r.error().kind(), error_kind::internal);
        EXPECT_THAT(r.error().message(), HasSubstr("app.mix threw: mix broke"));
        EXPECT_EQ(box.template call<std::int32_t()>("use_beep").value(), 0) << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, HostFunctionCannotReenterItsSandbox) {
    if constexpr (!TypeParam::host_functions.supported) {
        CORDON_CONFORMANCE_SKIP(host_functions);
    } else if constexpr (!TypeParam::refuses_reentry.supported) {
        CORDON_CONFORMANCE_SKIP(refuses_reentry);
    } else {
        using box_type = typename TestFixture::template box_t<strict>;
        box_type* self = nullptr;
        std::optional<error> reentry;
        sandbox_options options;
        options.functions.push_back(host::function(
            "mix",
            [&](std::int32_t, std::int64_t) -> std::int64_t {
                auto inner = self->template call<std::int32_t()>("use_beep");
                if (!inner) reentry = inner.error();
                return 0;
            },
            "app"));
        options.functions.push_back(host::function(
            "beep", [] { return std::int32_t{1}; }, "app"));
        auto box = this->template make<strict>(std::move(options), part::host_functions);
        self = &box;
        EXPECT_TRUE(box.template call<std::int64_t(std::int32_t)>("use_mix", 1));
        ASSERT_TRUE(reentry) << "the host function re-entered its own sandbox";
        EXPECT_EQ(reentry->kind(), error_kind::invalid_argument) << reentry->message();
        EXPECT_EQ(box.template call<std::int32_t()>("use_beep").value(), 1) << "the sandbox serves the next call";
    }
}

} // namespace cordon::conformance
