// The host API brokered for native plugins: what a child sends when its plugin calls a
// cordon.h function that needs the host, and the host's answer, grant checked as for wasm.
#pragma once

#include <cordon/host/api.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/process/wire.hpp>
#include <cordon/result.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cordon::process {

namespace detail::broker {

/// Marks a message in the response area as a host call rather than the call's answer (no
/// error_kind has this value); the host replies in the same area and bumps request_seq.
inline constexpr std::uint32_t host_call_status = 0x48434c4c;  // "HCLL"

/// The host calls a child may make, one per cordon.h function that needs the host.
enum class host_call : std::uint32_t { log = 1, clock_now, random_fill, config_get, bus_call, bus_emit };

/// Longest key or target a guest may send, as for wasm guests.
inline constexpr std::uint64_t max_guest_string = 4096;

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
    case host_call::config_get: return "";
    }
    return "";
}

// Records a call without its grant the way the wasm backends do: the guest gets
// CORDON_ERR_DENIED, the context a violation naming the permission.
inline std::vector<std::byte> refuse(host::context& ctx, host_call call, std::string_view permission) {
    error_info info{std::string(permission) + ": cordon." + std::string(name_of(call)) + " called without the grant"};
    info.permission = std::string(permission);
    ctx.record_violation(error{error_kind::violation, std::move(info)});
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

} // namespace detail::broker

/// Answers one host call from a child: the grant is checked against the context's runtime
/// policy, the call is counted, and the reply fits `capacity` bytes. Malformed messages get
/// CORDON_ERR_INVALID, never an exception or a crash. An error means the guest must stop (its
/// output passed the cap): the call ends with it.
inline result<std::vector<std::byte>> answer_host_call(host::context& ctx, std::span<const std::byte> message,
                                               std::uint64_t capacity) {
    namespace b = detail::broker;
    wire_reader in{message};
    const auto id = in.get<std::uint32_t>();
    if (!id || *id < static_cast<std::uint32_t>(b::host_call::log) ||
        *id > static_cast<std::uint32_t>(b::host_call::bus_emit))
        return b::reply(host::guest_status::invalid);
    const auto call = static_cast<b::host_call>(*id);
    ctx.count_host_call(b::name_of(call));
    if (const auto permission = b::permission_of(call); !permission.empty() && !ctx.policy().check(permission))
        return b::refuse(ctx, call, permission);
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
    // The process backend has no plugin bus to hand these to.
    case b::host_call::bus_call:
    case b::host_call::bus_emit: return b::reply(host::guest_status::unsupported);
    }
    return b::reply(host::guest_status::invalid);
}

} // namespace cordon::process
