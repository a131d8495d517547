// The WASI preview 1 subset cordon offers so that ordinary wasi-libc programs run: args,
// environ, clocks, random, captured stdio, files beneath scopes; everything else ENOSYS.
#pragma once

#include <cordon/wasm/host_api.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/sandbox_state.hpp>

#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

namespace wasi {
inline constexpr std::string_view module = "wasi_snapshot_preview1";

// errno values of the preview 1 ABI
inline constexpr std::int32_t success = 0, e2big = 1, eacces = 2, ebadf = 8, eexist = 20, einval = 28, eio = 29,
                              eisdir = 31, eloop = 32, emfile = 33, enametoolong = 37, enoent = 44, enosys = 52,
                              enotdir = 54, espipe = 70, enotcapable = 76;

inline constexpr std::uint8_t filetype_unknown = 0, filetype_char_device = 2, filetype_directory = 3,
                              filetype_regular = 4, filetype_symlink = 7;
inline constexpr std::uint64_t right_fd_read = 1u << 1, right_fd_seek = 1u << 2, right_fd_tell = 1u << 5,
                               right_fd_write = 1u << 6;
inline constexpr std::int32_t oflag_creat = 1, oflag_directory = 2, oflag_excl = 4, oflag_trunc = 8;
inline constexpr std::int32_t fdflag_append = 1;

/// Every function name of wasi_snapshot_preview1; the ones cordon does not implement link to
/// a function that answers ENOSYS, so that programs importing them still load.
inline constexpr std::array<std::string_view, 45> all_functions = {
    "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
    "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
    "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
    "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
    "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
    "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
    "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get", "sock_accept",
    "sock_recv", "sock_send"};
} // namespace wasi

namespace detail {

inline std::int32_t wasi_errno(int err) {
    switch (err) {
    case ENOENT: return wasi::enoent;
    case EACCES:
    case EPERM: return wasi::eacces;
    case EXDEV: return wasi::enotcapable;  // RESOLVE_BENEATH refused an escape
    case ELOOP: return wasi::eloop;
    case EEXIST: return wasi::eexist;
    case EISDIR: return wasi::eisdir;
    case ENOTDIR: return wasi::enotdir;
    case EMFILE:
    case ENFILE: return wasi::emfile;
    case ENAMETOOLONG: return wasi::enametoolong;
    case EINVAL: return wasi::einval;
    case ESPIPE: return wasi::espipe;
    default: return wasi::eio;
    }
}

inline std::uint8_t wasi_filetype(mode_t mode) {
    if (S_ISDIR(mode)) return wasi::filetype_directory;
    if (S_ISREG(mode)) return wasi::filetype_regular;
    if (S_ISLNK(mode)) return wasi::filetype_symlink;
    if (S_ISCHR(mode)) return wasi::filetype_char_device;
    return wasi::filetype_unknown;
}

inline std::uint32_t u32_of(const value& v) { return static_cast<std::uint32_t>(v.i32); }

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
    return state.config.is_granted("env") ? state.config.env : none;
}

inline result<void> write_filestat(host_call& call, std::uint32_t at, const struct stat& st) {
    auto buf = call.memory.bytes(at, 64);
    if (!buf) return buf.error();
    std::array<std::uint8_t, 64> out{};
    auto put64 = [&](std::size_t off, std::uint64_t v) { std::memcpy(out.data() + off, &v, 8); };
    put64(0, st.st_dev);
    put64(8, st.st_ino);
    out[16] = wasi_filetype(st.st_mode);
    put64(24, st.st_nlink);
    put64(32, static_cast<std::uint64_t>(st.st_size));
    auto ns = [](const timespec& t) { return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec); };
    put64(40, ns(st.st_atim));
    put64(48, ns(st.st_mtim));
    put64(56, ns(st.st_ctim));
    std::memcpy(buf->data(), out.data(), out.size());
    return {};
}

/// Gathers the iovecs of fd_read/fd_write, each checked against memory.
inline result<std::vector<std::span<std::uint8_t>>> gather_iovecs(host_call& call, std::uint32_t iovs, std::uint32_t count) {
    if (count > 1024) return fail(error_kind::invalid_argument, "more than 1024 iovecs");
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
    return spans;
}

inline result<void> wasi_fd_write(host_call& call, std::span<const value> p, std::span<value> r) {
    const std::uint32_t fd = u32_of(p[0]);
    auto spans = gather_iovecs(call, u32_of(p[1]), u32_of(p[2]));
    if (!spans) return spans.error();
    std::uint64_t written = 0;
    if (fd == 1 || fd == 2) {
        std::string& sink = fd == 1 ? call.state.stdout_text : call.state.stderr_text;
        for (auto span : *spans) {
            if (auto ok = write_capped(call.state, sink, span); !ok) return ok;
            written += span.size();
        }
    } else {
        handle_entry* entry = call.state.handles.find(fd);
        if (!entry || entry->is_directory || !entry->writable) {
            r[0] = value::of_i32(wasi::ebadf);
            return {};
        }
        for (auto span : *spans) {
            const ssize_t n = ::write(entry->fd.get(), span.data(), span.size());
            if (n < 0) {
                r[0] = value::of_i32(wasi_errno(errno));
                return {};
            }
            written += static_cast<std::uint64_t>(n);
            if (static_cast<std::size_t>(n) < span.size()) break;
        }
    }
    if (auto ok = call.memory.store_u32(u32_of(p[3]), static_cast<std::uint32_t>(written)); !ok) return ok;
    r[0] = value::of_i32(wasi::success);
    return {};
}

inline result<void> wasi_fd_read(host_call& call, std::span<const value> p, std::span<value> r) {
    const std::uint32_t fd = u32_of(p[0]);
    auto spans = gather_iovecs(call, u32_of(p[1]), u32_of(p[2]));
    if (!spans) return spans.error();
    std::uint64_t read_total = 0;
    if (fd == 0) {
        // stdin is the call's input bytes: the bytes-in convention for WASI programs.
        auto& input = call.state.call_input;
        for (auto span : *spans) {
            const std::size_t n = std::min<std::size_t>(span.size(), input.size());
            std::memcpy(span.data(), input.data(), n);
            input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
            read_total += n;
        }
    } else {
        handle_entry* entry = call.state.handles.find(fd);
        if (!entry || entry->is_directory) {
            r[0] = value::of_i32(wasi::ebadf);
            return {};
        }
        for (auto span : *spans) {
            const ssize_t n = ::read(entry->fd.get(), span.data(), span.size());
            if (n < 0) {
                r[0] = value::of_i32(wasi_errno(errno));
                return {};
            }
            read_total += static_cast<std::uint64_t>(n);
            if (static_cast<std::size_t>(n) < span.size()) break;
        }
    }
    if (auto ok = call.memory.store_u32(u32_of(p[3]), static_cast<std::uint32_t>(read_total)); !ok) return ok;
    r[0] = value::of_i32(wasi::success);
    return {};
}

inline result<void> wasi_path_open(host_call& call, std::span<const value> p, std::span<value> r) {
    sandbox_state& state = call.state;
    auto path = call.memory.copy_string(u32_of(p[2]), u32_of(p[3]), max_guest_string);
    if (!path) return path.error();
    handle_entry* dir = state.handles.find(u32_of(p[0]));
    if (!dir || !dir->is_directory) {
        r[0] = value::of_i32(wasi::ebadf);
        return {};
    }
    const std::int32_t oflags = p[4].i32;
    const auto rights = static_cast<std::uint64_t>(p[5].i64);
    const std::int32_t fdflags = p[7].i32;
    const bool want_write = (rights & wasi::right_fd_write) != 0 || (oflags & (wasi::oflag_creat | wasi::oflag_trunc)) != 0 ||
                            (fdflags & wasi::fdflag_append) != 0;
    const bool want_read = (rights & wasi::right_fd_read) != 0 || !want_write;
    if (want_write && (!dir->writable || !state.config.is_granted("fs.write"))) {
        state.record_violation("fs.write", "path_open " + dir->guest_path + "/" + *path);
        r[0] = value::of_i32(wasi::enotcapable);
        return {};
    }
    int flags = want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & wasi::oflag_creat) flags |= O_CREAT;
    if (oflags & wasi::oflag_excl) flags |= O_EXCL;
    if (oflags & wasi::oflag_trunc) flags |= O_TRUNC;
    if (oflags & wasi::oflag_directory) flags = O_RDONLY | O_DIRECTORY;
    if (fdflags & wasi::fdflag_append) flags |= O_APPEND;
    if ((p[1].i32 & 1) == 0) flags |= O_NOFOLLOW;
    int fd = open_beneath(dir->fd.get(), *path, flags, 0644);
    if (fd < 0 && errno == EISDIR && !want_write) fd = open_beneath(dir->fd.get(), *path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        const int err = errno;
        if (err == EXDEV) state.record_violation(want_write ? "fs.write" : "fs.read", "path_open " + *path + " escapes its scope");
        r[0] = value::of_i32(wasi_errno(err));
        return {};
    }
    struct stat st {};
    ::fstat(fd, &st);
    handle_entry entry;
    entry.fd = owned_fd{fd};
    entry.is_directory = S_ISDIR(st.st_mode);
    entry.writable = want_write;
    entry.guest_path = dir->guest_path + "/" + *path;
    auto handle = state.handles.add(std::move(entry), state.config.open_files);
    if (!handle) {
        if (!state.limit_hit) state.limit_hit = handle.error();
        r[0] = value::of_i32(wasi::emfile);
        return {};
    }
    if (auto ok = call.memory.store_u32(u32_of(p[8]), *handle); !ok) return ok;
    r[0] = value::of_i32(wasi::success);
    return {};
}

inline result<void> wasi_fd_readdir(host_call& call, std::span<const value> p, std::span<value> r) {
    handle_entry* entry = call.state.handles.find(u32_of(p[0]));
    if (!entry || !entry->is_directory) {
        r[0] = value::of_i32(wasi::ebadf);
        return {};
    }
    auto buffer = call.memory.bytes(u32_of(p[1]), u32_of(p[2]));
    if (!buffer) return buffer.error();
    const auto cookie = static_cast<std::uint64_t>(p[3].i64);
    const int fd = ::openat(entry->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r[0] = value::of_i32(wasi_errno(errno));
        return {};
    }
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        r[0] = value::of_i32(wasi::eio);
        return {};
    }
    std::vector<std::uint8_t> out;
    std::uint64_t index = 0;
    while (out.size() < buffer->size()) {
        const dirent* d = ::readdir(dir);
        if (!d) break;
        if (index++ < cookie) continue;
        const std::size_t name_len = std::strlen(d->d_name);
        std::array<std::uint8_t, 24> header{};
        const std::uint64_t next = index;
        const std::uint64_t ino = d->d_ino;
        const auto namlen = static_cast<std::uint32_t>(name_len);
        std::memcpy(header.data(), &next, 8);
        std::memcpy(header.data() + 8, &ino, 8);
        std::memcpy(header.data() + 16, &namlen, 4);
        header[20] = d->d_type == DT_DIR ? wasi::filetype_directory
                     : d->d_type == DT_REG ? wasi::filetype_regular
                     : d->d_type == DT_LNK ? wasi::filetype_symlink
                                           : wasi::filetype_unknown;
        out.insert(out.end(), header.begin(), header.end());
        out.insert(out.end(), d->d_name, d->d_name + name_len);
    }
    ::closedir(dir);
    // A full buffer tells the guest to call again from the last whole entry's cookie.
    const std::size_t used = std::min(out.size(), buffer->size());
    std::memcpy(buffer->data(), out.data(), used);
    if (auto ok = call.memory.store_u32(u32_of(p[4]), static_cast<std::uint32_t>(used)); !ok) return ok;
    r[0] = value::of_i32(wasi::success);
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
            r[0] = value::of_i32(wasi::success);
            return result<void>{};
        };
        add("args_sizes_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_sizes(c, c.state.config.args, u32_of(p[0]), u32_of(p[1])); !w) return w;
            return ok(r);
        });
        add("args_get", {{i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            if (auto w = write_string_list(c, c.state.config.args, u32_of(p[0]), u32_of(p[1])); !w) return w;
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
            switch (p[0].i32) {
            case 0: id = CLOCK_REALTIME; break;
            case 1: id = CLOCK_MONOTONIC; break;
            case 2: id = CLOCK_PROCESS_CPUTIME_ID; break;
            case 3: id = CLOCK_THREAD_CPUTIME_ID; break;
            default: r[0] = value::of_i32(wasi::einval); return {};
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
            std::size_t done = 0;
            while (done < buffer->size()) {
                const ssize_t n = ::getrandom(buffer->data() + done, buffer->size() - done, 0);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return fail(error_kind::internal, "getrandom failed");
                done += static_cast<std::size_t>(n);
            }
            return ok(r);
        });
        add("fd_write", {{i32, i32, i32, i32}, {i32}}, std::nullopt, wasi_fd_write);
        add("fd_read", {{i32, i32, i32, i32}, {i32}}, std::nullopt, wasi_fd_read);
        add("fd_close", {{i32}, {i32}}, std::nullopt, [](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            const std::uint32_t fd = u32_of(p[0]);
            r[0] = value::of_i32(fd <= 2 || c.state.handles.close(fd) ? wasi::success : wasi::ebadf);
            return {};
        });
        add("fd_seek", {{i32, i64, i32, i32}, {i32}}, std::nullopt, [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* entry = c.state.handles.find(u32_of(p[0]));
            if (!entry || entry->is_directory) {
                r[0] = value::of_i32(u32_of(p[0]) <= 2 ? wasi::espipe : wasi::ebadf);
                return {};
            }
            static constexpr int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
            if (p[2].i32 < 0 || p[2].i32 > 2) {
                r[0] = value::of_i32(wasi::einval);
                return {};
            }
            const off_t at = ::lseek(entry->fd.get(), p[1].i64, whences[p[2].i32]);
            if (at < 0) {
                r[0] = value::of_i32(wasi_errno(errno));
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
                r[0] = value::of_i32(wasi::ebadf);
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
                r[0] = value::of_i32(wasi::ebadf);
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
                r[0] = value::of_i32(wasi::ebadf);
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
                r[0] = value::of_i32(wasi::ebadf);
                return {};
            }
            if (auto w = write_filestat(c, u32_of(p[1]), st); !w) return w;
            return ok(r);
        });
        add("path_filestat_get", {{i32, i32, i32, i32, i32}, {i32}}, "fs.read", [ok](host_call& c, std::span<const value> p, std::span<value> r) -> result<void> {
            handle_entry* dir = c.state.handles.find(u32_of(p[0]));
            auto path = c.memory.copy_string(u32_of(p[2]), u32_of(p[3]), max_guest_string);
            if (!path) return path.error();
            if (!dir || !dir->is_directory) {
                r[0] = value::of_i32(wasi::ebadf);
                return {};
            }
            const int fd = open_beneath(dir->fd.get(), *path, O_PATH | ((p[1].i32 & 1) ? 0 : O_NOFOLLOW), 0);
            if (fd < 0) {
                if (errno == EXDEV) c.state.record_violation("fs.read", "path_filestat_get " + *path + " escapes its scope");
                r[0] = value::of_i32(wasi_errno(errno));
                return {};
            }
            struct stat st {};
            const int rc = ::fstat(fd, &st);
            ::close(fd);
            if (rc != 0) {
                r[0] = value::of_i32(wasi::eio);
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
            c.state.exit_code = p[0].i32;
            return fail(error_kind::internal, "proc_exit(" + std::to_string(p[0].i32) + ")");
        });
        return f;
    }();
    return functions;
}

/// A stand-in for a preview 1 function cordon does not implement: answers ENOSYS.
inline host_function wasi_unsupported(std::string_view name, const signature& sig) {
    return host_function{std::string(wasi::module), std::string(name), sig, std::nullopt,
                         [](host_call&, std::span<const value>, std::span<value> r) -> result<void> {
                             if (!r.empty()) r[0] = value::of_i32(wasi::enosys);
                             return {};
                         },
                         wasi::enosys, false};
}

} // namespace cordon::wasm
