// The host API as imports of the `cordon` module, made from the table in cordon/host/api.hpp:
// each entry's parameters are taken from the guest's pointers and lengths by their kind, then the
// entry's work runs (the host's own, or this backend's for files and the call's bytes). The linker
// has already counted the call and checked the grant. Its C side is cordon/guest/cordon.h.
#pragma once

#include <cordon/host/api.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/sandbox_state.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon::wasm {

/// Status codes the `cordon` imports return (negative), mirrored in cordon/guest/cordon.h.
namespace guest_status = cordon::host::guest_status;

namespace detail {

inline constexpr std::uint64_t max_guest_string = host::api::max_text;  // paths, keys, names

// ---- how each kind of parameter comes from a wasm guest ---------------------------------------
// `width` i32 values of the import; `take` reads them (an error stops the guest, nothing means
// "answer CORDON_ERR_INVALID"); `view` is what the function is passed.

template <class Kind> struct guest_param;

template <> struct guest_param<std::int32_t> {
    static constexpr std::size_t width = 1;
    using held = std::int32_t;
    static result<std::optional<held>> take(host_call&, const value* p) { return std::optional<held>{p[0].as<std::int32_t>()}; }
    static std::int32_t view(held& h) { return h; }
};

inline std::uint32_t offset_of(const value& v) { return v.as<std::uint32_t>(); }

template <> struct guest_param<host::api::text> {
    static constexpr std::size_t width = 2;
    using held = std::string;
    static result<std::optional<held>> take(host_call& call, const value* p) {
        if (offset_of(p[1]) > host::api::max_text) return std::optional<held>{};
        auto copied = call.memory.copy_string(offset_of(p[0]), offset_of(p[1]), host::api::max_text);
        if (!copied) return copied.error();
        return std::optional<held>{std::move(*copied)};
    }
    static host::api::text view(held& h) { return {h}; }
};

template <> struct guest_param<host::api::bytes> {
    static constexpr std::size_t width = 2;
    using held = std::span<const std::byte>;
    static result<std::optional<held>> take(host_call& call, const value* p) {
        auto span = call.memory.bytes(offset_of(p[0]), offset_of(p[1]));
        if (!span) return span.error();
        return std::optional<held>{std::as_bytes(*span)};
    }
    static host::api::bytes view(held& h) { return {h}; }
};

/// The guest's buffer is found in its memory when the answer is written, not before.
struct guest_buffer {
    guest_memory memory;
    std::uint32_t offset;
    std::uint32_t capacity;
    std::optional<host::api::out_buffer> buffer{};
};

template <> struct guest_param<host::api::out_buffer&> {
    static constexpr std::size_t width = 2;
    using held = guest_buffer;
    static result<std::optional<held>> take(host_call& call, const value* p) {
        return std::optional<held>{guest_buffer{call.memory, offset_of(p[0]), offset_of(p[1])}};
    }
    static host::api::out_buffer& view(held& h) {
        static constexpr host::api::out_buffer::locate at = [](void* where, std::size_t n) -> result<std::span<std::byte>> {
            const auto& b = *static_cast<const guest_buffer*>(where);
            auto span = b.memory.bytes(b.offset, n);
            if (!span) return span.error();
            return std::as_writable_bytes(*span);
        };
        return h.buffer.emplace(h.capacity, &h, at);
    }
};

template <class R> constexpr std::vector<value_type> results_of() {
    if constexpr (std::is_void_v<R>) return {};
    else return {value_type_of<R>()};
}

/// An import made from a function over kinds: its wasm type, and the callback that takes its
/// parameters from the guest, runs it with the sandbox's policy (the host's work) or the call
/// (this backend's), and hands back its result.
template <auto Work> struct import_of;
template <class Server, class R, class... Kinds, result<R> (*Work)(Server, Kinds...)>
struct import_of<Work> {
    static constexpr std::array<std::size_t, sizeof...(Kinds)> widths{guest_param<Kinds>::width...};

    static signature type() {
        std::size_t n = 0;
        for (auto w : widths) n += w;
        return signature{std::vector<value_type>(n, value_type::i32), results_of<R>()};
    }

    static result<void> run(host_call& call, std::span<const value> p, std::span<value> r) {
        return run_indexed(call, p, r, std::index_sequence_for<Kinds...>{});
    }

private:
    static constexpr std::size_t first_of(std::size_t i) {
        std::size_t at = 0;
        for (std::size_t k = 0; k < i; ++k) at += widths[k];
        return at;
    }

    template <std::size_t... I>
    static result<void> run_indexed(host_call& call, std::span<const value> p, std::span<value> r,
                                    std::index_sequence<I...>) {
        std::tuple<std::optional<typename guest_param<Kinds>::held>...> held;
        std::optional<error> stop;
        bool invalid = false;
        auto take = [&](auto& slot, auto taken) {
            if (stop || invalid) return;
            if (!taken) stop = taken.error();
            else if (!*taken) invalid = true;
            else slot = std::move(**taken);
        };
        (take(std::get<I>(held), guest_param<Kinds>::take(call, p.data() + first_of(I))), ...);
        (void)take;  // a function without parameters takes none
        if (stop) return *stop;
        if constexpr (!std::is_void_v<R>) {
            if (invalid) {
                r[0] = value::of<std::int32_t>(guest_status::invalid);
                return {};
            }
        }
        auto out = Work(server(call), guest_param<Kinds>::view(*std::get<I>(held))...);
        if (!out) return out.error();
        if constexpr (!std::is_void_v<R>) r[0] = value::of<R>(*out);
        return {};
    }

    static decltype(auto) server(host_call& call) {
        if constexpr (std::is_same_v<std::remove_cvref_t<Server>, host::policy_view>) return (call.state.policy);
        else return (call);
    }
};

// ---- this backend's work: files through handles, the call's bytes -----------------------------

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
inline std::optional<std::pair<std::uint32_t, std::string>> find_scope(sandbox_state& state, std::string_view path) {
    for (std::size_t i = 0; i < state.preopens().size(); ++i) {
        const std::string& root = state.preopens()[i].guest_path;
        if (path == root) return std::pair{handle_table::first_handle + static_cast<std::uint32_t>(i), std::string(".")};
        if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
            (root.back() == '/' || path[root.size()] == '/')) {
            std::string rest{path.substr(root.size())};
            while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
            return std::pair{handle_table::first_handle + static_cast<std::uint32_t>(i), rest.empty() ? "." : rest};
        }
    }
    return std::nullopt;
}

/// fs_open(path, flags) -> handle or status; flags bit 0 = write (needs fs.write and a writable scope).
inline result<std::int32_t> fs_open(host_call& call, host::api::text guest_path, std::int32_t flags) {
    sandbox_state& state = call.state;
    const std::string path{guest_path.value};
    const bool want_write = (flags & 1) != 0;
    if (want_write && !state.policy.granted(perm::id::fs_write)) {
        state.record_violation(perm::id::fs_write, "fs_open " + path);
        return guest_status::denied;
    }
    const auto kind = want_write ? perm::id::fs_write : perm::id::fs_read;
    auto scope = find_scope(state, path);
    if (!scope) {
        state.record_violation(kind, "fs_open " + path + " (outside every scope)");
        return guest_status::denied;
    }
    handle_entry* dir = state.handles.find(scope->first);
    if (want_write && !dir->writable) {
        state.record_violation(perm::id::fs_write, "fs_open " + path + " (read-only scope)");
        return guest_status::denied;
    }
    const int fd = open_beneath(dir->fd.get(), scope->second, want_write ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY, 0644);
    if (fd < 0) {
        const int err = errno;
        if (err == EXDEV || err == ELOOP) state.record_violation(kind, "fs_open " + path + " (escapes its scope)");
        return status_from_errno(err);
    }
    handle_entry entry;
    entry.fd = cordon::detail::unique_fd{fd};
    entry.writable = want_write;
    entry.guest_path = path;
    auto handle = state.handles.add(std::move(entry), state.limits().open_files);
    if (!handle) {
        if (!state.limit_hit) state.limit_hit = handle.error();
        return guest_status::limit;
    }
    return static_cast<std::int32_t>(*handle);
}

inline result<std::int32_t> fs_read(host_call& call, std::int32_t handle, host::api::out_buffer& out) {
    handle_entry* entry = call.state.handles.find(static_cast<std::uint32_t>(handle));
    if (!entry || entry->is_directory) return guest_status::bad_handle;
    auto room = out.room(out.capacity());
    if (!room) return room.error();
    const ssize_t n = ::read(entry->fd.get(), room->data(), room->size());
    return n < 0 ? status_from_errno(errno) : static_cast<std::int32_t>(n);
}

inline result<std::int32_t> fs_write(host_call& call, std::int32_t handle, host::api::bytes data) {
    handle_entry* entry = call.state.handles.find(static_cast<std::uint32_t>(handle));
    if (!entry || entry->is_directory || !entry->writable) return guest_status::bad_handle;
    const ssize_t n = ::write(entry->fd.get(), data.value.data(), data.value.size());
    return n < 0 ? status_from_errno(errno) : static_cast<std::int32_t>(n);
}

inline result<std::int32_t> fs_close(host_call& call, std::int32_t handle) {
    return call.state.handles.close(static_cast<std::uint32_t>(handle)) ? guest_status::ok : guest_status::bad_handle;
}

inline result<std::int32_t> input_size(host_call& call) { return host::api::length_status(call.state.call_input.size()); }

/// Copies as much of the input as fits; how much.
inline result<std::int32_t> input_read(host_call& call, host::api::out_buffer& out) {
    auto copied = out.put_prefix(std::as_bytes(std::span{call.state.call_input}));
    if (!copied) return copied.error();
    return host::api::length_status(*copied);
}

/// Appends to the call's output bytes; past the output cap the guest is stopped.
inline result<std::int32_t> output_write(host_call& call, host::api::bytes data) {
    if (auto charged = call.state.charge_call_output(data.value.size()); !charged) return charged.error();
    const auto* first = reinterpret_cast<const std::uint8_t*>(data.value.data());
    call.state.call_output.insert(call.state.call_output.end(), first, first + data.value.size());
    return guest_status::ok;
}

/// The work of each function by its number: the host's, or this backend's.
template <host::api::fn F> constexpr auto work_of() {
    using host::api::fn;
    if constexpr (host::api::entry_of(F).served_by == host::api::server::host) return host::api::host_work<F>::run;
    else if constexpr (F == fn::fs_open) return &fs_open;
    else if constexpr (F == fn::fs_read) return &fs_read;
    else if constexpr (F == fn::fs_write) return &fs_write;
    else if constexpr (F == fn::fs_close) return &fs_close;
    else if constexpr (F == fn::input_size) return &input_size;
    else if constexpr (F == fn::input_read) return &input_read;
    else if constexpr (F == fn::output_write) return &output_write;
}

template <host::api::fn F> host_function import_for() {
    constexpr auto& e = host::api::entry_of(F);
    using import = import_of<work_of<F>()>;
    std::optional<std::string> permission;
    if (e.permission) permission = std::string(host::api::permission_name(e));
    return host_function{"cordon", std::string(e.name), import::type(), std::move(permission), &import::run,
                         guest_status::denied, false};
}

} // namespace detail

/// The `cordon` module's functions: one import per entry of the host API table that a wasm guest
/// imports (host::api::imported_by_wasm).
inline const std::vector<host_function>& cordon_host_api() {
    static const std::vector<host_function> functions = [] {
        std::vector<host_function> f;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            auto add = [&]<host::api::fn F>() {
                if constexpr (host::api::imported_by_wasm(host::api::entry_of(F)))
                    f.push_back(detail::import_for<F>());
            };
            (add.template operator()<host::api::functions[I].id>(), ...);
        }(std::make_index_sequence<std::size(host::api::functions)>{});
        return f;
    }();
    return functions;
}

} // namespace cordon::wasm
