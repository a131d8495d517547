// The loop a persistent sandboxed child runs after confinement: wait for a request on the
// channel, call the entry point (a host function or a symbol of a dlopen'ed plugin), answer.
#pragma once

#include <cordon/process/channel.hpp>
#include <cordon/process/guest_table.hpp>
#include <cordon/process/wire.hpp>
#include <cordon/result.hpp>

#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cordon::process {

/// The calling convention of every entry point, in the child: bytes in, bytes out. Returns 0
/// with the result in `out`, or an error_kind with a message in `out`. The same C signature
/// is what a native plugin exports for each function:
///   uint32_t f(const uint8_t* in, uint64_t in_size, uint8_t* out, uint64_t out_capacity,
///              uint64_t* out_size);
using entry_point = std::uint32_t (*)(const std::byte* in, std::uint64_t in_size, std::byte* out,
                                      std::uint64_t out_capacity, std::uint64_t* out_size);

namespace detail {

inline std::uint32_t answer_error(std::byte* out, std::uint64_t capacity, std::uint64_t* out_size,
                                  error_kind kind, std::string_view message) {
    const auto n = std::min<std::uint64_t>(message.size(), capacity);
    copy_bytes(out, message.data(), n);
    *out_size = n;
    return static_cast<std::uint32_t>(kind);
}

// Resolves the entry point of a request. A function payload receives the address of a
// trampoline of the host program (the child is a copy of it); a plugin receives the symbol's
// name at the start of the request.
struct entry_resolver {
    void* plugin = nullptr;

    void* resolve(std::uint64_t entry, std::span<const std::byte>& request, std::string& name,
                  std::string& failure) const {
        if (plugin == nullptr) return reinterpret_cast<void*>(entry);
        wire_reader reader{request};
        auto given = reader.get_string();
        if (!given || given->empty()) {
            failure = "malformed plugin request";
            return nullptr;
        }
        request = request.subspan(sizeof(std::uint64_t) + given->size());
        name = std::move(*given);
        void* symbol = ::dlsym(plugin, name.c_str());
        if (symbol == nullptr) failure = "no exported function named " + name;
        return symbol;
    }
};

// Calls an export of a plugin that follows cordon.h, `int32_t f(void)`: its input and output
// go through the table, its non-zero return is a failed call, as in the wasm backends.
inline std::uint32_t call_guest_export(const channel& ch, void* symbol, const std::string& name,
                                       std::span<const std::byte> input, std::uint64_t output_cap,
                                       std::uint64_t* out_size) {
    auto& state = guest::current();
    {
        std::lock_guard lock{state.mutex};
        state.ch = &ch;
        state.input = input;
        state.output.clear();
        state.output_cap = output_cap != 0 ? std::min<std::uint64_t>(output_cap, ch.capacity()) : ch.capacity();
        state.output_overflow = false;
        state.active = true;
    }
    const std::int32_t status = reinterpret_cast<std::int32_t (*)()>(symbol)();
    std::lock_guard lock{state.mutex};
    state.active = false;
    const auto out = ch.response_area();
    if (state.output_overflow)
        return answer_error(out.data(), out.size(), out_size, error_kind::output_limit,
                            "output limit of " + std::to_string(state.output_cap) + " bytes exceeded");
    if (status != 0)
        return answer_error(out.data(), out.size(), out_size, error_kind::trap,
                            "export " + name + " returned status " + std::to_string(status));
    if (!state.output.empty()) std::memcpy(out.data(), state.output.data(), state.output.size());
    *out_size = state.output.size();
    return 0;
}

} // namespace detail

/// Serves calls until killed. `plugin` is a dlopen handle, or null for host functions. A plugin
/// that follows cordon.h gets its function table first; its output is capped at `output_cap`
/// bytes (0: the channel's capacity). `announce_ready` runs once the child knows which request
/// is the next one, so a request sent right after the announcement cannot be missed.
template <class AnnounceReady>
[[noreturn]] void serve_calls(const channel& ch, void* plugin, std::uint64_t output_cap, AnnounceReady&& announce_ready) {
    auto& header = ch.header();
    const detail::entry_resolver resolver{plugin};
    const bool guest_api = plugin != nullptr && detail::guest::connect(plugin);
    std::uint32_t seen = header.request_seq.load(std::memory_order_acquire);
    announce_ready();
    for (;;) {
        seen = detail::wait_for_request(header.request_seq, seen);
        std::span<const std::byte> request =
            ch.request_area().first(std::min<std::uint64_t>(header.request_size, ch.capacity()));
        const auto out = ch.response_area();
        std::uint64_t out_size = 0;
        std::string name, failure;
        void* entry = resolver.resolve(header.entry, request, name, failure);
        std::uint32_t status = 0;
        if (entry == nullptr) {
            status = detail::answer_error(out.data(), out.size(), &out_size, error_kind::invalid_argument, failure);
        } else if (guest_api) {
            status = detail::call_guest_export(ch, entry, name, request, output_cap, &out_size);
        } else {
            const detail::guest::serving during{ch};  // a function payload may call host functions
            status = reinterpret_cast<entry_point>(entry)(request.data(), request.size(), out.data(), out.size(),
                                                          &out_size);
            // A plugin's own non-zero return is its failure code, not one of cordon's error kinds.
            if (plugin != nullptr && status != 0)
                status = detail::answer_error(out.data(), out.size(), &out_size, error_kind::trap,
                                              "the export returned failure code " + std::to_string(status));
        }
        // Host calls made during the call bumped request_seq: the next request is past them.
        seen = header.request_seq.load(std::memory_order_acquire);
        header.response_size = std::min<std::uint64_t>(out_size, out.size());
        header.response_status = status;
        publish(header.response_seq);
    }
}

} // namespace cordon::process
