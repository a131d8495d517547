// SHA-256 of plugin entries (libsodium): hashing files with a size cap, locating an entry
// beneath its manifest's directory, and reading an entry only if its digest matches.
#pragma once

#include <cordon/detail/sha256.hpp>
#include <cordon/plugin/manifest.hpp>
#include <cordon/result.hpp>

#include <sodium.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// Largest entry file hashed or loaded unless the host says otherwise.
inline constexpr std::uint64_t default_max_entry_bytes = 256ULL << 20;

namespace detail {

using cordon::detail::ensure_sodium;
using cordon::detail::to_hex;

/// Compares two equal-length strings in time independent of where they differ.
inline bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// True when `inner` is `outer` or lies beneath it (both already canonical).
inline bool is_beneath(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

} // namespace detail

/// Lower-case hex SHA-256 of a byte string (also of a std::string_view).
using cordon::detail::sha256_hex;

namespace detail {

/// Hashes an open file to its end, refusing it past `max_bytes`.
inline result<std::string> sha256_fd_hex(int fd, const std::string& name, std::uint64_t max_bytes) {
    if (auto ok = ensure_sodium(); !ok) return ok.error();
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::array<unsigned char, 65536> buffer{};
    std::uint64_t total = 0;
    while (true) {
        const auto n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(error_kind::load_error, name + ": read error: " + std::strerror(errno));
        if (n == 0) break;
        total += static_cast<std::uint64_t>(n);
        if (total > max_bytes) return fail(error_kind::load_error, name + ": larger than " + std::to_string(max_bytes) + " bytes");
        crypto_hash_sha256_update(&state, buffer.data(), static_cast<unsigned long long>(n));
    }
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_final(&state, digest.data());
    return to_hex(digest);
}

} // namespace detail

/// Lower-case hex SHA-256 of a regular file, read in chunks; files above `max_bytes` are
/// refused so that a huge entry cannot stall discovery.
inline result<std::string> sha256_file_hex(const std::filesystem::path& path,
                                           std::uint64_t max_bytes = default_max_entry_bytes) {
    detail::unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
    if (fd.get() < 0) return fail(error_kind::load_error, path.string() + ": " + std::strerror(errno));
    if (auto ok = detail::expect_regular(fd.get(), path.string()); !ok) return ok.error();
    return detail::sha256_fd_hex(fd.get(), path.string(), max_bytes);
}

/// The entry's real location: `manifest_dir / entry`, canonicalised, and refused when a
/// symlink takes it outside the manifest's directory.
inline result<std::filesystem::path> locate_entry(const manifest& m, const std::filesystem::path& manifest_dir) {
    std::error_code ec;
    const auto root = std::filesystem::canonical(manifest_dir, ec);
    if (ec) return fail(error_kind::load_error, manifest_dir.string() + ": " + ec.message());
    const auto entry = std::filesystem::canonical(root / m.entry, ec);
    if (ec) return fail(error_kind::load_error, "entry \"" + m.entry + "\" of " + m.id + ": " + ec.message());
    if (!detail::is_beneath(entry, root))
        return fail(error_kind::load_error, "entry \"" + m.entry + "\" of " + m.id + " resolves outside the plugin's directory");
    return entry;
}

/// Opens the entry for reading, resolved beneath the manifest's directory by the kernel
/// (openat2 with RESOLVE_BENEATH), so no symlink or rename can point it elsewhere between
/// the check and the read. Kernels without openat2 get locate_entry and O_NOFOLLOW.
inline result<detail::unique_fd> open_entry(const manifest& m, const std::filesystem::path& manifest_dir) {
    const std::string name = "entry \"" + m.entry + "\" of " + m.id;
    detail::unique_fd dir{::open(manifest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.get() < 0) return fail(error_kind::load_error, manifest_dir.string() + ": " + std::strerror(errno));
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, dir.get(), m.entry.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        auto path = locate_entry(m, manifest_dir);
        if (!path) return path.error();
        fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
    }
    if (fd < 0) {
        if (errno == EXDEV) return fail(error_kind::load_error, name + " resolves outside the plugin's directory");
        return fail(error_kind::load_error, name + ": " + std::strerror(errno));
    }
    detail::unique_fd file{static_cast<int>(fd)};
    if (auto ok = detail::expect_regular(file.get(), name); !ok) return ok.error();
    return file;
}

/// Checks that the entry file's SHA-256 matches the manifest's `sha256`.
inline result<void> check_entry_digest(const manifest& m, const std::filesystem::path& manifest_dir,
                                       std::uint64_t max_bytes = default_max_entry_bytes) {
    auto file = open_entry(m, manifest_dir);
    if (!file) return file.error();
    auto actual = detail::sha256_fd_hex(file->get(), "entry \"" + m.entry + "\" of " + m.id, max_bytes);
    if (!actual) return actual.error();
    if (!detail::constant_time_equal(*actual, m.sha256))
        return fail(error_kind::load_error, "entry \"" + m.entry + "\" of " + m.id + " " + m.version.to_string() +
                                                " does not match its sha256 (expected " + m.sha256 + ", got " + *actual +
                                                "): the file was modified after the manifest was written");
    return {};
}

/// Reads the entry into memory and checks its digest on those same bytes, so the code that
/// runs is exactly the code that was checked (no time-of-check/time-of-use gap).
inline result<std::vector<unsigned char>> read_verified_entry(const manifest& m, const std::filesystem::path& manifest_dir,
                                                              std::uint64_t max_bytes = default_max_entry_bytes) {
    auto file = open_entry(m, manifest_dir);
    if (!file) return file.error();
    auto bytes = detail::read_all_bounded(file->get(), "entry \"" + m.entry + "\" of " + m.id, max_bytes);
    if (!bytes) return bytes.error();
    const std::string actual = sha256_hex(*bytes);
    if (!detail::constant_time_equal(actual, m.sha256))
        return fail(error_kind::load_error, "entry \"" + m.entry + "\" of " + m.id + " " + m.version.to_string() +
                                                " does not match its sha256 (expected " + m.sha256 + ", got " + actual + ")");
    return std::vector<unsigned char>(bytes->begin(), bytes->end());
}

} // namespace cordon::plugin
