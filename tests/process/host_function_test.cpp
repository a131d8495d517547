// User host functions on the process backend: a native plugin calls them through cordon.h's
// cordon_call_host, the broker checks what it asks for (the child is untrusted), each
// violation_action is held, and hostile messages, floods and reentry end as errors.
#include <cordon/process.hpp>
#include <cordon/process/broker.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {
using namespace cordon;
using ::testing::HasSubstr;
namespace cp = cordon::process;
namespace broker = cordon::process::detail::broker;

struct ui : perm::custom<"ui"> {};
using granted = policy<isolation::standard, allow<ui>>;
using ungranted = policy<isolation::standard, ceiling<ui>>;

std::string text_of(const result<std::vector<std::byte>>& r) {
    if (!r) return "<" + std::string(to_string(r.error().kind())) + ": " + r.error().message() + ">";
    return {reinterpret_cast<const char*>(r->data()), r->size()};
}
std::vector<std::byte> u32(std::uint32_t v) {
    std::vector<std::byte> out(4);
    for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (8 * i));
    return out;
}

host::functions app_functions() {
    host::functions f;
    f.push_back(host::function(
        "mix", [](std::int32_t a, std::int64_t b) { return std::int64_t{a} * 100 + b; }, "app"));
    f.push_back(host::function("scale", [](double x, float by) { return x * static_cast<double>(by); }, "app"));
    f.push_back(host::function<ui>(
        "beep", [] { return std::int32_t{7}; }, "app"));
    return f;
}

template <class Policy> sandbox<cp::backend, Policy> plugin_box(sandbox_options options = {}) {
    if (options.functions.empty()) options.functions = app_functions();
    sandbox<cp::backend, Policy> box{cp::native_plugin{CORDON_TEST_HOST_FUNCTIONS_PLUGIN}, std::move(options)};
    EXPECT_TRUE(box.ok()) << box.status().error().message();
    return box;
}

sandbox_options acting_on(violation_action action) {
    sandbox_options options;
    options.on_violation = action;
    return options;
}

} // namespace

TEST(HostFunctions, ANativePluginCallsThemWithEveryValueType) {
    auto box = plugin_box<granted>();
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(3))), "310");
    EXPECT_EQ(box.telemetry().last_call.host_calls, 1U);
    EXPECT_EQ(box.telemetry().last_call.host_calls_by_name.at("mix"), 1U);
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(0xffffffffU))), "-90") << "i32 arguments keep their sign";
    EXPECT_EQ(text_of(box.call_bytes("use_scale", {})), "6.00");
    EXPECT_EQ(text_of(box.call_bytes("use_beep", {})), "7");
    EXPECT_TRUE(box.violations().empty());
}

TEST(HostFunctions, WithoutAnyRegisteredTheGuestIsToldNotFound) {
    sandbox<cp::backend, granted> box{cp::native_plugin{CORDON_TEST_HOST_FUNCTIONS_PLUGIN}};
    ASSERT_TRUE(box.ok()) << box.status().error().message();
    const auto r = box.call_bytes("use_mix", u32(3));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), error_kind::invalid_argument);
    EXPECT_THAT(r.error().message(), HasSubstr("no host function named app.mix"));
}

// What the plugin asks for wrongly: the guest gets a status, a call the host could decode ends
// with an error saying what was wrong, and the sandbox serves the next call.
TEST(HostFunctions, MisuseIsRefusedWithAStatusAndAnError) {
    auto box = plugin_box<granted>();
    ASSERT_TRUE(box.ok());
    const auto misuse = [&](std::uint32_t which) { return box.call_bytes("misuse", u32(which)); };
    {
        const auto r = misuse(0);
        ASSERT_FALSE(r) << text_of(r);
        EXPECT_EQ(r.error().kind(), error_kind::invalid_argument);
        EXPECT_THAT(r.error().message(), HasSubstr("no host function named app.nope"));
        EXPECT_TRUE(box.telemetry().last_call.host_calls_by_name.empty()) << "a name the guest chose is not tallied";
    }
    const char* called_as[] = {"(i32) -> i64", "(i32, i32) -> i64", "(i32, i32) -> f64", "(i32, i32) -> ()"};
    for (std::uint32_t which = 1; which <= 4; ++which) {
        const auto r = misuse(which);
        ASSERT_FALSE(r) << which << ": " << text_of(r);
        EXPECT_EQ(r.error().kind(), error_kind::invalid_argument);
        EXPECT_THAT(r.error().message(), HasSubstr("host function app.mix has signature (i32, i64) -> i64, called as " +
                                                   std::string(called_as[which - 1])));
    }
    // Refused in the child before anything is sent: a name too long or empty, too many values,
    // a type that does not exist.
    for (std::uint32_t which = 5; which <= 8; ++which) EXPECT_EQ(text_of(misuse(which)), "status:-3") << which;
    EXPECT_TRUE(box.violations().empty());
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(1))), "110");
}

TEST(HostFunctions, AnUngrantedOneFailsTheCallUnderFailCall) {
    auto box = plugin_box<ungranted>(acting_on(violation_action::fail_call));
    ASSERT_TRUE(box.ok());
    const auto r = box.call_bytes("use_beep", {});
    ASSERT_FALSE(r) << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    EXPECT_EQ(r.error().info().permission, "ui");
    EXPECT_THAT(r.error().message(), HasSubstr("ui: app.beep called without the grant"));
    ASSERT_EQ(box.violations().size(), 1U);
    EXPECT_THAT(box.take_logs(), HasSubstr("carried on")) << "the guest was told and went on";
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(1))), "110") << "mix needs no permission";
    ASSERT_TRUE(box.grant(ui{}));
    EXPECT_EQ(text_of(box.call_bytes("use_beep", {})), "7");
}

TEST(HostFunctions, AnUngrantedOneStopsThePluginUnderTrap) {
    auto box = plugin_box<ungranted>(acting_on(violation_action::trap));
    ASSERT_TRUE(box.ok());
    const auto r = box.call_bytes("use_beep", {});
    ASSERT_FALSE(r) << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation);
    EXPECT_EQ(r.error().info().permission, "ui");
    EXPECT_EQ(box.violations().size(), 1U) << "recorded once, not again as the child's end";
    EXPECT_THAT(box.take_logs(), ::testing::Not(HasSubstr("carried on"))) << "the plugin ran on after the violation";
    EXPECT_EQ(box.telemetry().restarts, 0U) << "a child the host stopped is not a crash";
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(2))), "210") << "the sandbox serves the next call";
}

TEST(HostFunctions, AnUngrantedOneLeavesTheResultUnderRecord) {
    auto box = plugin_box<ungranted>(acting_on(violation_action::record));
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(text_of(box.call_bytes("use_beep", {})), "status:-1");
    EXPECT_EQ(box.violations().size(), 1U);
    EXPECT_EQ(box.telemetry().last_call.violations, 1U);
    EXPECT_EQ(box.telemetry().last_call.errors, 0U);
}

TEST(HostFunctions, TheirErrorStopsThePlugin) {
    sandbox_options options;
    options.functions.push_back(host::function(
        "mix", [](std::int32_t a, std::int64_t) -> result<std::int64_t> {
            if (a == 1) return fail(error_kind::trap, "mix refused 1");
            return std::int64_t{a};
        }, "app"));
    auto box = plugin_box<granted>(std::move(options));
    ASSERT_TRUE(box.ok());
    const auto r = box.call_bytes("use_mix", u32(1));
    ASSERT_FALSE(r) << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::trap);
    EXPECT_THAT(r.error().message(), HasSubstr("mix refused 1"));
    EXPECT_TRUE(box.violations().empty());
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(5))), "5");
}

TEST(HostFunctions, OneCannotReenterItsSandbox) {
    sandbox<cp::backend, granted>* self = nullptr;
    std::optional<error> reentry;
    sandbox_options options;
    options.functions.push_back(host::function(
        "mix", [&](std::int32_t, std::int64_t) -> std::int64_t {
            auto inner = self->call_bytes("use_mix", u32(4));
            if (!inner) reentry = inner.error();
            return 42;
        }, "app"));
    auto box = plugin_box<granted>(std::move(options));
    ASSERT_TRUE(box.ok());
    self = &box;
    EXPECT_EQ(text_of(box.call_bytes("use_mix", u32(1))), "42");
    ASSERT_TRUE(reentry) << "the host function re-entered its own sandbox";
    EXPECT_EQ(reentry->kind(), error_kind::invalid_argument);
    EXPECT_THAT(reentry->message(), HasSubstr("already running a call"));
}

TEST(HostFunctions, AFloodIsCountedByNameAndStillMeetsTheWallLimit) {
    auto box = plugin_box<granted>();
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(text_of(box.call_bytes("flood", u32(5000))), "5000");
    const auto calls = box.telemetry().last_call.host_calls_by_name;
    EXPECT_EQ(calls.size(), 1U);
    EXPECT_EQ(calls.at("mix"), 5000U);

    sandbox_options options;
    options.limits.set(limit::kind::wall_time_ms, 300);
    auto endless = plugin_box<granted>(std::move(options));
    ASSERT_TRUE(endless.ok());
    const auto r = endless.call_bytes("flood", u32(0));
    ASSERT_FALSE(r) << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::timeout);
    EXPECT_EQ(text_of(endless.call_bytes("use_mix", u32(3))), "310");
}

// ---- the broker alone, fed what a hostile child could write ------------------------------------

namespace {

struct broker_bench {
    host::context ctx{ungranted::spec()};
    host::functions functions;
    int ran = 0;
    std::int64_t last_a = 0;

    broker_bench() {
        functions.push_back(host::function(
            "mix", [this](std::int32_t a, std::int64_t b) {
                ++ran;
                last_a = a;
                return std::int64_t{a} * 100 + b;
            }, "app"));
        functions.push_back(host::function<ui>(
            "beep", [this] {
                ++ran;
                return std::int32_t{7};
            }, "app"));
    }

    struct answered {
        std::int64_t status = 12345;
        std::vector<std::byte> payload;
        std::optional<error> stopped;  // the broker stopped the guest
        std::optional<error> ended;    // the call's own end
    };
    answered send(const std::vector<std::byte>& message) {
        answered out;
        ctx.begin_call();
        auto answer = cp::answer_host_call(ctx, functions, message, 1 << 20);
        if (auto end = ctx.end_call({}); !end) out.ended = end.error();
        if (!answer) {
            out.stopped = answer.error();
            return out;
        }
        cp::wire_reader in{*answer};
        out.status = in.get<std::int64_t>().value_or(12345);
        if (auto bytes = in.get_bytes()) out.payload.assign(bytes->begin(), bytes->end());
        return out;
    }
};

cp::wire_writer header() {
    cp::wire_writer w;
    w.put(static_cast<std::uint32_t>(broker::host_call::call_host));
    return w;
}
std::vector<std::byte> function_call(std::string_view module, std::string_view name, std::vector<value> args,
                                     std::vector<value_type> results) {
    auto w = header();
    broker::encode(w, module, name, args, results);
    return std::move(w).bytes();
}

} // namespace

TEST(HostFunctionBroker, AnswersTypedResults) {
    broker_bench bench;
    const auto a = bench.send(function_call("app", "mix", {value::of(std::int32_t{3}), value::of(std::int64_t{10})},
                                            {value_type::i64}));
    ASSERT_EQ(a.status, 0) << (a.stopped ? a.stopped->message() : "");
    cp::wire_reader in{a.payload};
    const auto v = broker::get_value(in);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, value_type::i64);
    EXPECT_EQ(v->as<std::int64_t>(), 310);
    EXPECT_TRUE(in.at_end());
    EXPECT_FALSE(a.ended);
}

TEST(HostFunctionBroker, TheUpperHalfOfA32BitValueIsDropped) {
    broker_bench bench;
    value noisy{value_type::i32, 0xdead'beef'0000'0005ULL};
    const auto a = bench.send(function_call("app", "mix", {noisy, value::of(std::int64_t{0})}, {value_type::i64}));
    ASSERT_EQ(a.status, 0);
    EXPECT_EQ(bench.last_a, 5);
}

TEST(HostFunctionBroker, MalformedCallsAreInvalidAndRunNothing) {
    broker_bench bench;
    const auto mix_args = std::vector<value>{value::of(std::int32_t{1}), value::of(std::int64_t{2})};
    std::vector<std::vector<std::byte>> hostile;
    hostile.push_back(function_call("app", std::string(broker::max_function_name + 1, 'm'), mix_args, {value_type::i64}));
    hostile.push_back(function_call(std::string(100000, 'a'), "mix", mix_args, {value_type::i64}));
    hostile.push_back(function_call("", "mix", mix_args, {value_type::i64}));
    hostile.push_back(function_call("app", "", mix_args, {value_type::i64}));
    hostile.push_back(function_call("app", "mix", std::vector<value>(broker::max_host_values + 1), {value_type::i64}));
    hostile.push_back(
        function_call("app", "mix", mix_args, std::vector<value_type>(broker::max_host_values + 1, value_type::i64)));
    {  // a count that lies: four billion values in a short message
        auto w = header();
        w.put_string("app");
        w.put_string("mix");
        w.put(std::uint32_t{0xffffffffU});
        hostile.push_back(std::move(w).bytes());
    }
    {  // a name length far past the message
        auto w = header();
        w.put(std::uint64_t{1} << 40);
        hostile.push_back(std::move(w).bytes());
    }
    {  // a type tag that names no type
        auto w = header();
        w.put_string("app");
        w.put_string("mix");
        w.put(std::uint32_t{2});
        w.put(std::uint8_t{4});
        w.put(std::uint64_t{1});
        w.put(std::uint8_t{1});
        w.put(std::uint64_t{2});
        w.put(std::uint32_t{1});
        w.put(std::uint8_t{1});
        hostile.push_back(std::move(w).bytes());
    }
    {  // a result type that names no type
        auto w = header();
        broker::encode(w, "app", "mix", mix_args, {});
        auto bytes = std::move(w).bytes();
        bytes.resize(bytes.size() - 4);  // drop the result count: write one with a bad type
        cp::wire_writer tail;
        tail.put(std::uint32_t{1});
        tail.put(std::uint8_t{200});
        bytes.insert(bytes.end(), tail.bytes().begin(), tail.bytes().end());
        hostile.push_back(std::move(bytes));
    }
    {  // trailing bytes
        auto bytes = function_call("app", "mix", mix_args, {value_type::i64});
        bytes.push_back(std::byte{0});
        hostile.push_back(std::move(bytes));
    }
    {  // cut short, at every length
        const auto whole = function_call("app", "mix", mix_args, {value_type::i64});
        for (std::size_t n = 4; n < whole.size(); ++n) hostile.emplace_back(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    }
    for (std::size_t i = 0; i < hostile.size(); ++i) {
        const auto a = bench.send(hostile[i]);
        EXPECT_EQ(a.status, host::guest_status::invalid) << "message " << i;
        EXPECT_FALSE(a.stopped) << "message " << i;
    }
    EXPECT_EQ(bench.ran, 0);
    EXPECT_TRUE(bench.ctx.telemetry().total.host_calls_by_name.empty());
}

TEST(HostFunctionBroker, UnknownNamesAreNotTallied) {
    broker_bench bench;
    for (int i = 0; i < 1000; ++i) {
        const auto a = bench.send(function_call("app", "nope" + std::to_string(i), {}, {}));
        EXPECT_EQ(a.status, host::guest_status::not_found);
        ASSERT_TRUE(a.ended);
        EXPECT_EQ(a.ended->kind(), error_kind::invalid_argument);
    }
    EXPECT_TRUE(bench.ctx.telemetry().total.host_calls_by_name.empty());
    const auto other_module = bench.send(function_call("ui", "mix", {value::of(std::int32_t{1}), value::of(std::int64_t{2})},
                                                       {value_type::i64}));
    EXPECT_EQ(other_module.status, host::guest_status::not_found) << "a function is found by module and name";
}

TEST(HostFunctionBroker, ARefusalFollowsTheViolationAction) {
    for (const auto action : {violation_action::fail_call, violation_action::record, violation_action::trap}) {
        broker_bench bench;
        bench.ctx.on_violation = action;
        const auto a = bench.send(function_call("app", "beep", {}, {value_type::i32}));
        EXPECT_EQ(bench.ran, 0);
        ASSERT_EQ(bench.ctx.violations().size(), 1U);
        EXPECT_EQ(bench.ctx.violations().front().info().permission, "ui");
        switch (action) {
        case violation_action::fail_call:
            EXPECT_EQ(a.status, host::guest_status::denied);
            ASSERT_TRUE(a.ended);
            EXPECT_EQ(a.ended->kind(), error_kind::violation);
            break;
        case violation_action::record:
            EXPECT_EQ(a.status, host::guest_status::denied);
            EXPECT_FALSE(a.ended);
            break;
        case violation_action::trap:
            ASSERT_TRUE(a.stopped);
            EXPECT_EQ(a.stopped->kind(), error_kind::violation);
            EXPECT_EQ(a.stopped->info().permission, "ui");
            break;
        }
    }
}

TEST(HostFunctionBroker, ABuiltInRefusalStopsTheGuestUnderTrap) {
    host::context ctx{ungranted::spec()};
    ctx.on_violation = violation_action::trap;
    cp::wire_writer w;
    w.put(static_cast<std::uint32_t>(broker::host_call::clock_now));
    w.put(std::int32_t{1});
    const auto answer = cp::answer_host_call(ctx, {}, w.bytes(), 1 << 20);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind(), error_kind::violation);
    EXPECT_EQ(answer.error().info().permission, "clock");
    EXPECT_EQ(ctx.violations().size(), 1U);
}
