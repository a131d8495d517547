// Ed25519 signatures over a manifest's canonical form, the host's trust store of public keys,
// and the integrity check (entry digest + signature) behind `cordon sign` and `cordon verify`.
#pragma once

#include <cordon/plugin/digest.hpp>
#include <cordon/plugin/keys.hpp>
#include <cordon/plugin/manifest.hpp>
#include <cordon/result.hpp>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cordon::plugin {

/// The bytes a manifest signature covers: the manifest's JSON without its "signature"
/// member, serialised with no whitespace, object keys sorted by their UTF-8 bytes, strings
/// escaped minimally (\" \\ \b \f \n \r \t, other control characters as \u00xx, all else
/// as raw UTF-8) and integers in plain decimal. Reordering keys or reformatting a manifest
/// keeps its signature valid; changing any value breaks it.
inline std::string canonical_manifest_text(const nlohmann::json& document) {
    nlohmann::json unsigned_document = document;
    if (unsigned_document.is_object()) unsigned_document.erase("signature");
    // nlohmann::json keeps objects in a std::map, so dump() emits keys in sorted order.
    return unsigned_document.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict);
}

/// The base64 Ed25519 signature of a manifest's canonical form.
inline std::string sign_manifest(const manifest& m, const secret_key& key) {
    const auto signature = key.sign(canonical_manifest_text(m.document));
    return detail::to_base64(signature);
}

/// True when the manifest carries a signature that `key` made over its canonical form.
/// A malformed signature (bad base64, wrong length) is an error, not merely "false".
inline result<bool> signature_matches(const manifest& m, const public_key& key) {
    if (!m.signature) return false;
    auto signature = detail::from_base64(*m.signature, crypto_sign_BYTES, "signature");
    if (!signature) return signature.error();
    const std::string message = canonical_manifest_text(m.document);
    return crypto_sign_verify_detached(signature->data(), reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size(), key.bytes().data()) == 0;
}

/// The public keys a host trusts to sign plugins.
class trust_store {
public:
    trust_store() = default;
    explicit trust_store(std::vector<public_key> keys) {
        for (auto& key : keys) add(std::move(key));
    }

    void add(public_key key) {
        for (const auto& known : keys_)
            if (known == key) return;
        keys_.push_back(std::move(key));
    }
    result<void> add_file(const std::filesystem::path& path) {
        auto key = read_public_key_file(path);
        if (!key) return key.error();
        add(std::move(*key));
        return {};
    }
    /// Adds every "*.pub" file directly inside `directory`; a malformed one is an error,
    /// since a host that meant to trust it would otherwise silently reject its plugins.
    result<void> add_directory(const std::filesystem::path& directory, std::size_t max_files = 1024) {
        std::error_code ec;
        std::filesystem::directory_iterator it(directory, ec), end;
        if (ec) return fail(error_kind::load_error, directory.string() + ": " + ec.message());
        std::size_t seen = 0;
        for (; it != end; it.increment(ec)) {
            if (ec) return fail(error_kind::load_error, directory.string() + ": " + ec.message());
            if (it->path().extension() != ".pub") continue;
            if (++seen > max_files) return fail(error_kind::load_error, directory.string() + ": too many key files");
            if (auto ok = add_file(it->path()); !ok) return ok.error();
        }
        return {};
    }

    [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
    [[nodiscard]] const std::vector<public_key>& keys() const noexcept { return keys_; }

    /// The trusted key that signed the manifest, or an error saying why there is none.
    [[nodiscard]] result<public_key> find_signer(const manifest& m) const {
        if (!m.signature) return fail(error_kind::load_error, m.id + " " + m.version.to_string() + " is not signed");
        for (const auto& key : keys_) {
            auto matches = signature_matches(m, key);
            if (!matches) return matches.error().with_context(m.id + " " + m.version.to_string());
            if (*matches) return key;
        }
        return fail(error_kind::load_error, m.id + " " + m.version.to_string() +
                                                ": signature does not verify with any of the " + std::to_string(keys_.size()) +
                                                " trusted key(s); the manifest was changed after signing or signed by an untrusted key");
    }

private:
    std::vector<public_key> keys_;
};

/// What a host demands of a plugin before it runs it.
struct integrity_settings {
    /// Refuse unsigned plugins and plugins whose signature no trusted key verifies.
    bool require_signatures = false;
    trust_store trusted{};
    std::uint64_t max_entry_bytes = default_max_entry_bytes;
};

enum class signature_status : std::uint8_t {
    absent,       // unsigned, and the host does not require signatures
    not_checked,  // signed, but the host trusts no key and does not require signatures
    verified,     // signed by a trusted key
    invalid,      // signed, but the signature is malformed or no trusted key verifies it
};

constexpr std::string_view to_string(signature_status status) noexcept {
    switch (status) {
    case signature_status::absent: return "unsigned";
    case signature_status::not_checked: return "not_checked";
    case signature_status::verified: return "verified";
    case signature_status::invalid: return "invalid";
    }
    return "unknown";
}

struct signature_check {
    signature_status status = signature_status::absent;
    std::optional<std::string> key_id{};  // of the trusted key that verified it
};

/// Applies the host's signature rules: a present signature is always checked when the host
/// trusts any key (a bad signature means tampering even where signatures are optional);
/// an absent one is an error only when signatures are required.
inline result<signature_check> check_signature(const manifest& m, const integrity_settings& settings) {
    if (!m.signature) {
        if (settings.require_signatures)
            return fail(error_kind::load_error,
                        m.id + " " + m.version.to_string() + " is not signed, and this host requires signatures");
        return signature_check{signature_status::absent, std::nullopt};
    }
    if (settings.trusted.empty()) {
        if (settings.require_signatures)
            return fail(error_kind::load_error, m.id + " " + m.version.to_string() +
                                                    ": signatures are required but the host trusts no key");
        // Still refuse a signature that is not even well formed.
        if (auto shape = detail::from_base64(*m.signature, crypto_sign_BYTES, "signature"); !shape)
            return shape.error().with_context(m.id + " " + m.version.to_string());
        return signature_check{signature_status::not_checked, std::nullopt};
    }
    auto signer = settings.trusted.find_signer(m);
    if (!signer) return signer.error();
    return signature_check{signature_status::verified, signer->key_id()};
}

/// A manifest whose entry digest and signature passed the host's checks.
struct verified_manifest {
    manifest plugin;
    std::filesystem::path directory;
    signature_check signature;
};

/// Everything `cordon verify` does: reads the manifest, checks the entry's SHA-256 and the
/// signature under `settings`.
inline result<verified_manifest> verify_manifest_file(const std::filesystem::path& manifest_path,
                                                      const integrity_settings& settings) {
    auto m = read_manifest_file(manifest_path);
    if (!m) return m.error();
    const auto directory = manifest_path.parent_path().empty() ? std::filesystem::path(".") : manifest_path.parent_path();
    if (auto ok = check_entry_digest(*m, directory, settings.max_entry_bytes); !ok) return ok.error();
    auto signature = check_signature(*m, settings);
    if (!signature) return signature.error();
    return verified_manifest{std::move(*m), directory, *signature};
}

namespace detail {

/// Replaces `path` with `data` atomically (temporary file in the same directory, then
/// rename), keeping the original file's permission bits.
inline result<void> replace_file(const std::filesystem::path& path, std::string_view data) {
    struct ::stat info {};
    if (::stat(path.c_str(), &info) != 0) return fail(error_kind::load_error, path.string() + ": " + std::strerror(errno));
    std::string temp = path.string() + ".XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return fail(error_kind::internal, path.string() + ": cannot create a temporary file: " + std::strerror(errno));
    const bool ok = finish_file(fd, data, info.st_mode & 07777);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(temp.c_str());
        return fail(error_kind::internal, path.string() + ": cannot write: " + why);
    }
    return {};
}

} // namespace detail

/// The manifest text with a fresh signature: validated first (a key never signs a malformed
/// manifest), printed with two-space indentation and sorted keys.
inline result<std::string> sign_manifest_text(std::string_view text, const secret_key& key) {
    auto m = parse_manifest(text);
    if (!m) return m.error();
    nlohmann::json signed_document = m->document;
    signed_document["signature"] = sign_manifest(*m, key);
    return signed_document.dump(2, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
}

/// What `cordon sign --key NAME.key MANIFEST` does: checks that the entry matches its
/// sha256 (a signature vouches for the entry through it), then rewrites the manifest with
/// its signature. Returns the signing key's id.
inline result<std::string> sign_manifest_file(const std::filesystem::path& manifest_path, const secret_key& key,
                                              std::uint64_t max_entry_bytes = default_max_entry_bytes) {
    auto text = detail::read_bounded_file(manifest_path, manifest_limits{}.max_bytes);
    if (!text) return text.error();
    auto m = parse_manifest(*text);
    if (!m) return m.error().with_context(manifest_path.string());
    const auto directory = manifest_path.parent_path().empty() ? std::filesystem::path(".") : manifest_path.parent_path();
    if (auto ok = check_entry_digest(*m, directory, max_entry_bytes); !ok)
        return ok.error().with_context("refusing to sign " + manifest_path.string());
    auto signed_text = sign_manifest_text(*text, key);
    if (!signed_text) return signed_text.error();
    if (auto ok = detail::replace_file(manifest_path, *signed_text); !ok) return ok.error();
    return key.public_key().key_id();
}

} // namespace cordon::plugin
