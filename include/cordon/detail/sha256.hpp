// Lower-case hex SHA-256 through libsodium, shared by the components that already link it:
// cordon::wasm (the compiled engine's cache keys) and cordon::plugin (entry digests, key ids).
#pragma once

// libsodium is a dependency of cordon::wasm and cordon::plugin only: cordon::core never
// includes this header, so a user of the core alone does not need libsodium.
#include <cordon/result.hpp>

#include <sodium.h>

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace cordon::detail {

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

/// Lower-case hex SHA-256 of a byte string. The hash itself needs no initialised library, so
/// a failed sodium_init (reported by ensure_sodium where it matters) does not change it.
inline std::string sha256_hex(std::span<const unsigned char> bytes) {
    (void)ensure_sodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
    return to_hex(digest);
}

inline std::string sha256_hex(std::string_view text) {
    return sha256_hex(std::span{reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

} // namespace cordon::detail
