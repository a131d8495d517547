// Ed25519 signing keys (libsodium) and their one-line text files: generating a pair, writing
// NAME.key (mode 0600) and NAME.pub, and reading them back with strict checks.
#pragma once

#include <cordon/plugin/digest.hpp>
#include <cordon/result.hpp>

#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// First word of a public key file; the version lets the format change without ambiguity.
inline constexpr std::string_view public_key_tag = "cordon-ed25519-public-key-v1";
/// First word of a secret key file.
inline constexpr std::string_view secret_key_tag = "cordon-ed25519-secret-key-v1";

namespace detail {

inline std::string to_base64(std::span<const unsigned char> bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

/// Decodes standard, padded base64 into exactly `expected` bytes; anything else (bad
/// characters, trailing bytes, a truncated value, a longer one) is refused.
inline result<std::vector<unsigned char>> from_base64(std::string_view text, std::size_t expected, std::string_view what) {
    if (auto ok = ensure_sodium(); !ok) return ok.error();
    std::vector<unsigned char> out(expected + 3);
    std::size_t decoded = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &decoded, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        return fail(error_kind::load_error, std::string(what) + " is not valid base64");
    if (decoded != expected)
        return fail(error_kind::load_error, std::string(what) + " must hold " + std::to_string(expected) +
                                                " bytes, got " + std::to_string(decoded));
    out.resize(decoded);
    return out;
}

/// "TAG BASE64" with optional trailing whitespace; returns the base64 part.
inline result<std::string_view> split_key_line(std::string_view text, std::string_view tag, std::string_view what) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    if (text.size() <= tag.size() + 1 || text.substr(0, tag.size()) != tag || text[tag.size()] != ' ')
        return fail(error_kind::load_error, std::string(what) + ": expected \"" + std::string(tag) + " BASE64\"");
    return text.substr(tag.size() + 1);
}

/// Sets `mode` on a new file's descriptor, writes all of `data`, syncs and closes it; false
/// when any step failed (the descriptor is closed either way).
inline bool finish_file(int fd, std::string_view data, mode_t mode) {
    bool ok = ::fchmod(fd, mode) == 0;
    std::size_t written = 0;
    while (ok && written < data.size()) {
        const auto n = ::write(fd, data.data() + written, data.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else written += static_cast<std::size_t>(n);
    }
    ok = ::fsync(fd) == 0 && ok;
    ok = ::close(fd) == 0 && ok;
    return ok;
}

/// Creates `path` with `mode` and writes `data`; never follows a symlink at `path`, and
/// refuses to replace an existing file unless `replace` is set.
inline result<void> write_new_file(const std::filesystem::path& path, std::string_view data, mode_t mode, bool replace) {
    if (replace && ::unlink(path.c_str()) != 0 && errno != ENOENT)
        return fail(error_kind::internal, path.string() + ": cannot replace: " + std::strerror(errno));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return fail(error_kind::invalid_argument, path.string() + " already exists; refusing to overwrite it");
        return fail(error_kind::internal, path.string() + ": " + std::strerror(errno));
    }
    // The umask may have widened nothing but could have narrowed; set the mode exactly.
    if (!finish_file(fd, data, mode)) {
        ::unlink(path.c_str());
        return fail(error_kind::internal, path.string() + ": write failed: " + std::strerror(errno));
    }
    return {};
}

} // namespace detail

/// An Ed25519 public key.
class public_key {
public:
    static constexpr std::size_t size = crypto_sign_PUBLICKEYBYTES;

    explicit public_key(const std::array<unsigned char, size>& bytes) : bytes_{bytes} {}

    [[nodiscard]] const std::array<unsigned char, size>& bytes() const noexcept { return bytes_; }
    /// A short name for messages and listings: hex of the first 8 bytes of SHA-256(key).
    [[nodiscard]] std::string key_id() const { return sha256_hex(bytes_).substr(0, 16); }
    /// The key file's content: "cordon-ed25519-public-key-v1 BASE64\n".
    [[nodiscard]] std::string to_file_text() const {
        return std::string(public_key_tag) + ' ' + detail::to_base64(bytes_) + '\n';
    }
    friend bool operator==(const public_key&, const public_key&) = default;

private:
    std::array<unsigned char, size> bytes_;
};

/// An Ed25519 secret key, kept as libsodium's 64-byte form and wiped on destruction.
/// Move-only, so that copies of key material do not multiply.
class secret_key {
public:
    static constexpr std::size_t seed_size = crypto_sign_SEEDBYTES;

    secret_key(const secret_key&) = delete;
    secret_key& operator=(const secret_key&) = delete;
    secret_key(secret_key&& other) noexcept : key_{other.key_}, public_{other.public_} { sodium_memzero(other.key_.data(), other.key_.size()); }
    secret_key& operator=(secret_key&& other) noexcept {
        key_ = other.key_;
        public_ = other.public_;
        sodium_memzero(other.key_.data(), other.key_.size());
        return *this;
    }
    ~secret_key() { sodium_memzero(key_.data(), key_.size()); }

    /// A fresh random key.
    static result<secret_key> generate() {
        if (auto ok = detail::ensure_sodium(); !ok) return ok.error();
        std::array<unsigned char, seed_size> seed{};
        randombytes_buf(seed.data(), seed.size());
        secret_key key{seed};
        sodium_memzero(seed.data(), seed.size());
        return key;
    }
    /// The key a 32-byte seed determines (the seed is what the key file stores).
    static result<secret_key> from_seed(std::span<const unsigned char> seed) {
        if (auto ok = detail::ensure_sodium(); !ok) return ok.error();
        if (seed.size() != seed_size) return fail(error_kind::invalid_argument, "an Ed25519 seed has 32 bytes");
        std::array<unsigned char, seed_size> copy{};
        std::copy(seed.begin(), seed.end(), copy.begin());
        secret_key key{copy};
        sodium_memzero(copy.data(), copy.size());
        return key;
    }

    [[nodiscard]] const plugin::public_key& public_key() const noexcept { return public_; }

    /// The detached 64-byte signature of `message`.
    [[nodiscard]] std::array<unsigned char, crypto_sign_BYTES> sign(std::string_view message) const {
        std::array<unsigned char, crypto_sign_BYTES> signature{};
        crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                             message.size(), key_.data());
        return signature;
    }

    /// The key file's content: "cordon-ed25519-secret-key-v1 BASE64(seed)\n".
    [[nodiscard]] std::string to_file_text() const {
        std::array<unsigned char, seed_size> seed{};
        crypto_sign_ed25519_sk_to_seed(seed.data(), key_.data());
        std::string text = std::string(secret_key_tag) + ' ' + detail::to_base64(seed) + '\n';
        sodium_memzero(seed.data(), seed.size());
        return text;
    }

private:
    explicit secret_key(const std::array<unsigned char, seed_size>& seed)
        : public_{std::array<unsigned char, plugin::public_key::size>{}} {
        std::array<unsigned char, plugin::public_key::size> pk{};
        crypto_sign_seed_keypair(pk.data(), key_.data(), seed.data());
        public_ = plugin::public_key{pk};
    }

    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> key_{};
    plugin::public_key public_;
};

/// Parses the text of a public key file.
inline result<public_key> parse_public_key(std::string_view text) {
    auto encoded = detail::split_key_line(text, public_key_tag, "public key");
    if (!encoded) return encoded.error();
    auto bytes = detail::from_base64(*encoded, public_key::size, "public key");
    if (!bytes) return bytes.error();
    std::array<unsigned char, public_key::size> key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return public_key{key};
}

/// Parses the text of a secret key file.
inline result<secret_key> parse_secret_key(std::string_view text) {
    auto encoded = detail::split_key_line(text, secret_key_tag, "secret key");
    if (!encoded) return encoded.error();
    auto seed = detail::from_base64(*encoded, secret_key::seed_size, "secret key");
    if (!seed) return seed.error();
    auto key = secret_key::from_seed(*seed);
    sodium_memzero(seed->data(), seed->size());
    return key;
}

inline result<public_key> read_public_key_file(const std::filesystem::path& path) {
    auto text = detail::read_bounded_file(path, 4096);
    if (!text) return text.error();
    auto key = parse_public_key(*text);
    if (!key) return key.error().with_context(path.string());
    return key;
}

/// Reads a secret key file, refusing one that other users could read (as ssh does): a
/// leaked signing key lets anyone publish plugins the host trusts.
inline result<secret_key> read_secret_key_file(const std::filesystem::path& path) {
    struct ::stat info {};
    if (::lstat(path.c_str(), &info) != 0)
        return fail(error_kind::load_error, path.string() + ": " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) return fail(error_kind::load_error, path.string() + ": not a regular file");
    if ((info.st_mode & 077) != 0)
        return fail(error_kind::load_error, path.string() + ": secret key is accessible by other users; run chmod 600 on it");
    auto text = detail::read_bounded_file(path, 4096);
    if (!text) return text.error();
    auto key = parse_secret_key(*text);
    sodium_memzero(text->data(), text->size());
    if (!key) return key.error().with_context(path.string());
    return key;
}

/// The files `cordon keygen --out NAME` writes.
struct key_files {
    std::filesystem::path secret_key_file;  // NAME.key, mode 0600
    std::filesystem::path public_key_file;  // NAME.pub, mode 0644
};

/// Generates a key pair and writes NAME.key (0600) and NAME.pub (0644). Existing files are
/// kept unless `replace` is set; nothing is written when either already exists.
inline result<key_files> generate_key_files(const std::filesystem::path& name, bool replace = false) {
    key_files files{name, name};
    files.secret_key_file += ".key";
    files.public_key_file += ".pub";
    std::error_code ec;
    if (!replace)
        for (const auto& p : {files.secret_key_file, files.public_key_file})
            if (std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found)
                return fail(error_kind::invalid_argument, p.string() + " already exists; refusing to overwrite it");
    auto key = secret_key::generate();
    if (!key) return key.error();
    std::string secret_text = key->to_file_text();
    auto wrote = detail::write_new_file(files.secret_key_file, secret_text, 0600, replace);
    sodium_memzero(secret_text.data(), secret_text.size());
    if (!wrote) return wrote.error();
    if (auto ok = detail::write_new_file(files.public_key_file, key->public_key().to_file_text(), 0644, replace); !ok) {
        ::unlink(files.secret_key_file.c_str());
        return ok.error();
    }
    return files;
}

} // namespace cordon::plugin
