// The child's side of the brokered host API: the cordon.h function table handed to a native
// plugin, answering input and output itself and forwarding the rest to the host over the channel.
#pragma once

#include <cordon/guest/host_table.h>
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

inline void log(std::int32_t level, const char* text, std::size_t length) {
    auto w = request(broker::host_call::log);
    w.put(level);
    // A log longer than the channel is cut, as the output cap would cut it anyway.
    const std::size_t room = current().ch != nullptr && current().ch->capacity() > 64 ? current().ch->capacity() - 64 : 0;
    w.put_bytes(std::as_bytes(std::span{text, std::min(length, room)}));
    ask(w);
}

inline std::int64_t clock_now(std::int32_t clock_id) {
    auto w = request(broker::host_call::clock_now);
    w.put(clock_id);
    return ask(w);
}

inline std::int32_t random_fill(void* buffer, std::size_t length) {
    auto* out = static_cast<std::byte*>(buffer);
    std::vector<std::byte> bytes;
    const std::size_t chunk = 4096;
    for (std::size_t done = 0; done < length;) {
        auto w = request(broker::host_call::random_fill);
        w.put(static_cast<std::uint64_t>(std::min(chunk, length - done)));
        const auto status = ask(w, &bytes);
        if (status != host::guest_status::ok) return narrow(status);
        if (bytes.empty() || bytes.size() > length - done) return narrow(host::guest_status::invalid);
        copy_bytes(out + done, bytes.data(), bytes.size());
        done += bytes.size();
    }
    return narrow(host::guest_status::ok);
}

inline std::int32_t config_get(const char* key, std::size_t key_length, char* out, std::size_t capacity) {
    if (key_length > broker::max_guest_string) return narrow(host::guest_status::invalid);
    auto w = request(broker::host_call::config_get);
    w.put_string(std::string_view{key, key_length});
    std::vector<std::byte> value;
    const auto status = ask(w, &value);
    if (status < 0) return narrow(status);
    if (value.size() <= capacity && !value.empty()) std::memcpy(out, value.data(), value.size());
    return narrow(static_cast<std::int64_t>(value.size()));
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
    if (target_length > broker::max_guest_string) return narrow(host::guest_status::invalid);
    auto w = request(broker::host_call::bus_call);
    w.put_string(std::string_view{target, target_length});
    w.put_bytes(std::as_bytes(std::span{static_cast<const char*>(input), input_length}));
    w.put(static_cast<std::uint64_t>(capacity));
    std::vector<std::byte> answer;
    const auto status = ask(w, &answer);
    if (status < 0) return narrow(status);
    if (static_cast<std::uint64_t>(status) <= capacity) {
        if (answer.size() != static_cast<std::uint64_t>(status)) return narrow(host::guest_status::limit);  // past the channel
        if (!answer.empty()) copy_bytes(static_cast<std::byte*>(out), answer.data(), answer.size());
    }
    return narrow(status);
}
inline std::int32_t bus_emit(const char* topic, std::size_t topic_length, const void* data, std::size_t data_length) {
    if (topic_length > broker::max_guest_string) return narrow(host::guest_status::invalid);
    auto w = request(broker::host_call::bus_emit);
    w.put_string(std::string_view{topic, topic_length});
    w.put_bytes(std::as_bytes(std::span{static_cast<const char*>(data), data_length}));
    return narrow(ask(w));
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
    auto w = request(broker::host_call::host_function);
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
