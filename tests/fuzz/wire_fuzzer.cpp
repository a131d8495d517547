// Fuzzes the process backend's wire decoders in every direction: what the host reads from a
// child or the zygote, and what the zygote and a child read from the host. No process is forked.
#include "fuzz_support.hpp"

#include <cordon/process/broker.hpp>
#include <cordon/process/confinement_wire.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/process/seccomp.hpp>
#include <cordon/process/outcome.hpp>
#include <cordon/process/child_server.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/host/function.hpp>
#include <cordon/policy/policy.hpp>

#include <dlfcn.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using cordon::fuzz::require;
namespace cp = cordon::process;
namespace protocol = cordon::process::detail::protocol;

std::span<const std::byte> as_bytes(std::span<const std::uint8_t> bytes) { return std::as_bytes(bytes); }

// ---- host <- zygote, zygote <- host -------------------------------------------------------------

void spawn_request(std::span<const std::byte> bytes) {  // the zygote reads the host's request
    const auto message = protocol::decode_spawn(bytes);
    if (!message) return;
    const auto encoded = protocol::encode_spawn(message->setup, message->payload);
    const auto again = protocol::decode_spawn(encoded);
    require(again.has_value(), "a decoded spawn request re-encodes to one that decodes");
    require(protocol::encode_spawn(again->setup, again->payload) == encoded, "spawn requests round-trip");
}

void confinement_message(std::span<const std::byte> bytes) {
    const auto setup = cp::decode_confinement(bytes);
    if (!setup) return;
    const auto encoded = cp::encode(*setup);
    const auto again = cp::decode_confinement(encoded);
    require(again.has_value() && cp::encode(*again) == encoded, "confinements round-trip");
}

void spawn_reply(std::span<const std::byte> bytes) {  // the host reads the zygote's reply
    const auto reply = protocol::decode_reply(bytes);
    if (!reply) return;
    const auto again = protocol::decode_reply(protocol::encode_reply(*reply));
    require(again.has_value() && again->ok == reply->ok && again->error == reply->error && again->pid == reply->pid,
            "spawn replies round-trip");
}

// ---- host <- child ------------------------------------------------------------------------------

void control_message(std::span<const std::byte> bytes) {
    cp::received_message message;
    message.bytes.assign(bytes.begin(), bytes.end());
    message.ok = true;
    cp::child_reports reports;
    int listeners = 0;
    (void)cp::read_control_message(message, reports, [&](cp::unique_fd) { ++listeners; });
    require(listeners == 0, "no listener is handed over without a descriptor");
    if (reports.setup_error) {
        const auto kind = reports.setup_error->kind();
        require(kind == cordon::error_kind::load_error || kind == cordon::error_kind::unsupported ||
                    kind == cordon::error_kind::invalid_argument || kind == cordon::error_kind::internal,
                "a child's set-up error has a kind set-up can produce");
        require(reports.setup_error->message().size() <= 4096, "a child's set-up error is capped");
    }
}

// The host functions a fuzzed child may call: every value type, a permission, an error.
const cordon::host::functions& fuzz_functions() {
    static const cordon::host::functions functions = [] {
        cordon::host::functions f;
        f.push_back(cordon::host::function(
            "mix", [](std::int32_t a, std::int64_t b) { return std::int64_t{a} * 100 + b; }, "app"));
        f.push_back(cordon::host::function("scale", [](double x, float by) { return x * by; }, "app"));
        f.push_back(cordon::host::function<cordon::perm::clock>("tick", [] { return std::int32_t{1}; }, "app"));
        f.push_back(cordon::host::function(
            "fail", []() -> cordon::result<void> { return cordon::fail(cordon::error_kind::trap, "refused"); }, "app"));
        return f;
    }();
    return functions;
}

// The bus a fuzzed child may reach: "echo" answers its input, anything else is unknown.
struct fuzz_bus : cordon::host::bus {
    cordon::result<std::vector<std::byte>> call(std::string_view target, std::span<const std::byte> input) override {
        if (target != "echo") return cordon::fail(cordon::error_kind::invalid_argument, "no such plugin");
        return std::vector<std::byte>(input.begin(), input.end());
    }
    cordon::result<void> emit(std::string_view topic, std::span<const std::byte>) override {
        if (topic.empty()) return cordon::fail(cordon::error_kind::invalid_argument, "empty topic");
        return {};
    }
};

void host_call(cordon::fuzz::input& in) {  // the host answers a child's host call
    using guest_policy = cordon::policy<cordon::isolation::standard>;
    cordon::host::context ctx{guest_policy::spec()};
    const auto settings = in.take<std::uint8_t>();
    if (settings & 1u) (void)ctx.policy().grant("random");
    if (settings & 2u) (void)ctx.policy().grant("clock");
    fuzz_bus bus;
    if (settings & 0x80u) {
        (void)ctx.policy().grant("plugin");
        ctx.bus = &bus;
    }
    ctx.on_violation = static_cast<cordon::violation_action>((settings >> 2) % 3);
    ctx.config["greeting"] = "hello";
    const std::uint64_t capacity = in.take<std::uint32_t>() % (std::uint64_t{1} << 20);
    const auto message = as_bytes(in.rest());
    ctx.begin_call();
    const auto answer = cp::answer_host_call(ctx, fuzz_functions(), message, capacity);
    const auto ended = ctx.end_call({});
    // What the broker decodes a host function call as, to hold its answer to it.
    namespace b = cp::detail::broker;
    cp::wire_reader head{message};
    const auto id = head.get<std::uint32_t>();
    std::optional<b::function_call> call;
    if (id == static_cast<std::uint32_t>(b::host_call::call_host)) call = b::decode_function_call(head);
    const auto* entry = call ? b::find(fuzz_functions(), call->module, call->name) : nullptr;
    if (!answer) {
        require(entry != nullptr || id == static_cast<std::uint32_t>(b::host_call::log) ||
                    ctx.on_violation == cordon::violation_action::trap,
                "only a host function's error, a log past the cap or a refusal under trap stops the guest");
        return;
    }
    // What the guest's side makes of the answer (guest_table's reading of it).
    cp::wire_reader reply{*answer};
    const auto status = reply.get<std::int64_t>();
    const auto payload = reply.get_bytes();
    require(status.has_value() && payload.has_value() && reply.at_end(), "the host's answer is well formed");
    if (*status == cordon::host::guest_status::ok && !payload->empty())
        require(payload->size() <= capacity, "the host's answer fits the channel");
    // A channel too small for any answer gets this one, whatever the call was.
    if (!call || *status == cordon::host::guest_status::limit) return;
    if (entry == nullptr) {
        require(*status == cordon::host::guest_status::not_found, "an unknown host function is not found");
        require(!ended && ended.error().kind() == cordon::error_kind::invalid_argument,
                "an unknown host function ends the call with an error");
    } else if (call->signature() != entry->sig) {
        require(*status == cordon::host::guest_status::invalid, "another signature is refused");
        require(!ended, "another signature ends the call with an error");
    } else if (*status == cordon::host::guest_status::ok) {
        require(entry->permission.empty() || ctx.policy().check(entry->permission).has_value(), "a refused function never runs");
        cp::wire_reader results{*payload};
        for (const auto type : entry->sig.results) {
            const auto v = b::get_value(results);
            require(v.has_value() && v->type == type, "a result has the function's type");
        }
        require(results.at_end(), "a host function answers its results only");
    } else if (*status == cordon::host::guest_status::denied) {
        require(!entry->permission.empty(), "only a guarded function is denied");
        require(ctx.on_violation != cordon::violation_action::trap, "under trap a refusal stops the guest");
        require(ctx.violations().size() == 1, "a refusal is recorded once");
    }
}

bool give_bool() { return true; }
std::string give_string() { return {}; }
std::vector<std::byte> give_bytes() { return {}; }
double give_double() { return 0; }
cordon::error_kind give_kind() { return cordon::error_kind::trap; }
std::uint16_t give_port() { return 0; }
void give_nothing() {}

template <auto F> void typed_result(std::span<const std::byte> bytes) {
    auto decoded = cp::sandboxed<F>::decode_result(bytes);
    if (decoded) {
        using value_type = typename cp::sandboxed<F>::result_type;
        if constexpr (std::is_same_v<value_type, bool>) {
            // Reading the value is what a host does next; UBSan objects if it is no bool at all.
            const bool value = *decoded;
            require(value || !value, "a decoded bool is a bool");
        }
    } else {
        require(decoded.error().kind() == cordon::error_kind::trap, "a malformed result is a trap");
    }
}

void child_result(std::uint8_t which, std::span<const std::byte> bytes) {  // the host reads a call's result
    switch (which % 7) {
    case 0: typed_result<&give_bool>(bytes); break;
    case 1: typed_result<&give_string>(bytes); break;
    case 2: typed_result<&give_bytes>(bytes); break;
    case 3: typed_result<&give_double>(bytes); break;
    case 4: typed_result<&give_kind>(bytes); break;
    case 5: typed_result<&give_port>(bytes); break;
    default: typed_result<&give_nothing>(bytes); break;
    }
}

// ---- child <- host ------------------------------------------------------------------------------

std::uint64_t take_all(std::string text, std::int32_t number, bool flag, std::vector<std::byte> bytes) {
    return text.size() + bytes.size() + static_cast<std::uint64_t>(number) + (flag ? 1u : 0u);
}
std::string echo(std::string text) { return text; }
void take_kind(cordon::error_kind) {}

template <auto F> void call_arguments(std::span<const std::byte> bytes, std::size_t capacity) {
    // The child's response area: mapped memory even when the capacity left is 0.
    std::vector<std::byte> out(capacity + 1);
    std::uint64_t out_size = 0;
    const std::uint32_t status = cp::detail::functions::trampoline<F>(bytes.data(), bytes.size(), out.data(),
                                                                     capacity, &out_size);
    require(out_size <= capacity, "a call's answer fits its buffer");
    if (status != 0)
        require(status == static_cast<std::uint32_t>(cordon::error_kind::invalid_argument) ||
                    status == static_cast<std::uint32_t>(cordon::error_kind::output_limit),
                "a malformed call is refused as such");
}

void plugin_request(std::span<const std::byte> bytes) {  // a plugin child reads which export to call
    static void* self = ::dlopen(nullptr, RTLD_NOW);
    const cp::detail::entry_resolver resolver{self};
    std::span<const std::byte> request = bytes;
    std::string name, failure;
    void* entry = resolver.resolve(0, request, name, failure);
    require(entry != nullptr || !failure.empty(), "an unresolved request says why");
    require(request.size() <= bytes.size(), "the request's arguments lie inside it");
}

} // namespace

// Input: a selector byte, then the message (some decoders take a few settings first).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cordon::fuzz::input in{data, size};
    const auto selector = in.take<std::uint8_t>();
    switch (selector % 8) {
    case 0: spawn_request(as_bytes(in.rest())); break;
    case 1: confinement_message(as_bytes(in.rest())); break;
    case 2: spawn_reply(as_bytes(in.rest())); break;
    case 3: control_message(as_bytes(in.rest())); break;
    case 4: host_call(in); break;
    case 5: {
        const auto which = in.take<std::uint8_t>();
        child_result(which, as_bytes(in.rest()));
        break;
    }
    case 6: {
        const auto which = in.take<std::uint8_t>();
        const std::size_t capacity = in.take<std::uint16_t>();
        const auto bytes = as_bytes(in.rest());
        if (which % 3 == 0) call_arguments<&take_all>(bytes, capacity);
        else if (which % 3 == 1) call_arguments<&echo>(bytes, capacity);
        else call_arguments<&take_kind>(bytes, capacity);
        break;
    }
    default: plugin_request(as_bytes(in.rest())); break;
    }
    return 0;
}
