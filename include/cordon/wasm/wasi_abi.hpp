// The WASI preview 1 ABI as cordon uses it: errno values, file types, rights and flags, and
// the list of every preview 1 function name.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace cordon::wasm {

namespace wasi {
inline constexpr std::string_view module = "wasi_snapshot_preview1";

// errno values of the preview 1 ABI
inline constexpr std::int32_t success = 0, e2big = 1, eacces = 2, ebadf = 8, eexist = 20, einval = 28, eio = 29,
                              eisdir = 31, eloop = 32, emfile = 33, enametoolong = 37, enoent = 44, enosys = 52,
                              enotdir = 54, espipe = 70, enotcapable = 76;

/// The most iovecs one fd_read or fd_write takes (Linux's IOV_MAX); more is EINVAL.
inline constexpr std::uint32_t max_iovecs = 1024;

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

} // namespace cordon::wasm
