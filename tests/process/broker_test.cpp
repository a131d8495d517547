// The host API brokered for native plugins: a plugin built from the wasm suite's C guest gets
// the same answers as the wasm build of it, calls outside the grant are refused and recorded,
// and hostile or malformed host calls end as errors, never as a crash or a hang.
#include <cordon/process/backend.hpp>
#include <cordon/process/broker.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/sandbox.hpp>
#ifdef CORDON_TEST_GUEST_WASM
#include <cordon/wasm.hpp>
#endif

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace {
using namespace cordon;
using ::testing::HasSubstr;
namespace cp = cordon::process;

using guest_policy = policy<isolation::strict>;  // clock and random may be granted, none is

std::string text_of(const std::vector<std::byte>& bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

sandbox_options options_with(std::vector<std::string> grants) {
    sandbox_options options;
    options.grants = std::move(grants);
    options.config["greeting"] = "hi there";
    return options;
}

// What one run of the guest's exports shows from outside: answers, errors, logs, telemetry.
struct observed {
    std::string config_echo;
    std::string logs;
    std::string random_status;  // "ok" or the error
    std::string clock_ok;
    std::uint64_t config_get_calls = 0;
    std::uint64_t log_calls = 0;
    std::vector<std::string> violation_permissions;
};

std::string outcome_of(const result<std::vector<std::byte>>& r) {
    if (r) return "ok:" + text_of(*r);
    return std::string(to_string(r.error().kind())) + ":" + r.error().message();
}

template <class Box> observed observe(Box& box) {
    observed seen;
    auto echoed = box.call_bytes("config_echo", {});
    seen.config_echo = outcome_of(echoed);
    const auto calls = box.telemetry().last_call.host_calls_by_name;
    if (auto it = calls.find("config_get"); it != calls.end()) seen.config_get_calls = it->second;
    if (auto it = calls.find("log"); it != calls.end()) seen.log_calls = it->second;
    seen.logs = box.take_logs();
    seen.random_status = outcome_of(box.call_bytes("random_status", {}));
    seen.clock_ok = outcome_of(box.call_bytes("clock_ok", {}));
    for (const auto& v : box.violations()) seen.violation_permissions.push_back(v.info().permission.value_or("?"));
    return seen;
}

observed observe_native(std::vector<std::string> grants) {
    sandbox<process::backend, guest_policy> box{process::native_plugin{CORDON_TEST_GUEST_PLUGIN}, options_with(std::move(grants))};
    EXPECT_TRUE(box.ok()) << box.status().error().message();
    if (!box.ok()) return {};
    return observe(box);
}

} // namespace

TEST(Broker, TheWasmGuestsCSourceRunsNatively) {
    const auto seen = observe_native({"clock", "random"});
    EXPECT_EQ(seen.config_echo, "ok:hi there");
    EXPECT_EQ(seen.logs, "info: hi there\n");
    EXPECT_EQ(seen.config_get_calls, 1U);
    EXPECT_EQ(seen.log_calls, 1U);
    EXPECT_EQ(seen.random_status, "ok:");
    // clock_ok answers 1 ("the clock moved"), a failed call in the bytes convention.
    EXPECT_THAT(seen.clock_ok, HasSubstr("export clock_ok returned status 1"));
    EXPECT_TRUE(seen.violation_permissions.empty());
}

TEST(Broker, CallsWithoutTheGrantAreRefusedAndRecorded) {
    const auto seen = observe_native({});
    EXPECT_EQ(seen.config_echo, "ok:hi there");  // config needs no permission
    // The guest got CORDON_ERR_DENIED and returned it: the call failed with that status.
    EXPECT_THAT(seen.random_status, HasSubstr("returned status -1"));
    // clock_ok turned the refusal into 0, a successful return: the violation still ends the call.
    EXPECT_THAT(seen.clock_ok, HasSubstr("violation:clock: cordon.clock_now called without the grant"));
    EXPECT_EQ(seen.violation_permissions, (std::vector<std::string>{"random", "clock"}));
}

#ifdef CORDON_TEST_GUEST_WASM
TEST(Broker, NativeAndWasmBuildsOfOneSourceAgree) {
    for (const auto& grants : {std::vector<std::string>{"clock", "random"}, std::vector<std::string>{}}) {
        auto module = wasm::module::from_file(CORDON_TEST_GUEST_WASM);
        ASSERT_TRUE(module) << module.error().message();
        sandbox<wasm::interpreter, guest_policy> wasm_box{*module, options_with(grants)};
        ASSERT_TRUE(wasm_box.ok()) << wasm_box.status().error().message();
        const auto in_wasm = observe(wasm_box);
        const auto native = observe_native(grants);
        EXPECT_EQ(native.config_echo, in_wasm.config_echo);
        EXPECT_EQ(native.logs, in_wasm.logs);
        EXPECT_EQ(native.config_get_calls, in_wasm.config_get_calls);
        EXPECT_EQ(native.log_calls, in_wasm.log_calls);
        EXPECT_EQ(native.random_status, in_wasm.random_status);
        EXPECT_EQ(native.clock_ok, in_wasm.clock_ok);
        EXPECT_EQ(native.violation_permissions, in_wasm.violation_permissions);
    }
}
#endif

TEST(Broker, AGrantGivenLaterReachesTheRunningPlugin) {
    sandbox<process::backend, guest_policy> box{process::native_plugin{CORDON_TEST_GUEST_PLUGIN}, options_with({})};
    ASSERT_TRUE(box.ok());
    EXPECT_FALSE(box.call_bytes("random_status", {}));
    ASSERT_TRUE(box.grant(perm::random{}));
    EXPECT_TRUE(box.call_bytes("random_status", {}));
}

TEST(Broker, MalformedHostCallsAreAnsweredInvalid) {
    host::context ctx{guest_policy::spec()};
    ctx.config["k"] = std::string(100, 'v');
    const host::functions none;
    const auto status_of = [&](std::vector<std::byte> message, std::uint64_t capacity = 1 << 20) {
        const auto answer = cp::answer_host_call(ctx, none, message, capacity);
        if (!answer) return std::int64_t{12345};
        cp::wire_reader in{*answer};
        return in.get<std::int64_t>().value_or(12345);
    };
    EXPECT_EQ(status_of({}), -3);
    cp::wire_writer unknown;
    unknown.put(std::uint32_t{999});
    EXPECT_EQ(status_of(unknown.bytes()), -3);
    cp::wire_writer truncated;
    truncated.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::config_get));
    truncated.put(std::uint64_t{1} << 40);  // a key length far past the message
    EXPECT_EQ(status_of(truncated.bytes()), -3);
    cp::wire_writer huge_random;
    huge_random.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::random_fill));
    huge_random.put(std::uint64_t{1} << 40);  // the host never allocates what a guest names
    EXPECT_EQ(status_of(huge_random.bytes()), -1) << "random is not granted: refused before anything else";
    ASSERT_TRUE(ctx.policy().grant("random"));
    const auto random = cp::answer_host_call(ctx, none, huge_random.bytes(), 4096);
    ASSERT_TRUE(random);
    EXPECT_LE(random->size(), 4096U) << "filled only as far as the channel holds";
    cp::wire_writer config;
    config.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::config_get));
    config.put_string("k");
    EXPECT_EQ(status_of(config.bytes()), -3) << "no capacity for the answer: malformed";
    config.put(std::uint64_t{200});
    EXPECT_EQ(status_of(config.bytes()), 100);
    const auto cut = cp::answer_host_call(ctx, none, config.bytes(), 64);
    ASSERT_TRUE(cut);
    cp::wire_reader in{*cut};
    EXPECT_EQ(in.get<std::int64_t>(), 100);
    EXPECT_EQ(in.get_bytes()->size(), 0U) << "a value larger than the channel: its length alone";
    config.put(std::uint8_t{0});
    EXPECT_EQ(status_of(config.bytes()), -3) << "trailing bytes: malformed";
}

// Bus messages are bounded like every other: a target past the string limit, lying lengths and
// trailing bytes are invalid; without a bus the answer is unsupported; an answer larger than
// the guest's buffer is its length alone.
TEST(Broker, BusMessagesAreBoundedAndReachTheAttachedBus) {
    using big_policy = policy<isolation::standard, allow<perm::plugin>>;
    host::context ctx{big_policy::spec()};
    const host::functions none;
    struct echo_bus : host::bus {
        int calls = 0;
        std::vector<std::string> events;
        result<std::vector<std::byte>> call(std::string_view target, std::span<const std::byte> input) override {
            ++calls;
            if (target != "echo") return fail(error_kind::invalid_argument, "no plugin " + std::string(target));
            return std::vector<std::byte>(input.begin(), input.end());
        }
        result<void> emit(std::string_view topic, std::span<const std::byte>) override {
            events.emplace_back(topic);
            return {};
        }
    } bus;
    const auto answer_of = [&](const cp::wire_writer& w, std::uint64_t capacity = 1 << 20) {
        const auto answer = cp::answer_host_call(ctx, none, w.bytes(), capacity);
        EXPECT_TRUE(answer);
        cp::wire_reader in{*answer};
        const auto status = in.get<std::int64_t>().value_or(12345);
        const auto bytes = in.get_bytes();
        return std::pair{status, bytes ? text_of(std::vector<std::byte>(bytes->begin(), bytes->end())) : std::string("?")};
    };
    const auto bus_call = [](std::string_view target, std::string_view input, std::uint64_t room) {
        cp::wire_writer w;
        w.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::bus_call));
        w.put_string(target);
        w.put_string(input);
        w.put(room);
        return w;
    };
    EXPECT_EQ(answer_of(bus_call("echo", "hi", 16)).first, -6) << "no bus attached: unsupported";
    ctx.bus = &bus;
    EXPECT_EQ(answer_of(bus_call("echo", "hi", 16)), (std::pair{std::int64_t{2}, std::string("hi")}));
    EXPECT_EQ(answer_of(bus_call("echo", "hello", 3)), (std::pair{std::int64_t{5}, std::string("")}))
        << "too large for the guest's buffer: the length alone";
    EXPECT_EQ(answer_of(bus_call("echo", std::string(200, 'x'), 1 << 20), 128).first, 200)
        << "too large for the channel: the length alone";
    EXPECT_EQ(answer_of(bus_call("nobody", "hi", 16)).first, -2) << "an unknown target is not found";
    EXPECT_EQ(answer_of(bus_call(std::string(5000, 't'), "hi", 16)).first, -3);
    cp::wire_writer trailing = bus_call("echo", "hi", 16);
    trailing.put(std::uint8_t{1});
    EXPECT_EQ(answer_of(trailing).first, -3);
    cp::wire_writer lying;
    lying.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::bus_call));
    lying.put_string("echo");
    lying.put(std::uint64_t{1} << 40);  // an input length far past the message
    EXPECT_EQ(answer_of(lying).first, -3);
    cp::wire_writer emit;
    emit.put(static_cast<std::uint32_t>(cp::detail::broker::host_call::bus_emit));
    emit.put_string("seen");
    emit.put_string("data");
    EXPECT_EQ(answer_of(emit).first, 0);
    EXPECT_EQ(bus.events, std::vector<std::string>{"seen"});
    const int calls_before = bus.calls;
    ASSERT_TRUE(ctx.policy().revoke("plugin"));
    EXPECT_EQ(answer_of(bus_call("echo", "hi", 16)).first, -1) << "without the grant: refused before the bus";
    EXPECT_EQ(bus.calls, calls_before);
}

namespace {
cp::channel_header* channel_of(pid_t pid) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    std::int64_t address = 0;
    while (std::getline(maps, line))
        if (line.find("memfd:cordon-channel") != std::string::npos) address = std::stoll(line, nullptr, 16);
    return reinterpret_cast<cp::channel_header*>(address);
}
// A hostile guest that writes a host call by hand, claiming more bytes than the channel has.
std::int32_t oversized_host_call(std::int64_t header_address) {
    auto* header = reinterpret_cast<cp::channel_header*>(header_address);
    header->response_size = std::uint64_t{1} << 40;
    header->response_status = cp::detail::broker::host_call_status;
    cp::publish(header->response_seq);
    // Waits on a futex, which the filter allows (pause is not: a SIGSYS here would race the
    // host's verdict and end the call as a violation instead).
    std::atomic<std::uint32_t> never{0};
    for (;;) cp::detail::futex(&never, FUTEX_WAIT, 0, nullptr);
}
// One that floods the host with host calls it never stops making.
std::int32_t endless_host_calls(std::int64_t header_address) {
    auto* header = reinterpret_cast<cp::channel_header*>(header_address);
    for (;;) {
        const auto seen = header->request_seq.load();
        header->response_size = 0;
        header->response_status = cp::detail::broker::host_call_status;
        cp::publish(header->response_seq);
        cp::detail::wait_for_request(header->request_seq, seen);
    }
}
} // namespace

TEST(Broker, AHostCallPastTheChannelKillsTheChild) {
    auto child = cp::persistent_child::start(
        cp::make_confinement(cp::isolation_level::strict, {}, {}, cp::payload_kind::function), {});
    ASSERT_TRUE(child) << child.error().message();
    const auto address = reinterpret_cast<std::int64_t>(channel_of(child->pid()));
    ASSERT_NE(address, 0);
    using fn = cp::sandboxed<&oversized_host_call>;
    auto answer = child->call(fn::entry(), fn::encode_arguments(address));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind(), error_kind::trap);
    EXPECT_FALSE(child->alive());
}

TEST(Broker, EndlessHostCallsStillMeetTheWallLimit) {
    cp::resource_limits limits;
    limits.wall_time_ms = 200;
    auto child = cp::persistent_child::start(
        cp::make_confinement(cp::isolation_level::strict, {}, limits, cp::payload_kind::function), {});
    ASSERT_TRUE(child) << child.error().message();
    const auto address = reinterpret_cast<std::int64_t>(channel_of(child->pid()));
    using fn = cp::sandboxed<&endless_host_calls>;
    auto answer = child->call(fn::entry(), fn::encode_arguments(address));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().kind(), error_kind::timeout);
}

// Both ends come from the host API table: every function the host answers has the broker's
// answer and a wasm import with the table's name and permission; the ones the call's holder or
// the file table answer are wasm imports the broker does not answer; call_host is the broker's alone.
TEST(Broker, TheHostApiTableDrivesTheBrokerAndTheWasmImports) {
    namespace api = host::api;
    host::context ctx{guest_policy::spec()};
    const host::functions none;
#ifdef CORDON_TEST_GUEST_WASM
    const auto& imports = wasm::cordon_host_api();
    const auto import_of = [&](std::string_view name) -> const wasm::host_function* {
        for (const auto& f : imports)
            if (f.name == name) return &f;
        return nullptr;
    };
    EXPECT_EQ(imports.size(), static_cast<std::size_t>(std::count_if(std::begin(api::functions), std::end(api::functions),
                                                                      api::imported_by_wasm)));
#endif
    for (const auto& e : api::functions) {
        SCOPED_TRACE(std::string(e.name));
        EXPECT_EQ(api::find(static_cast<std::uint32_t>(e.id)), &e);
        const bool answered = cp::detail::broker::answers[static_cast<std::size_t>(e.id) - 1] != nullptr;
        EXPECT_EQ(answered, e.served_by == api::server::host);
        if (e.served_by != api::server::host && e.served_by != api::server::registered) {
            cp::wire_writer w;
            w.put(static_cast<std::uint32_t>(e.id));
            const auto answer = cp::answer_host_call(ctx, none, w.bytes(), 1 << 16);
            ASSERT_TRUE(answer);
            cp::wire_reader in{*answer};
            EXPECT_EQ(in.get<std::int64_t>(), host::guest_status::unsupported) << "the child answers these itself, or none";
        }
#ifdef CORDON_TEST_GUEST_WASM
        const auto* f = import_of(e.name);
        if (!api::imported_by_wasm(e)) {
            EXPECT_EQ(f, nullptr);
            continue;
        }
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->permission.value_or(""), api::permission_name(e));
#endif
    }
    EXPECT_EQ(api::find(0), nullptr);
    EXPECT_EQ(api::find(static_cast<std::uint32_t>(std::size(api::functions)) + 1), nullptr);
}
