// WASI's files beneath scopes: path_open, fd_readdir and stat helpers. Every path is resolved by
// the kernel beneath its preopened directory (openat2 RESOLVE_BENEATH), never by string checks.
#pragma once

#include <cordon/detail/bytes.hpp>
#include <cordon/wasm/host_api.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/wasi_abi.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cordon::wasm::detail {

inline std::uint32_t u32_of(const value& v) { return v.as<std::uint32_t>(); }

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
    cordon::detail::copy_bytes(buf->data(), out.data(), out.size());
    return {};
}

/// A path the guest passes. Longer than the host takes, it is ENAMETOOLONG in r[0] and no path, as
/// a kernel answers open() (the guest asked for something unreasonable, not something forbidden:
/// programs handle the errno, and stopping them would add no safety). Outside guest memory it
/// traps: the guest's own pointer is wrong, as if it had dereferenced it.
inline result<std::optional<std::string>> guest_path(host_call& call, std::uint32_t at, std::uint32_t length,
                                                     std::span<value> r) {
    if (length > max_guest_string) {
        r[0] = value::of<std::int32_t>(wasi::enametoolong);
        return std::optional<std::string>{};
    }
    auto path = call.memory.copy_string(at, length, max_guest_string);
    if (!path) return path.error();
    return std::optional<std::string>{std::move(*path)};
}

inline result<void> wasi_path_open(host_call& call, std::span<const value> p, std::span<value> r) {
    sandbox_state& state = call.state;
    auto checked = guest_path(call, u32_of(p[2]), u32_of(p[3]), r);
    if (!checked) return checked.error();
    if (!*checked) return {};
    const std::string* path = &**checked;
    handle_entry* dir = state.handles.find(u32_of(p[0]));
    if (!dir || !dir->is_directory) {
        r[0] = value::of<std::int32_t>(wasi::ebadf);
        return {};
    }
    const std::int32_t oflags = p[4].as<std::int32_t>();
    const auto rights = p[5].as<std::uint64_t>();
    const std::int32_t fdflags = p[7].as<std::int32_t>();
    const bool want_write = (rights & wasi::right_fd_write) != 0 || (oflags & (wasi::oflag_creat | wasi::oflag_trunc)) != 0 ||
                            (fdflags & wasi::fdflag_append) != 0;
    const bool want_read = (rights & wasi::right_fd_read) != 0 || !want_write;
    if (want_write && (!dir->writable || !state.policy.granted(perm::id::fs_write))) {
        state.record_violation(perm::id::fs_write, "path_open " + dir->guest_path + "/" + *path);
        r[0] = value::of<std::int32_t>(wasi::enotcapable);
        return {};
    }
    int flags = want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & wasi::oflag_creat) flags |= O_CREAT;
    if (oflags & wasi::oflag_excl) flags |= O_EXCL;
    if (oflags & wasi::oflag_trunc) flags |= O_TRUNC;
    if (oflags & wasi::oflag_directory) flags = O_RDONLY | O_DIRECTORY;
    if (fdflags & wasi::fdflag_append) flags |= O_APPEND;
    if ((p[1].as<std::int32_t>() & 1) == 0) flags |= O_NOFOLLOW;
    int fd = open_beneath(dir->fd.get(), *path, flags, 0644);
    if (fd < 0 && errno == EISDIR && !want_write) fd = open_beneath(dir->fd.get(), *path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        const int err = errno;
        if (err == EXDEV) state.record_violation(want_write ? perm::id::fs_write : perm::id::fs_read, "path_open " + *path + " escapes its scope");
        r[0] = value::of<std::int32_t>(wasi_errno(err));
        return {};
    }
    struct stat st {};
    ::fstat(fd, &st);
    handle_entry entry;
    entry.fd = cordon::detail::unique_fd{fd};
    entry.is_directory = S_ISDIR(st.st_mode);
    entry.writable = want_write;
    entry.guest_path = dir->guest_path + "/" + *path;
    auto handle = state.handles.add(std::move(entry), state.limits().open_files);
    if (!handle) {
        if (!state.limit_hit) state.limit_hit = handle.error();
        r[0] = value::of<std::int32_t>(wasi::emfile);
        return {};
    }
    if (auto ok = call.memory.store_u32(u32_of(p[8]), *handle); !ok) return ok;
    r[0] = value::of<std::int32_t>(wasi::success);
    return {};
}

inline result<void> wasi_fd_readdir(host_call& call, std::span<const value> p, std::span<value> r) {
    handle_entry* entry = call.state.handles.find(u32_of(p[0]));
    if (!entry || !entry->is_directory) {
        r[0] = value::of<std::int32_t>(wasi::ebadf);
        return {};
    }
    auto buffer = call.memory.bytes(u32_of(p[1]), u32_of(p[2]));
    if (!buffer) return buffer.error();
    const auto cookie = p[3].as<std::uint64_t>();
    const int fd = ::openat(entry->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r[0] = value::of<std::int32_t>(wasi_errno(errno));
        return {};
    }
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        r[0] = value::of<std::int32_t>(wasi::eio);
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
    cordon::detail::copy_bytes(buffer->data(), out.data(), used);
    if (auto ok = call.memory.store_u32(u32_of(p[4]), static_cast<std::uint32_t>(used)); !ok) return ok;
    r[0] = value::of<std::int32_t>(wasi::success);
    return {};
}

} // namespace cordon::wasm::detail
