// The host API brokered for a child, made from the table in cordon/host/api.hpp: what the child
// sends when its guest calls a cordon.h function the host answers, or a host function the host
// registered, and the host's answer, grant checked as for wasm.
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

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon::process {

namespace detail::broker {

/// Marks a message in the response area as a host call rather than the call's answer (no
/// error_kind has this value); the host replies in the same area and bumps request_seq.
inline constexpr std::uint32_t host_call_status = 0x48434c4c;  // "HCLL"

/// A host call's message: the function's number in the host API table (host::api::fn), then
/// its parameters, each as its kind says (below). The answer: a status (or value) and bytes.
using host_call = host::api::fn;

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

// Answers a call refused for want of its grant (the violation recorded by host::api::refused,
// as every backend records it) as violation_action says: under trap the guest is stopped (the
// error ends the call, the child is killed), else it gets CORDON_ERR_DENIED.
inline result<std::vector<std::byte>> refuse(const host::context& ctx, error recorded) {
    if (ctx.on_violation == cordon::violation_action::trap) return recorded;
    return reply(host::guest_status::denied);
}

// ---- how each kind of parameter crosses the channel ------------------------------------------
// `put` is the child's side, `take` the host's: a number as itself, text and bytes as a length
// and bytes, an out_buffer as the capacity the guest gave (its bytes come back in the answer).
// Nothing from `take` means the message is malformed.

template <class Kind> struct wire_param;

template <> struct wire_param<std::int32_t> {
    using held = std::int32_t;
    static void put(wire_writer& w, std::int32_t v) { w.put(v); }
    static std::optional<held> take(wire_reader& in, std::uint64_t) { return in.get<std::int32_t>(); }
    static std::int32_t view(held& h) { return h; }
};

template <> struct wire_param<host::api::text> {
    using held = std::string_view;
    static void put(wire_writer& w, host::api::text t) { w.put_string(t.value); }
    static std::optional<held> take(wire_reader& in, std::uint64_t) {
        const auto b = in.get_bytes();
        if (!b || b->size() > host::api::max_text) return std::nullopt;
        return held{reinterpret_cast<const char*>(b->data()), b->size()};
    }
    static host::api::text view(held& h) { return {h}; }
};

template <> struct wire_param<host::api::bytes> {
    using held = std::span<const std::byte>;
    static void put(wire_writer& w, host::api::bytes b) { w.put_bytes(b.value); }
    static std::optional<held> take(wire_reader& in, std::uint64_t) { return in.get_bytes(); }
    static host::api::bytes view(held& h) { return {h}; }
};

/// The answer's bytes, at most what the guest's buffer and the channel both hold.
struct answer_buffer {
    std::size_t capacity = 0;
    std::vector<std::byte> bytes{};
    std::optional<host::api::out_buffer> buffer{};  // made in place: it points at `bytes`
};

template <> struct wire_param<host::api::out_buffer&> {
    using held = answer_buffer;
    static void put(wire_writer& w, const host::api::out_buffer& out) { w.put(static_cast<std::uint64_t>(out.capacity())); }
    static std::optional<held> take(wire_reader& in, std::uint64_t room) {
        const auto capacity = in.get<std::uint64_t>();
        if (!capacity) return std::nullopt;
        return held{static_cast<std::size_t>(std::min(*capacity, room))};
    }
    static host::api::out_buffer& view(held& h) { return h.buffer.emplace(host::api::growing(h.bytes, h.capacity)); }
};

/// The host's side of one function the host answers: its parameters taken from the message (all
/// of it: trailing bytes are malformed), its work run with the sandbox's policy, the answer.
template <auto Work> struct answer_of;
template <class Server, class R, class... Kinds, result<R> (*Work)(Server, Kinds...)>
struct answer_of<Work> {
    static result<std::vector<std::byte>> run(host::context& ctx, wire_reader& in, std::uint64_t room) {
        std::tuple<std::optional<typename wire_param<Kinds>::held>...> held;
        bool whole = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return ((std::get<I>(held) = wire_param<Kinds>::take(in, room), std::get<I>(held).has_value()) && ...);
        }(std::index_sequence_for<Kinds...>{});
        if (!whole || !in.at_end()) return reply(host::guest_status::invalid);
        const host::policy_view policy{ctx};
        auto out = std::apply([&](auto&... h) { return Work(policy, wire_param<Kinds>::view(*h)...); }, held);
        if (!out) return out.error();
        std::int64_t status = 0;
        if constexpr (!std::is_void_v<R>) status = *out;
        std::span<const std::byte> answer;
        std::apply([&](auto&... h) { (note_answer(*h, answer), ...); }, held);
        return reply(status, answer);
    }

private:
    template <class H> static void note_answer(H& h, std::span<const std::byte>& answer) {
        if constexpr (std::is_same_v<H, answer_buffer>) answer = std::span{h.bytes}.first(h.buffer->written());
    }
};

// The function's answer for the child, by its number; nothing for the functions the host does not answer.
using answer_fn = result<std::vector<std::byte>> (*)(host::context&, wire_reader&, std::uint64_t);
template <host::api::fn F> constexpr answer_fn answer_for() {
    if constexpr (host::api::entry_of(F).served_by == host::api::server::host) return &answer_of<host::api::host_work<F>::run>::run;
    else return nullptr;
}
inline constexpr auto answers = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<answer_fn, sizeof...(I)>{answer_for<host::api::functions[I].id>()...};
}(std::make_index_sequence<std::size(host::api::functions)>{});

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
    if (auto granted = host::api::check_registered(ctx, *entry, qualified); !granted) return refuse(ctx, granted.error());
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
    const auto number = in.get<std::uint32_t>();
    const host::api::entry* e = number ? host::api::find(*number) : nullptr;
    if (e == nullptr) return b::reply(host::guest_status::invalid);
    if (e->served_by == host::api::server::registered) {
        auto answer = b::host_function(ctx, functions, in);
        if (answer && answer->size() > capacity) return b::reply(host::guest_status::limit);
        return answer;
    }
    const auto answer = b::answers[static_cast<std::size_t>(e->id) - 1];
    if (answer == nullptr) return b::reply(host::guest_status::unsupported);  // the child answers these itself
    if (auto admitted = host::api::admit_call(ctx, e->id); !admitted) return b::refuse(ctx, admitted.error());
    // Room for the reply's own status and length.
    const std::uint64_t room = capacity > 64 ? capacity - 64 : 0;
    auto reply = answer(ctx, in, room);
    if (reply && reply->size() > capacity) return b::reply(host::guest_status::limit);
    return reply;
}

} // namespace cordon::process
