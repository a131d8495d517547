// The host API brokered for a child: what it sends when its guest calls a cordon.h function
// that needs the host or a host function the host registered, and the host's answer, grant checked as for wasm.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/host/api.hpp>
#include <cordon/host/bus.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/host/value.hpp>
#include <cordon/process/wire.hpp>
#include <cordon/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cordon::process {

namespace detail::broker {

/// Marks a message in the response area as a host call rather than the call's answer (no
/// error_kind has this value); the host replies in the same area and bumps request_seq.
inline constexpr std::uint32_t host_call_status = 0x48434c4c;  // "HCLL"

/// The host calls a child may make, one per cordon.h function that needs the host, and one
/// for the host functions the host registered (host::function<P>).
enum class host_call : std::uint32_t { log = 1, clock_now, random_fill, config_get, bus_call, bus_emit, host_function };

/// Longest key or target a guest may send, as for wasm guests.
inline constexpr std::uint64_t max_guest_string = 4096;
/// Longest module or name of a host function, and most values one takes or returns: more than
/// any registered function needs, small enough that a message is checked in one pass.
inline constexpr std::uint64_t max_function_name = 256;
inline constexpr std::uint32_t max_host_values = 16;

// A reply: a status (or value) and optional bytes.
inline std::vector<std::byte> reply(std::int64_t status, std::span<const std::byte> bytes = {}) {
    wire_writer w;
    w.put(status);
    w.put_bytes(bytes);
    return std::move(w).bytes();
}

inline std::string_view name_of(host_call call) {
    switch (call) {
    case host_call::log: return "log";
    case host_call::clock_now: return "clock_now";
    case host_call::random_fill: return "random_fill";
    case host_call::config_get: return "config_get";
    case host_call::bus_call: return "bus_call";
    case host_call::bus_emit: return "bus_emit";
    case host_call::host_function: return "host_function";
    }
    return "unknown";
}

// The permission a host call needs, or empty.
inline std::string_view permission_of(host_call call) {
    switch (call) {
    case host_call::clock_now: return "clock";
    case host_call::random_fill: return "random";
    case host_call::bus_call:
    case host_call::bus_emit: return "plugin";
    case host_call::log:
    case host_call::config_get:
    case host_call::host_function: return "";  // each host function names its own
    }
    return "";
}

// Records a call without its grant the way the wasm backends do, a violation naming the
// permission, and answers it as violation_action says: under trap the guest is stopped (the
// error ends the call, the child is killed), else it gets CORDON_ERR_DENIED.
inline result<std::vector<std::byte>> refuse(host::context& ctx, std::string_view permission, std::string_view function) {
    error_info info{std::string(permission) + ": " + std::string(function) + " called without the grant"};
    info.permission = std::string(permission);
    auto recorded = ctx.record_violation(error{error_kind::violation, std::move(info)});
    if (ctx.on_violation == cordon::violation_action::trap) return recorded;
    return reply(host::guest_status::denied);
}

inline result<std::vector<std::byte>> log(host::context& ctx, wire_reader& in) {
    const auto level = in.get<std::int32_t>();
    const auto text = in.get_bytes();
    if (!level || !text) return reply(host::guest_status::invalid);
    const std::string_view message(reinterpret_cast<const char*>(text->data()), text->size());
    // Past the output cap the guest is stopped, as a wasm guest's log traps: cordon_log returns
    // nothing the guest could notice.
    if (auto logged = ctx.log(host::api::guest_log_level(*level), message); !logged) return logged.error();
    return reply(host::guest_status::ok);
}

inline std::vector<std::byte> clock_now(wire_reader& in) {
    const auto id = in.get<std::int32_t>();
    if (!id) return reply(host::guest_status::invalid);
    const auto which = *id == 1 ? host::api::clock_id::monotonic : host::api::clock_id::realtime;
    return reply(static_cast<std::int64_t>(host::api::now_ns(which)));
}

inline std::vector<std::byte> random_fill(wire_reader& in, std::uint64_t capacity) {
    const auto length = in.get<std::uint64_t>();
    if (!length || *length > capacity) return reply(host::guest_status::invalid);
    std::vector<std::byte> bytes(*length);
    if (!host::api::fill_random(bytes)) return reply(host::guest_status::unsupported);
    return reply(host::guest_status::ok, bytes);
}

inline std::vector<std::byte> config_get(host::context& ctx, wire_reader& in) {
    const auto key = in.get_string();
    if (!key || key->size() > max_guest_string) return reply(host::guest_status::invalid);
    const auto value = host::api::find_config(ctx.config, *key);
    if (!value) return reply(host::guest_status::not_found);
    return reply(static_cast<std::int64_t>(value->size()), std::as_bytes(std::span{value->data(), value->size()}));
}

/// A bus call: the target (a name), the input, the most the guest can take back. The answer is
/// the output's length and, when it fits both the guest's buffer and the channel, its bytes.
inline std::vector<std::byte> bus_call(host::context& ctx, wire_reader& in, std::uint64_t room) {
    const auto target = in.get_string();
    const auto input = in.get_bytes();
    const auto capacity = in.get<std::uint64_t>();
    if (!target || target->size() > max_guest_string || !input || !capacity || !in.at_end())
        return reply(host::guest_status::invalid);
    auto out = host::api::bus_call(ctx.bus, *target, *input);
    if (!out) return reply(host::api::bus_status(out.error()));
    const auto length = static_cast<std::int64_t>(std::min<std::size_t>(out->size(), 0x7fff'ffff));
    if (out->size() > *capacity || out->size() > room) return reply(length);
    return reply(length, *out);
}

inline std::vector<std::byte> bus_emit(host::context& ctx, wire_reader& in) {
    const auto topic = in.get_string();
    const auto data = in.get_bytes();
    if (!topic || topic->size() > max_guest_string || !data || !in.at_end()) return reply(host::guest_status::invalid);
    auto sent = host::api::bus_emit(ctx.bus, *topic, *data);
    return reply(sent ? host::guest_status::ok : host::api::bus_status(sent.error()));
}

/// One value on the wire: its type's number (in value_type's order) and its 64 bits.
inline void put_value(wire_writer& w, const value& v) {
    w.put(static_cast<std::uint8_t>(v.type));
    w.put(v.bits);
}
inline std::optional<value_type> get_type(wire_reader& in) {
    const auto tag = in.get<std::uint8_t>();
    if (!tag || *tag > static_cast<std::uint8_t>(value_type::f64)) return std::nullopt;
    return static_cast<value_type>(*tag);
}
inline std::optional<value> get_value(wire_reader& in) {
    const auto type = get_type(in);
    const auto bits = in.get<std::uint64_t>();
    if (!type || !bits) return std::nullopt;
    // The upper half of a 32-bit value is the sender's noise: dropped, so that one value means
    // one thing to the host function whatever the guest left there.
    const bool narrow = *type == value_type::i32 || *type == value_type::f32;
    return value{*type, narrow ? *bits & 0xffffffffU : *bits};
}

/// A call of a registered host function as the guest makes it: which one, its arguments, and
/// the result types it expects back (with the arguments' types, the signature it calls it as).
struct function_call {
    std::string module;
    std::string name;
    std::vector<value> args;
    std::vector<value_type> results;

    [[nodiscard]] host::signature signature() const {
        host::signature sig{{}, results};
        for (const auto& v : args) sig.params.push_back(v.type);
        return sig;
    }
};

inline void encode(wire_writer& w, std::string_view module, std::string_view name, std::span<const value> args,
                   std::span<const value_type> results) {
    w.put_string(module);
    w.put_string(name);
    w.put(static_cast<std::uint32_t>(args.size()));
    for (const auto& v : args) put_value(w, v);
    w.put(static_cast<std::uint32_t>(results.size()));
    for (const auto t : results) w.put(static_cast<std::uint8_t>(t));
}

// Everything the guest sent is bounded before anything is allocated for it.
inline std::optional<std::string> get_name(wire_reader& in) {
    const auto bytes = in.get_bytes();
    if (!bytes || bytes->empty() || bytes->size() > max_function_name) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}
inline std::optional<std::uint32_t> get_count(wire_reader& in) {
    const auto count = in.get<std::uint32_t>();
    if (!count || *count > max_host_values) return std::nullopt;
    return count;
}

inline std::optional<function_call> decode_function_call(wire_reader& in) {
    function_call call;
    auto module = get_name(in);
    auto name = get_name(in);
    const auto arg_count = get_count(in);
    if (!module || !name || !arg_count) return std::nullopt;
    call.module = std::move(*module);
    call.name = std::move(*name);
    for (std::uint32_t i = 0; i < *arg_count; ++i) {
        const auto v = get_value(in);
        if (!v) return std::nullopt;
        call.args.push_back(*v);
    }
    const auto result_count = get_count(in);
    if (!result_count) return std::nullopt;
    for (std::uint32_t i = 0; i < *result_count; ++i) {
        const auto t = get_type(in);
        if (!t) return std::nullopt;
        call.results.push_back(*t);
    }
    if (!in.at_end()) return std::nullopt;
    return call;
}

inline const host::function_entry* find(const host::functions& functions, std::string_view module,
                                        std::string_view name) {
    for (const auto& f : functions)
        if (f.module == module && f.name == name) return &f;
    return nullptr;
}

// A call of a registered host function: found by module and name, its signature checked
// against the guest's, its permission against the grants; it runs with the sandbox's context.
// A guest that asks for what is not there gets a status and its call ends with the error; an
// error from the function itself stops the guest, as in the wasm backends.
inline result<std::vector<std::byte>> host_function(host::context& ctx, const host::functions& functions,
                                                    wire_reader& in) {
    const auto call = decode_function_call(in);
    if (!call) return reply(host::guest_status::invalid);
    const std::string qualified = call->module + "." + call->name;
    const auto* entry = find(functions, call->module, call->name);
    if (entry == nullptr) {
        // Not counted by name: a guest must not grow the host's tally with names of its choosing.
        error_info info{"no host function named " + qualified};
        info.function = qualified;
        ctx.set_pending(error{error_kind::invalid_argument, std::move(info)});
        return reply(host::guest_status::not_found);
    }
    ctx.count_host_call(entry->name);
    if (const auto wanted = call->signature(); wanted != entry->sig) {
        ctx.set_pending(signature_mismatch(qualified, host::to_string(entry->sig), host::to_string(wanted), "host function"));
        return reply(host::guest_status::invalid);
    }
    if (!entry->permission.empty() && !ctx.policy().check(entry->permission))
        return refuse(ctx, entry->permission, qualified);
    std::array<value, max_host_values> out{};
    for (std::size_t i = 0; i < call->results.size(); ++i) out[i].type = call->results[i];
    const auto results = std::span{out}.first(call->results.size());
    if (auto ran = entry->call(ctx, call->args, results); !ran) return ran.error();
    wire_writer answer;
    // Typed as the signature says, whatever the function's callable left in the slot.
    for (std::size_t i = 0; i < results.size(); ++i) put_value(answer, value{call->results[i], results[i].bits});
    return reply(host::guest_status::ok, answer.bytes());
}

} // namespace detail::broker

/// Answers one host call from a child: the grant is checked against the context's runtime
/// policy, the call is counted, and the reply fits `capacity` bytes. Malformed messages get
/// CORDON_ERR_INVALID, never an exception or a crash. `functions` are the host functions
/// registered with the sandbox. An error means the guest must stop (its output passed the cap,
/// a refusal under violation_action::trap, a host function's error): the call ends with it.
inline result<std::vector<std::byte>> answer_host_call(host::context& ctx, const host::functions& functions,
                                                       std::span<const std::byte> message, std::uint64_t capacity) {
    namespace b = detail::broker;
    wire_reader in{message};
    const auto id = in.get<std::uint32_t>();
    if (!id || *id < static_cast<std::uint32_t>(b::host_call::log) ||
        *id > static_cast<std::uint32_t>(b::host_call::host_function))
        return b::reply(host::guest_status::invalid);
    const auto call = static_cast<b::host_call>(*id);
    if (call == b::host_call::host_function) {
        auto answer = b::host_function(ctx, functions, in);
        if (answer && answer->size() > capacity) return b::reply(host::guest_status::limit);
        return answer;
    }
    ctx.count_host_call(b::name_of(call));
    if (const auto permission = b::permission_of(call); !permission.empty() && !ctx.policy().check(permission))
        return b::refuse(ctx, permission, "cordon." + std::string(b::name_of(call)));
    // Room for the reply's own status and length.
    const std::uint64_t room = capacity > 64 ? capacity - 64 : 0;
    switch (call) {
    case b::host_call::log: return b::log(ctx, in);
    case b::host_call::clock_now: return b::clock_now(in);
    case b::host_call::random_fill: return b::random_fill(in, room);
    case b::host_call::config_get: {
        auto answer = b::config_get(ctx, in);
        return answer.size() <= capacity ? answer : b::reply(host::guest_status::limit);
    }
    case b::host_call::bus_call: return b::bus_call(ctx, in, room);
    case b::host_call::bus_emit: return b::bus_emit(ctx, in);
    case b::host_call::host_function: break;  // answered above
    }
    return b::reply(host::guest_status::invalid);
}

} // namespace cordon::process
