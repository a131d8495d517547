// The loop a persistent sandboxed child runs after confinement: wait for a request on the
// channel, call the entry point (a host function or a symbol of a dlopen'ed plugin), answer.
#pragma once

#include <cordon/process/channel.hpp>
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

// Waits without a timeout: the child never reads a clock (that may be a system call it is
// not allowed), and its supervisor kills it if it must.
inline std::uint32_t wait_for_request(std::atomic<std::uint32_t>& word, std::uint32_t seen) {
    for (int i = 0; i < spin_iterations; ++i) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        cpu_relax();
    }
    for (;;) {
        const auto now = word.load(std::memory_order_acquire);
        if (now != seen) return now;
        futex(&word, FUTEX_WAIT, seen, nullptr);
    }
}

inline std::uint32_t answer_error(std::byte* out, std::uint64_t capacity, std::uint64_t* out_size,
                                  error_kind kind, std::string_view message) {
    const auto n = std::min<std::uint64_t>(message.size(), capacity);
    std::memcpy(out, message.data(), n);
    *out_size = n;
    return static_cast<std::uint32_t>(kind);
}

// Resolves the entry point of a request. A function payload receives the address of a
// trampoline of the host program (the child is a copy of it); a plugin receives the symbol's
// name at the start of the request.
struct entry_resolver {
    void* plugin = nullptr;

    entry_point resolve(std::uint64_t entry, std::span<const std::byte>& request, std::string& failure) const {
        if (plugin == nullptr) return reinterpret_cast<entry_point>(entry);
        wire_reader reader{request};
        const auto name = reader.get_string();
        if (!name || name->empty()) {
            failure = "malformed plugin request";
            return nullptr;
        }
        request = request.subspan(sizeof(std::uint64_t) + name->size());
        void* symbol = ::dlsym(plugin, name->c_str());
        if (symbol == nullptr) failure = "the plugin exports no function named " + *name;
        return reinterpret_cast<entry_point>(symbol);
    }
};

} // namespace detail

/// Serves calls until killed. `plugin` is a dlopen handle, or null for host functions.
/// `announce_ready` runs once the child knows which request is the next one, so a request
/// sent right after the announcement cannot be missed.
template <class AnnounceReady>
[[noreturn]] void serve_calls(const channel& ch, void* plugin, AnnounceReady&& announce_ready) {
    auto& header = ch.header();
    const detail::entry_resolver resolver{plugin};
    std::uint32_t seen = header.request_seq.load(std::memory_order_acquire);
    announce_ready();
    for (;;) {
        seen = detail::wait_for_request(header.request_seq, seen);
        std::span<const std::byte> request =
            ch.request_area().first(std::min<std::uint64_t>(header.request_size, ch.capacity()));
        const auto out = ch.response_area();
        std::uint64_t out_size = 0;
        std::string failure;
        const entry_point entry = resolver.resolve(header.entry, request, failure);
        std::uint32_t status = 0;
        if (entry == nullptr)
            status = detail::answer_error(out.data(), out.size(), &out_size, error_kind::invalid_argument, failure);
        else
            status = entry(request.data(), request.size(), out.data(), out.size(), &out_size);
        // A plugin's own non-zero return is its failure code, not one of cordon's error kinds.
        if (entry != nullptr && resolver.plugin != nullptr && status != 0)
            status = detail::answer_error(out.data(), out.size(), &out_size, error_kind::trap,
                                          "the export returned failure code " + std::to_string(status));
        header.response_size = std::min<std::uint64_t>(out_size, out.size());
        header.response_status = status;
        publish(header.response_seq);
    }
}

} // namespace cordon::process
