// The WASI preview 1 subset cordon offers so that ordinary wasi-libc programs run: args,
// environ, clocks, random, captured stdio, files beneath scopes; everything else ENOSYS.
#pragma once

#include <cordon/detail/bytes.hpp>
#include <cordon/wasm/host_api.hpp>
#include <cordon/wasm/wasi_abi.hpp>
#include <cordon/wasm/wasi_files.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/sandbox_state.hpp>

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

namespace detail {

/// Writes a list of strings the way args_get/environ_get lay them out.
inline result<void> write_string_list(host_call& call, const std::vector<std::string>& list, std::uint32_t pointers,
                                      std::uint32_t buffer) {
    std::uint64_t offset = buffer;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (auto ok = call.memory.store_u32(pointers + 4 * i, static_cast<std::uint32_t>(offset)); !ok) return ok;
        const std::string& s = list[i];
        if (auto ok = call.memory.store(offset, std::span{reinterpret_cast<const std::uint8_t*>(s.c_str()), s.size() + 1}); !ok)
            return ok;
        offset += s.size() + 1;
    }
    return {};
}

inline result<void> write_string_sizes(host_call& call, const std::vector<std::string>& list, std::uint32_t count_at,
                                       std::uint32_t size_at) {
    std::uint64_t bytes = 0;
    for (const auto& s : list) bytes += s.size() + 1;
    if (auto ok = call.memory.store_u32(count_at, static_cast<std::uint32_t>(list.size())); !ok) return ok;
    return call.memory.store_u32(size_at, static_cast<std::uint32_t>(bytes));
}

inline const std::vector<std::string>& visible_env(sandbox_state& state) {
    static const std::vector<std::string> none;
    return state.policy.granted(perm::id::env) ? state.environment : none;
}

/// Gathers the iovecs of fd_read/fd_write, each checked against memory. More than
/// wasi::max_iovecs is EINVAL in r[0] and no spans, as readv/writev answer past IOV_MAX: a
/// request the guest can handle, not a fault to stop it for. An iovec outside memory traps.
inline result<std::optional<std::vector<std::span<std::uint8_t>>>> gather_iovecs(host_call& call, std::uint32_t iovs,
                                                                                 std::uint32_t count, std::span<value> r) {
    if (count > wasi::max_iovecs) {
        r[0] = value::of<std::int32_t>(wasi::einval);
        return std::optional<std::vector<std::span<std::uint8_t>>>{};
    }
    std::vector<std::span<std::uint8_t>> spans;
    spans.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        auto base = call.memory.load_u32(std::uint64_t{iovs} + 8u * i);
        auto len = call.memory.load_u32(std::uint64_t{iovs} + 8u * i + 4);
        if (!base || !len) return fail(error_kind::trap, "iovec array outside guest memory");
        auto span = call.memory.bytes(*base, *len);
        if (!span) return span.error();
        spans.push_back(*span);
    }
    return std::optional{std::move(spans)};
}

inline result<void> wasi_fd_write(host_call& call, std::span<const value> p, std::span<value> r) {
    const std::uint32_t fd = u32_of(p[0]);
    auto gathered = gather_iovecs(call, u32_of(p[1]), u32_of(p[2]), r);
    if (!gathered) return gathered.error();
    if (!*gathered) return {};
    const auto& spans = **gathered;
    std::uint64_t written = 0;
    if (fd == 1 || fd == 2) {
        const auto stream = fd == 1 ? host::stream::out : host::stream::err;
        for (auto span : spans) {
            if (auto ok = call.state.policy.write(stream, {reinterpret_cast<const char*>(span.data()), span.size()}); !ok) return ok;
            written += span.size();
        }
    } else {
        handle_entry* entry = call.state.handles.find(fd);
        if (!entry || entry->is_directory || !entry->writable) {
            r[0] = value::of<std::int32_t>(wasi::ebadf);
            return {};
        }
        for (auto span : spans) {
            const ssize_t n = ::write(entry->fd.get(), span.data(), span.size());
            if (n < 0) {
                r[0] = value::of<std::int32_t>(wasi_errno(errno));
                return {};
            }
            written += static_cast<std::uint64_t>(n);
            if (static_cast<std::size_t>(n) < span.size()) break;
        }
    }
    if (auto ok = call.memory.store_u32(u32_of(p[3]), static_cast<std::uint32_t>(written)); !ok) return ok;
    r[0] = value::of<std::int32_t>(wasi::success);
    return {};
}

inline result<void> wasi_fd_read(host_call& call, std::span<const value> p, std::span<value> r) {
    const std::uint32_t fd = u32_of(p[0]);
    auto gathered = gather_iovecs(call, u32_of(p[1]), u32_of(p[2]), r);
    if (!gathered) return gathered.error();
    if (!*gathered) return {};
    const auto& spans = **gathered;
    std::uint64_t read_total = 0;
    if (fd == 0) {
        // stdin is the call's input bytes: the bytes-in convention for WASI programs.
        auto& input = call.state.call_input;
        for (auto span : spans) {
            const std::size_t n = std::min<std::size_t>(span.size(), input.size());
            cordon::detail::copy_bytes(span.data(), input.data(), n);
            input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
            read_total += n;
        }
    } else {
        handle_entry* entry = call.state.handles.find(fd);
        if (!entry || entry->is_directory) {
            r[0] = value::of<std::int32_t>(wasi::ebadf);
            return {};
        }
        for (auto span : spans) {
            const ssize_t n = ::read(entry->fd.get(), span.data(), span.size());
            if (n < 0) {
                r[0] = value::of<std::int32_t>(wasi_errno(errno));
                return {};
            }
            read_total += static_cast<std::uint64_t>(n);
            if (static_cast<std::size_t>(n) < span.size()) break;
        }
    }
    if (auto ok = call.memory.store_u32(u32_of(p[3]), static_cast<std::uint32_t>(read_total)); !ok) return ok;
    r[0] = value::of<std::int32_t>(wasi::success);
    return {};
}

} // namespace detail

/// The implemented functions of wasi_snapshot_preview1.
inline const std::vector<host_function>& wasi_host_api() {
    static const std::vector<host_function> functions = [] {
        using namespace detail;
        std::vector<host_function> f;
        constexpr auto i32 = value_type::i32;
        constexpr auto i64 = value_type::i64;
        auto add = [&](std::string_view name, signature sig, std::optional<std::string> permission, host_callback cb) {
            const bool environ = name.starts_with("environ_");
            f.push_back(host_function{std::string(wasi::module), std::string(name), std::move(sig), std::move(permission),
                                      std::move(cb), wasi::enotcapable, environ});
        };
        auto ok = [](std::span<value> r) {
            r[0] = value::of<std::int32_t>(wasi::success);
            return result<void>{};
        };
        add("args_sizes_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_sizes(c, c.state.options.args, u32_of(p[0]), u32_of(p[1])); !w) return w;
            return ok(r);
        });
        add("args_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_list(c, c.state.options.args, u32_of(p[0]), u32_of(p[1])); !w) return w;
            return ok(r);
        });
        add("environ_sizes_get", {{i32, i32}, {i32}}, "env", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_sizes(c, visible_env(c.state), u32_of(p[0]), u32_of(p[1])); !w) return w;
            return ok(r);
        });
        add("environ_get", {{i32, i32}, {i32}}, "env", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_list(c, visible_env(c.state), u32_of(p[0]), u32_of(p[1])); !w) return w;
            return ok(r);
        });
        add("clock_time_get", {{i32, i64, i32}, {i32}}, "clock", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            clockid_t id = CLOCK_REALTIME;
            switch (p[0].as<std::int32_t>()) {
            case 0: id = CLOCK_REALTIME; break;
            case 1: id = CLOCK_MONOTONIC; break;
            case 2: id = CLOCK_PROCESS_CPUTIME_ID; break;
            case 3: id = CLOCK_THREAD_CPUTIME_ID; break;
            default: r[0] = value::of<std::int32_t>(wasi::einval); return {};
            }
            timespec ts{};
            ::clock_gettime(id, &ts);
            const std::uint64_t ns = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
            if (auto w = c.memory.store_u64(u32_of(p[2]), ns); !w) return w;
            return ok(r);
        });
        add("clock_res_get", {{i32, i32}, {i32}}, "clock", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = c.memory.store_u64(u32_of(p[1]), 1); !w) return w;
            return ok(r);
        });
        add("random_get", {{i32, i32}, {i32}}, "random", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            auto buffer = c.memory.bytes(u32_of(p[0]), u32_of(p[1]));
            if (!buffer) return buffer.error();
            if (auto filled = host::api::fill_random(std::as_writable_bytes(*buffer)); !filled) return filled;
            return ok(r);
        });
        add("fd_write", {{i32, i32, i32, i32}, {i32}}, std::nullopt, wasi_fd_write);
        add("fd_read", {{i32, i32, i32, i32}, {i32}}, std::nullopt, wasi_fd_read);
        add("fd_close", {{i32}, {i32}}, std::nullopt, [](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            const std::uint32_t fd = u32_of(p[0]);
            r[0] = value::of<std::int32_t>(fd <= 2 || c.state.handles.close(fd) ? wasi::success : wasi::ebadf);
            return {};
        });
        add("fd_seek", {{i32, i64, i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* entry = c.state.handles.find(u32_of(p[0]));
            if (!entry || entry->is_directory) {
                r[0] = value::of<std::int32_t>(u32_of(p[0]) <= 2 ? wasi::espipe : wasi::ebadf);
                return {};
            }
            static constexpr int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
            if (p[2].as<std::int32_t>() < 0 || p[2].as<std::int32_t>() > 2) {
                r[0] = value::of<std::int32_t>(wasi::einval);
                return {};
            }
            const off_t at = ::lseek(entry->fd.get(), p[1].as<std::int64_t>(), whences[p[2].as<std::int32_t>()]);
            if (at < 0) {
                r[0] = value::of<std::int32_t>(wasi_errno(errno));
                return {};
            }
            if (auto w = c.memory.store_u64(u32_of(p[3]), static_cast<std::uint64_t>(at)); !w) return w;
            return ok(r);
        });
        add("fd_fdstat_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            const std::uint32_t fd = u32_of(p[0]);
            std::array<std::uint8_t, 24> out{};
            std::uint64_t rights = 0;
            if (fd <= 2) {
                out[0] = wasi::filetype_char_device;
                rights = fd == 0 ? wasi::right_fd_read : wasi::right_fd_write;
            } else if (handle_entry* entry = c.state.handles.find(fd)) {
                out[0] = entry->is_directory ? wasi::filetype_directory : wasi::filetype_regular;
                // Directories may be used for path_open and readdir: all rights beneath them.
                rights = entry->is_directory ? ~std::uint64_t{0}
                                             : wasi::right_fd_read | wasi::right_fd_seek | wasi::right_fd_tell |
                                                   (entry->writable ? wasi::right_fd_write : 0);
            } else {
                r[0] = value::of<std::int32_t>(wasi::ebadf);
                return {};
            }
            std::memcpy(out.data() + 8, &rights, 8);
            std::memcpy(out.data() + 16, &rights, 8);
            if (auto w = c.memory.store(u32_of(p[1]), out); !w) return w;
            return ok(r);
        });
        add("fd_prestat_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* entry = c.state.handles.find(u32_of(p[0]));
            if (!entry || !entry->preopen_index) {
                r[0] = value::of<std::int32_t>(wasi::ebadf);
                return {};
            }
            std::array<std::uint8_t, 8> out{};
            const auto len = static_cast<std::uint32_t>(entry->guest_path.size());
            std::memcpy(out.data() + 4, &len, 4);
            if (auto w = c.memory.store(u32_of(p[1]), out); !w) return w;
            return ok(r);
        });
        add("fd_prestat_dir_name", {{i32, i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* entry = c.state.handles.find(u32_of(p[0]));
            if (!entry || !entry->preopen_index) {
                r[0] = value::of<std::int32_t>(wasi::ebadf);
                return {};
            }
            const std::string& name = entry->guest_path;
            const std::size_t n = std::min<std::size_t>(name.size(), u32_of(p[2]));
            if (auto w = c.memory.store(u32_of(p[1]), std::span{reinterpret_cast<const std::uint8_t*>(name.data()), n}); !w) return w;
            return ok(r);
        });
        add("fd_filestat_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* entry = c.state.handles.find(u32_of(p[0]));
            struct stat st {};
            if (!entry || ::fstat(entry->fd.get(), &st) != 0) {
                r[0] = value::of<std::int32_t>(wasi::ebadf);
                return {};
            }
            if (auto w = write_filestat(c, u32_of(p[1]), st); !w) return w;
            return ok(r);
        });
        add("path_filestat_get", {{i32, i32, i32, i32, i32}, {i32}}, "fs.read", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* dir = c.state.handles.find(u32_of(p[0]));
            auto checked = guest_path(c, u32_of(p[2]), u32_of(p[3]), r);
            if (!checked) return checked.error();
            if (!*checked) return {};
            const std::string* path = &**checked;
            if (!dir || !dir->is_directory) {
                r[0] = value::of<std::int32_t>(wasi::ebadf);
                return {};
            }
            const int fd = open_beneath(dir->fd.get(), *path, O_PATH | ((p[1].as<std::int32_t>() & 1) ? 0 : O_NOFOLLOW), 0);
            if (fd < 0) {
                if (errno == EXDEV) c.state.record_violation(perm::id::fs_read, "path_filestat_get " + *path + " escapes its scope");
                r[0] = value::of<std::int32_t>(wasi_errno(errno));
                return {};
            }
            struct stat st {};
            const int rc = ::fstat(fd, &st);
            ::close(fd);
            if (rc != 0) {
                r[0] = value::of<std::int32_t>(wasi::eio);
                return {};
            }
            if (auto w = write_filestat(c, u32_of(p[4]), st); !w) return w;
            return ok(r);
        });
        add("path_open", {{i32, i32, i32, i32, i32, i64, i64, i32, i32}, {i32}}, "fs.read", wasi_path_open);
        add("fd_readdir", {{i32, i32, i32, i64, i32}, {i32}}, "fs.read", wasi_fd_readdir);
        add("sched_yield", {{}, {i32}}, std::nullopt, [ok](host_call&, std::span<const value>, std::span<value> r) { return ok(r); });
        add("proc_exit", {{i32}, {}}, std::nullopt, [](host_call& c, std::span<const value> p, std::span<value>) -> result<void> {
            // Not a fault: the engine sees exit_code and turns the unwinding into a clean result.
            c.state.exit_code = p[0].as<std::int32_t>();
            return fail(error_kind::internal, "proc_exit(" + std::to_string(p[0].as<std::int32_t>()) + ")");
        });
        return f;
    }();
    return functions;
}

/// A stand-in for a preview 1 function cordon does not implement: answers ENOSYS.
inline host_function wasi_unsupported(std::string_view name, const signature& sig) {
    return host_function{std::string(wasi::module), std::string(name), sig, std::nullopt,
                         [](host_call&, std::span<const value>, std::span<value> r) -> result<void> {
                             if (!r.empty()) r[0] = value::of<std::int32_t>(wasi::enosys);
                             return {};
                         },
                         wasi::enosys, false};
}

} // namespace cordon::wasm
