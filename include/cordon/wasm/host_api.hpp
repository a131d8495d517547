// The host API as imports of the `cordon` module (log, clock, random, files through handles,
// config, bytes in/out, plugin bus), each tagged with its permission. Its C side is cordon/guest/cordon.h.
// Where cordon/host/api.hpp has the function, the import marshals and calls it; the linker has
// already counted the call and checked the grant.
#pragma once

#include <cordon/host/api.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/sandbox_state.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

/// Status codes the `cordon` imports return (negative), mirrored in cordon/guest/cordon.h.
namespace guest_status = cordon::host::guest_status;

namespace detail {

inline constexpr std::uint64_t max_guest_string = 4096;  // paths, keys, names

inline std::int32_t status_from_errno(int err) {
    switch (err) {
    case ENOENT: return guest_status::not_found;
    case EACCES:
    case EPERM:
    case EXDEV:  // RESOLVE_BENEATH refusing an escape
    case ELOOP: return guest_status::denied;
    case EMFILE:
    case ENFILE: return guest_status::limit;
    case EINVAL:
    case ENAMETOOLONG:
    case EISDIR:
    case ENOTDIR: return guest_status::invalid;
    default: return guest_status::io;
    }
}

/// Finds the scope a guest path lies in ("/data/x.txt" in scope "/data") and the rest of it.
inline std::optional<std::pair<std::uint32_t, std::string>> find_scope(sandbox_state& state, const std::string& path) {
    for (std::size_t i = 0; i < state.preopens().size(); ++i) {
        const std::string& root = state.preopens()[i].guest_path;
        if (path == root) return std::pair{handle_table::first_handle + static_cast<std::uint32_t>(i), std::string(".")};
        if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
            (root.back() == '/' || path[root.size()] == '/')) {
            std::string rest = path.substr(root.size());
            while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
            return std::pair{handle_table::first_handle + static_cast<std::uint32_t>(i), rest.empty() ? "." : rest};
        }
    }
    return std::nullopt;
}

inline result<void> fs_open(host_call& call, std::span<const value> p, std::span<value> r) {
    sandbox_state& state = call.state;
    const bool want_write = (p[2].i32 & 1) != 0;
    auto path = call.memory.copy_string(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32),
                                        max_guest_string);
    if (!path) return path.error();
    r[0] = value::of_i32(guest_status::denied);
    if (want_write && !state.policy.granted(perm::id::fs_write)) {
        state.record_violation(perm::id::fs_write, "fs_open " + *path);
        return {};
    }
    auto scope = find_scope(state, *path);
    if (!scope) {
        state.record_violation(want_write ? perm::id::fs_write : perm::id::fs_read, "fs_open " + *path + " (outside every scope)");
        return {};
    }
    handle_entry* dir = state.handles.find(scope->first);
    if (want_write && !dir->writable) {
        state.record_violation(perm::id::fs_write, "fs_open " + *path + " (read-only scope)");
        return {};
    }
    const int flags = want_write ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY;
    const int fd = open_beneath(dir->fd.get(), scope->second, flags, 0644);
    if (fd < 0) {
        const int err = errno;
        if (err == EXDEV || err == ELOOP)
            state.record_violation(want_write ? perm::id::fs_write : perm::id::fs_read, "fs_open " + *path + " (escapes its scope)");
        r[0] = value::of_i32(status_from_errno(err));
        return {};
    }
    handle_entry entry;
    entry.fd = cordon::detail::unique_fd{fd};
    entry.writable = want_write;
    entry.guest_path = *path;
    auto handle = state.handles.add(std::move(entry), state.limits().open_files);
    if (!handle) {
        if (!state.limit_hit) state.limit_hit = handle.error();
        r[0] = value::of_i32(guest_status::limit);
        return {};
    }
    r[0] = value::of_i32(static_cast<std::int32_t>(*handle));
    return {};
}

inline result<void> fs_read(host_call& call, std::span<const value> p, std::span<value> r) {
    handle_entry* entry = call.state.handles.find(static_cast<std::uint32_t>(p[0].i32));
    if (!entry || entry->is_directory) {
        r[0] = value::of_i32(guest_status::bad_handle);
        return {};
    }
    auto buffer = call.memory.bytes(static_cast<std::uint32_t>(p[1].i32), static_cast<std::uint32_t>(p[2].i32));
    if (!buffer) return buffer.error();
    const ssize_t n = ::read(entry->fd.get(), buffer->data(), buffer->size());
    r[0] = value::of_i32(n < 0 ? status_from_errno(errno) : static_cast<std::int32_t>(n));
    return {};
}

inline result<void> fs_write(host_call& call, std::span<const value> p, std::span<value> r) {
    handle_entry* entry = call.state.handles.find(static_cast<std::uint32_t>(p[0].i32));
    if (!entry || entry->is_directory || !entry->writable) {
        r[0] = value::of_i32(guest_status::bad_handle);
        return {};
    }
    auto buffer = call.memory.bytes(static_cast<std::uint32_t>(p[1].i32), static_cast<std::uint32_t>(p[2].i32));
    if (!buffer) return buffer.error();
    const ssize_t n = ::write(entry->fd.get(), buffer->data(), buffer->size());
    r[0] = value::of_i32(n < 0 ? status_from_errno(errno) : static_cast<std::int32_t>(n));
    return {};
}

} // namespace detail

/// The `cordon` module's functions. Signatures are part of the guest ABI: change them only
/// together with cordon/guest/cordon.h.
inline const std::vector<host_function>& cordon_host_api() {
    using detail::max_guest_string;
    static const std::vector<host_function> functions = [] {
        std::vector<host_function> f;
        constexpr auto i32 = value_type::i32;
        constexpr auto i64 = value_type::i64;
        auto add = [&](const char* name, signature sig, std::optional<std::string> permission, host_callback cb,
                       std::int64_t denied = guest_status::denied) {
            f.push_back(host_function{"cordon", name, std::move(sig), std::move(permission), std::move(cb), denied, false});
        };
        // log(level, ptr, len): to the host context's log (its sink, and the output cap).
        add("log", {{i32, i32, i32}, {}}, std::nullopt, [](host_call& call, std::span<const value> p, std::span<value>) -> result<void> {
            auto text = call.memory.bytes(static_cast<std::uint32_t>(p[1].i32), static_cast<std::uint32_t>(p[2].i32));
            if (!text) return text.error();
            const std::string_view message{reinterpret_cast<const char*>(text->data()), text->size()};
            return call.state.policy.log(host::api::guest_log_level(p[0].i32), message);
        });
        // clock_now(clock_id) -> nanoseconds; 0 = realtime, 1 = monotonic.
        add("clock_now", {{i32}, {i64}}, "clock", [](host_call&, std::span<const value> p, std::span<value> r) -> result<void> {
            const auto which = p[0].i32 == 1 ? host::api::clock_id::monotonic : host::api::clock_id::realtime;
            r[0] = value::of_i64(static_cast<std::int64_t>(host::api::now_ns(which)));
            return {};
        });
        // random_fill(ptr, len) -> status
        add("random_fill", {{i32, i32}, {i32}}, "random", [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            auto buffer = call.memory.bytes(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32));
            if (!buffer) return buffer.error();
            if (auto filled = host::api::fill_random(std::as_writable_bytes(*buffer)); !filled) return filled;
            r[0] = value::of_i32(guest_status::ok);
            return {};
        });
        // fs_open(path_ptr, path_len, flags) -> handle or status; flags bit 0 = write (needs fs.write).
        add("fs_open", {{i32, i32, i32}, {i32}}, "fs.read", detail::fs_open);
        add("fs_read", {{i32, i32, i32}, {i32}}, "fs.read", detail::fs_read);
        add("fs_write", {{i32, i32, i32}, {i32}}, "fs.write", detail::fs_write);
        add("fs_close", {{i32}, {i32}}, std::nullopt, [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            r[0] = value::of_i32(call.state.handles.close(static_cast<std::uint32_t>(p[0].i32)) ? guest_status::ok : guest_status::bad_handle);
            return {};
        });
        // config_get(key_ptr, key_len, out_ptr, out_cap) -> length of the value, or status.
        // A length above out_cap means "buffer too small, nothing written".
        add("config_get", {{i32, i32, i32, i32}, {i32}}, std::nullopt, [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            auto key = call.memory.copy_string(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32), max_guest_string);
            if (!key) return key.error();
            const auto text = host::api::find_config(call.state.policy.config(), *key);
            if (!text) {
                r[0] = value::of_i32(guest_status::not_found);
                return {};
            }
            if (text->size() <= static_cast<std::uint32_t>(p[3].i32)) {
                auto ok = call.memory.store(static_cast<std::uint32_t>(p[2].i32), std::span{reinterpret_cast<const std::uint8_t*>(text->data()), text->size()});
                if (!ok) return ok;
            }
            r[0] = value::of_i32(static_cast<std::int32_t>(text->size()));
            return {};
        });
        // input_size() -> bytes of input; input_read(ptr, cap) -> bytes copied.
        add("input_size", {{}, {i32}}, std::nullopt, [](host_call& call, std::span<const value>, std::span<value> r) -> result<void> {
            r[0] = value::of_i32(static_cast<std::int32_t>(call.state.call_input.size()));
            return {};
        });
        add("input_read", {{i32, i32}, {i32}}, std::nullopt, [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            const auto& input = call.state.call_input;
            const std::size_t n = std::min<std::size_t>(input.size(), static_cast<std::uint32_t>(p[1].i32));
            if (auto ok = call.memory.store(static_cast<std::uint32_t>(p[0].i32), std::span{input.data(), n}); !ok) return ok;
            r[0] = value::of_i32(static_cast<std::int32_t>(n));
            return {};
        });
        // output_write(ptr, len) -> status: appends to the call's output bytes (capped).
        add("output_write", {{i32, i32}, {i32}}, std::nullopt, [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            auto bytes = call.memory.bytes(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32));
            if (!bytes) return bytes.error();
            if (auto charged = call.state.charge_call_output(bytes->size()); !charged) return charged;
            call.state.call_output.insert(call.state.call_output.end(), bytes->begin(), bytes->end());
            r[0] = value::of_i32(guest_status::ok);
            return {};
        });
        // bus_call(target_ptr, target_len, in_ptr, in_len, out_ptr, out_cap) -> output length or
        // status; a length above out_cap means "buffer too small, nothing written".
        add("bus_call", {{i32, i32, i32, i32, i32, i32}, {i32}}, "plugin", [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            auto target = call.memory.copy_string(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32), max_guest_string);
            if (!target) return target.error();
            auto in = call.memory.bytes(static_cast<std::uint32_t>(p[2].i32), static_cast<std::uint32_t>(p[3].i32));
            if (!in) return in.error();
            const std::vector<std::byte> input(reinterpret_cast<const std::byte*>(in->data()),
                                               reinterpret_cast<const std::byte*>(in->data()) + in->size());  // the callee may re-enter
            auto out = host::api::bus_call(call.state.policy.bus(), *target, input);
            if (!out) {
                r[0] = value::of_i32(host::api::bus_status(out.error()));
                return {};
            }
            if (out->size() <= static_cast<std::uint32_t>(p[5].i32))
                if (auto ok = call.memory.store(static_cast<std::uint32_t>(p[4].i32),
                                                std::span{reinterpret_cast<const std::uint8_t*>(out->data()), out->size()});
                    !ok)
                    return ok;
            r[0] = value::of_i32(static_cast<std::int32_t>(std::min<std::size_t>(out->size(), 0x7fff'ffff)));
            return {};
        });
        // bus_emit(topic_ptr, topic_len, data_ptr, data_len) -> status
        add("bus_emit", {{i32, i32, i32, i32}, {i32}}, "plugin", [](host_call& call, std::span<const value> p, std::span<value> r) -> result<void> {
            auto topic = call.memory.copy_string(static_cast<std::uint32_t>(p[0].i32), static_cast<std::uint32_t>(p[1].i32), max_guest_string);
            if (!topic) return topic.error();
            auto data = call.memory.bytes(static_cast<std::uint32_t>(p[2].i32), static_cast<std::uint32_t>(p[3].i32));
            if (!data) return data.error();
            const std::vector<std::byte> copy(reinterpret_cast<const std::byte*>(data->data()),
                                              reinterpret_cast<const std::byte*>(data->data()) + data->size());
            auto sent = host::api::bus_emit(call.state.policy.bus(), *topic, copy);
            r[0] = value::of_i32(sent ? guest_status::ok : host::api::bus_status(sent.error()));
            return {};
        });
        return f;
    }();
    return functions;
}

} // namespace cordon::wasm
