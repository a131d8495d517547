// SHA-256 of plugin entries (libsodium): hashing files with a size cap, locating an entry
// beneath its manifest's directory, and reading an entry only if its digest matches.
#pragma once

#include <cordon/plugin/manifest.hpp>
#include <cordon/result.hpp>

#include <sodium.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// Largest entry file hashed or loaded unless the host says otherwise.
inline constexpr std::uint64_t default_max_entry_bytes = 256ULL << 20;

namespace detail {

/// libsodium must be initialised once before use; sodium_init is thread-safe and idempotent.
inline result<void> ensure_sodium() {
    static const int status = sodium_init();
    if (status < 0) return fail(error_kind::internal, "libsodium failed to initialise");
    return {};
}

inline std::string to_hex(std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

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

/// Lower-case hex SHA-256 of a byte string.
inline std::string sha256_hex(std::span<const unsigned char> bytes) {
    (void)detail::ensure_sodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
    return detail::to_hex(digest);
}

inline std::string sha256_hex(std::string_view text) {
    return sha256_hex(std::span{reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

/// Lower-case hex SHA-256 of a regular file, read in chunks; files above `max_bytes` are
/// refused so that a huge entry cannot stall discovery.
inline result<std::string> sha256_file_hex(const std::filesystem::path& path,
                                           std::uint64_t max_bytes = default_max_entry_bytes) {
    if (auto ok = detail::ensure_sodium(); !ok) return ok.error();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return fail(error_kind::load_error, path.string() + ": not a readable regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(error_kind::load_error, path.string() + ": cannot open");
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::array<char, 65536> buffer{};
    std::uint64_t total = 0;
    while (in) {
        in.read(buffer.data(), buffer.size());
        const auto got = static_cast<std::size_t>(in.gcount());
        total += got;
        if (total > max_bytes)
            return fail(error_kind::load_error, path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
        crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()), got);
    }
    if (in.bad()) return fail(error_kind::load_error, path.string() + ": read error");
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_final(&state, digest.data());
    return detail::to_hex(digest);
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

/// Checks that the entry file's SHA-256 matches the manifest's `sha256`.
inline result<void> check_entry_digest(const manifest& m, const std::filesystem::path& manifest_dir,
                                       std::uint64_t max_bytes = default_max_entry_bytes) {
    auto path = locate_entry(m, manifest_dir);
    if (!path) return path.error();
    auto actual = sha256_file_hex(*path, max_bytes);
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
    auto path = locate_entry(m, manifest_dir);
    if (!path) return path.error();
    auto bytes = detail::read_bounded_file(*path, max_bytes);
    if (!bytes) return bytes.error();
    const std::string actual = sha256_hex(*bytes);
    if (!detail::constant_time_equal(actual, m.sha256))
        return fail(error_kind::load_error, "entry \"" + m.entry + "\" of " + m.id + " " + m.version.to_string() +
                                                " does not match its sha256 (expected " + m.sha256 + ", got " + actual + ")");
    return std::vector<unsigned char>(bytes->begin(), bytes->end());
}

} // namespace cordon::plugin
