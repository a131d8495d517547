// The child's side of the brokered host API: the cordon.h function table handed to a native
// plugin. It answers input and output itself and forwards what the host answers over the channel,
// each function's parameters as the host API table's entry takes them (cordon/host/api.hpp).
#pragma once

#include <cordon/guest/host_table.h>
#include <cordon/host/api.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/host/value.hpp>
#include <cordon/process/broker.hpp>
#include <cordon/process/channel.hpp>
#include <cordon/process/wire.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cordon::process::detail::guest {

static_assert(CORDON_I32 == static_cast<int>(value_type::i32) && CORDON_I64 == static_cast<int>(value_type::i64) &&
                  CORDON_F32 == static_cast<int>(value_type::f32) && CORDON_F64 == static_cast<int>(value_type::f64),
              "cordon_value_type numbers the types as cordon::value_type does");

/// The call the child is serving, as the table's functions see it. Plugin threads may call
/// the table too: the mutex keeps their host calls from interleaving on the channel.
struct call_state {
    const channel* ch = nullptr;
    std::span<const std::byte> input{};
    std::vector<std::byte> output{};
    std::uint64_t output_cap = 0;    // the smaller of the channel and the output_bytes limit
    bool active = false;             // between the start and the end of a call
    bool output_overflow = false;
    std::mutex mutex;
};

inline call_state& current() {
    static call_state state;
    return state;
}

// One host call: the message goes in the response area, marked as a host call; the host's
// reply comes back in the same area once it bumps request_seq. Nothing when no call is active.
inline std::optional<std::vector<std::byte>> round_trip(const std::vector<std::byte>& message) {
    auto& state = current();
    if (!state.active || message.size() > state.ch->capacity()) return std::nullopt;
    auto& header = state.ch->header();
    const auto area = state.ch->response_area();
    const auto seen = header.request_seq.load(std::memory_order_acquire);
    copy_bytes(area.data(), message.data(), message.size());
    header.response_size = message.size();
    header.response_status = broker::host_call_status;
    publish(header.response_seq);
    wait_for_request(header.request_seq, seen);
    const auto size = std::min<std::uint64_t>(header.response_size, state.ch->capacity());
    return std::vector<std::byte>(area.begin(), area.begin() + static_cast<std::ptrdiff_t>(size));
}

// A host call answered with a status and bytes; `bytes` may be null when none are wanted.
inline std::int64_t ask(const wire_writer& message, std::vector<std::byte>* bytes = nullptr) {
    std::lock_guard lock{current().mutex};
    const auto answer = round_trip(message.bytes());
    if (!answer) return host::guest_status::unsupported;
    wire_reader in{*answer};
    const auto status = in.get<std::int64_t>();
    const auto payload = in.get_bytes();
    if (!status || !payload) return host::guest_status::invalid;
    if (bytes != nullptr) bytes->assign(payload->begin(), payload->end());
    return *status;
}

/// Marks the call of a function payload (or an entry_point plugin) as active while it runs, so
/// that the host functions it calls reach the host.
class serving {
public:
    explicit serving(const channel& ch) {
        std::lock_guard lock{current().mutex};
        current().ch = &ch;
        current().input = {};
        current().active = true;
    }
    serving(const serving&) = delete;
    serving& operator=(const serving&) = delete;
    ~serving() {
        std::lock_guard lock{current().mutex};
        current().active = false;
    }
};

inline wire_writer request(broker::host_call call) {
    wire_writer w;
    w.put(static_cast<std::uint32_t>(call));
    return w;
}

inline std::int32_t narrow(std::int64_t status) { return static_cast<std::int32_t>(status); }

template <class A>
using kind_of = std::conditional_t<std::is_same_v<std::remove_cvref_t<A>, host::api::out_buffer>, host::api::out_buffer&,
                                   std::remove_cvref_t<A>>;

/// Sends a call of F, which the host answers, with its parameters as the host API table's entry
/// takes them; the answer's status, and its bytes into the out_buffer among the parameters when
/// they fit there.
template <host::api::fn F, class... Args> std::int64_t forward(Args&&... args) {
    static_assert(std::is_invocable_v<decltype(host::api::host_work<F>::run), const host::policy_view&, kind_of<Args>...>,
                  "the parameters F takes, in its order");
    auto w = request(F);
    (broker::wire_param<kind_of<Args>>::put(w, args), ...);
    std::vector<std::byte> answer;
    const auto status = ask(w, &answer);
    auto deliver = [&](auto& arg) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(arg)>, host::api::out_buffer>)
            if (!answer.empty()) (void)arg.put(answer);
    };
    (deliver(args), ...);
    return status;
}

/// A length as an answer (config_get, bus_call): above the capacity, "buffer too small, nothing
/// written"; within it but not all delivered (past the channel), a limit.
inline std::int32_t length_answer(std::int64_t status, const host::api::out_buffer& out) {
    if (status >= 0 && static_cast<std::uint64_t>(status) <= out.capacity() && out.written() != static_cast<std::uint64_t>(status))
        return narrow(host::guest_status::limit);
    return narrow(status);
}

inline host::api::out_buffer buffer(void* at, std::size_t capacity) {
    return host::api::over({static_cast<std::byte*>(at), at == nullptr ? 0 : capacity});
}

inline void log(std::int32_t level, const char* text, std::size_t length) {
    // A log longer than the channel is cut, as the output cap would cut it anyway.
    const std::size_t room = current().ch != nullptr && current().ch->capacity() > 64 ? current().ch->capacity() - 64 : 0;
    if (text == nullptr) length = 0;
    forward<host::api::fn::log>(level, host::api::bytes{std::as_bytes(std::span{text, std::min(length, room)})});
}

inline std::int64_t clock_now(std::int32_t clock_id) { return forward<host::api::fn::clock_now>(clock_id); }

inline std::int32_t random_fill(void* out, std::size_t length) {
    auto* bytes = static_cast<std::byte*>(out);
    const std::size_t chunk = 4096;
    if (bytes == nullptr && length != 0) return narrow(host::guest_status::invalid);
    for (std::size_t done = 0; done < length;) {
        auto part = buffer(bytes + done, std::min(chunk, length - done));
        const auto status = forward<host::api::fn::random_fill>(part);
        if (status != host::guest_status::ok) return narrow(status);
        if (part.written() == 0) return narrow(host::guest_status::invalid);
        done += part.written();
    }
    return narrow(host::guest_status::ok);
}

inline bool fits(const char* text, std::size_t length) {
    return length <= host::api::max_text && (text != nullptr || length == 0);
}
inline host::api::text text_of(const char* text, std::size_t length) { return {std::string_view{text, length}}; }
inline host::api::bytes bytes_of(const void* data, std::size_t length) {
    return {std::as_bytes(std::span{static_cast<const char*>(data), data == nullptr ? 0 : length})};
}

inline std::int32_t config_get(const char* key, std::size_t key_length, char* out, std::size_t capacity) {
    if (!fits(key, key_length)) return narrow(host::guest_status::invalid);
    auto answer = buffer(out, capacity);
    return length_answer(forward<host::api::fn::config_get>(text_of(key, key_length), answer), answer);
}

inline std::int32_t input_size() {
    auto& state = current();
    std::lock_guard lock{state.mutex};  // a plugin thread may ask as the call ends
    return state.active ? static_cast<std::int32_t>(state.input.size()) : narrow(host::guest_status::unsupported);
}

inline std::int32_t input_read(void* buffer, std::size_t capacity) {
    auto& state = current();
    std::lock_guard lock{state.mutex};
    if (!state.active) return narrow(host::guest_status::unsupported);
    const auto n = std::min(capacity, state.input.size());
    if (n != 0) std::memcpy(buffer, state.input.data(), n);
    return static_cast<std::int32_t>(n);
}

// Output stays in the child until the call ends, then goes back as the call's answer.
inline std::int32_t output_write(const void* data, std::size_t length) {
    auto& state = current();
    std::lock_guard lock{state.mutex};
    if (!state.active) return narrow(host::guest_status::unsupported);
    if (length > state.output_cap - state.output.size()) {
        state.output_overflow = true;
        return narrow(host::guest_status::limit);
    }
    const auto* bytes = static_cast<const std::byte*>(data);
    state.output.insert(state.output.end(), bytes, bytes + length);
    return narrow(host::guest_status::ok);
}

/// A length above `capacity` means "buffer too small, nothing written", as config_get answers.
inline std::int32_t bus_call(const char* target, std::size_t target_length, const void* input, std::size_t input_length,
                             void* out, std::size_t capacity) {
    if (!fits(target, target_length)) return narrow(host::guest_status::invalid);
    auto answer = buffer(out, capacity);
    return length_answer(
        forward<host::api::fn::bus_call>(text_of(target, target_length), bytes_of(input, input_length), answer), answer);
}
inline std::int32_t bus_emit(const char* topic, std::size_t topic_length, const void* data, std::size_t data_length) {
    if (!fits(topic, topic_length)) return narrow(host::guest_status::invalid);
    return narrow(forward<host::api::fn::bus_emit>(text_of(topic, topic_length), bytes_of(data, data_length)));
}

/// Calls the host function module.name: the arguments and the result types asked for go out,
/// the results come back typed as asked. A guest status.
inline std::int32_t call_host_values(std::string_view module, std::string_view name, std::span<const value> args,
                                     std::span<value> results) {
    const auto fits = [](std::string_view text) { return !text.empty() && text.size() <= broker::max_function_name; };
    if (!fits(module) || !fits(name) || args.size() > broker::max_host_values || results.size() > broker::max_host_values)
        return narrow(host::guest_status::invalid);
    std::array<value_type, broker::max_host_values> types{};
    for (std::size_t i = 0; i < results.size(); ++i) types[i] = results[i].type;
    auto w = request(broker::host_call::call_host);
    broker::encode(w, module, name, args, std::span{types}.first(results.size()));
    std::vector<std::byte> answer;
    if (const auto status = ask(w, &answer); status != host::guest_status::ok) return narrow(status);
    wire_reader in{answer};
    for (auto& slot : results) {
        const auto v = broker::get_value(in);
        if (!v || v->type != slot.type) return narrow(host::guest_status::invalid);
        slot = *v;
    }
    return narrow(in.at_end() ? host::guest_status::ok : host::guest_status::invalid);
}

inline std::optional<value> from_guest(const cordon_value& v) {
    switch (v.type) {
    case CORDON_I32: return value::of(v.as.i32);
    case CORDON_I64: return value::of(v.as.i64);
    case CORDON_F32: return value::of(v.as.f32);
    case CORDON_F64: return value::of(v.as.f64);
    default: return std::nullopt;
    }
}

inline void to_guest(const value& v, cordon_value& out) {
    switch (v.type) {
    case value_type::i32: out.as.i32 = v.as<std::int32_t>(); break;
    case value_type::i64: out.as.i64 = v.as<std::int64_t>(); break;
    case value_type::f32: out.as.f32 = v.as<float>(); break;
    case value_type::f64: out.as.f64 = v.as<double>(); break;
    default: break;  // only numbers travel (the broker refuses other tags)
    }
}

inline std::int32_t call_host(const char* module, std::size_t module_length, const char* name, std::size_t name_length,
                              const cordon_value* args, std::size_t arg_count, cordon_value* results,
                              std::size_t result_count) {
    if (arg_count > broker::max_host_values || result_count > broker::max_host_values ||
        (module == nullptr && module_length != 0) || (name == nullptr && name_length != 0) ||
        (args == nullptr && arg_count != 0) || (results == nullptr && result_count != 0))
        return narrow(host::guest_status::invalid);
    std::array<value, broker::max_host_values> in{}, out{};
    for (std::size_t i = 0; i < arg_count; ++i) {
        const auto v = from_guest(args[i]);
        if (!v) return narrow(host::guest_status::invalid);
        in[i] = *v;
    }
    for (std::size_t i = 0; i < result_count; ++i) {
        const auto slot = from_guest(cordon_value{results[i].type, {}});
        if (!slot) return narrow(host::guest_status::invalid);
        out[i].type = slot->type;
    }
    const auto status = call_host_values(std::string_view{module, module_length}, std::string_view{name, name_length},
                                         std::span{in}.first(arg_count), std::span{out}.first(result_count));
    if (status == host::guest_status::ok)
        for (std::size_t i = 0; i < result_count; ++i) to_guest(out[i], results[i]);
    return status;
}

// Files are the kernel's business in this backend: the plugin opens them itself, confined.
inline std::int32_t fs_open(const char*, std::size_t, std::int32_t) { return narrow(host::guest_status::unsupported); }
inline std::int32_t fs_read(std::int32_t, void*, std::size_t) { return narrow(host::guest_status::unsupported); }
inline std::int32_t fs_write(std::int32_t, const void*, std::size_t) { return narrow(host::guest_status::unsupported); }
inline std::int32_t fs_close(std::int32_t) { return narrow(host::guest_status::unsupported); }

inline const cordon_host_table& table() {
    static const cordon_host_table t{sizeof(cordon_host_table), &log, &clock_now, &random_fill, &fs_open, &fs_read,
                                     &fs_write, &fs_close, &config_get, &input_size, &input_read, &output_write,
                                     &bus_call, &bus_emit, &call_host};
    return t;
}

/// Hands the table to a plugin that follows cordon.h (it defines `cordon_host`); false for a
/// plugin of the older process::entry_point convention. Another definition found first in the
/// global scope is set too: should the plugin's reference bind to it (a host program that
/// includes cordon.h itself and is linked with -rdynamic exports one), the plugin still finds the table.
inline bool connect(void* plugin) {
    void* slot = ::dlsym(plugin, "cordon_host");
    if (slot == nullptr) return false;
    *static_cast<const cordon_host_table**>(slot) = &table();
    if (void* global = ::dlsym(RTLD_DEFAULT, "cordon_host"); global != nullptr && global != slot)
        *static_cast<const cordon_host_table**>(global) = &table();
    return true;
}

} // namespace cordon::process::detail::guest
