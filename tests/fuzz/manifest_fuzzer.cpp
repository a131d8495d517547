// Fuzzes the plugin manifest parser, the signature check and the key-file parsers with hostile
// text: nothing may crash or throw, and a signature verifies only over what was signed.
#include "fuzz_support.hpp"

#include <cordon/plugin/keys.hpp>
#include <cordon/plugin/manifest.hpp>
#include <cordon/plugin/signing.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using cordon::fuzz::require;
namespace plugin = cordon::plugin;

// The key the project's signed test manifests carry, so mutated copies of them reach the check.
constexpr std::string_view test_public_key = "cordon-ed25519-public-key-v1 ZMEQMOIpJiMy4XXiB6jh/jgxru8WqiXGyaXjV2f+pNc=\n";

const plugin::secret_key& fuzz_key() {
    static const plugin::secret_key key = [] {
        std::array<unsigned char, plugin::secret_key::seed_size> seed{};
        for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(i * 7 + 1);
        return *plugin::secret_key::from_seed(seed);
    }();
    return key;
}

plugin::integrity_settings trusting(bool require_signatures, bool with_keys) {
    plugin::integrity_settings settings;
    settings.require_signatures = require_signatures;
    if (with_keys) {
        settings.trusted.add(*plugin::parse_public_key(test_public_key));
        settings.trusted.add(fuzz_key().public_key());
    }
    return settings;
}

void check_manifest(std::string_view text) {
    auto m = plugin::parse_manifest(text);
    if (!m) return;
    require(!m->id.empty() && !m->entry.empty(), "a valid manifest names its plugin and entry");
    for (bool required : {false, true})
        for (bool keys : {false, true}) {
            auto checked = plugin::check_signature(*m, trusting(required, keys));
            if (checked && checked->status == plugin::signature_status::verified)
                require(keys && m->signature.has_value(), "only a signed manifest verifies, by a trusted key");
        }
    const auto canonical = plugin::canonical_manifest_text(m->document);
    require(plugin::canonical_manifest_text(m->document) == canonical, "the canonical form is deterministic");

    // Signing what was parsed gives a manifest that parses and verifies by the signing key alone.
    auto signed_text = plugin::sign_manifest_text(text, fuzz_key());
    require(signed_text.has_value(), "a valid manifest can be signed");
    auto signed_manifest = plugin::parse_manifest(*signed_text);
    require(signed_manifest.has_value(), "a signed manifest parses");
    require(plugin::canonical_manifest_text(signed_manifest->document) == canonical,
            "signing changes nothing the signature covers");
    auto ours = plugin::signature_matches(*signed_manifest, fuzz_key().public_key());
    require(ours.has_value() && *ours, "a fresh signature verifies");
    auto theirs = plugin::signature_matches(*signed_manifest, *plugin::parse_public_key(test_public_key));
    require(theirs.has_value() && !*theirs, "another key does not verify it");
}

void check_keys(std::string_view text) {
    if (auto key = plugin::parse_public_key(text)) {
        auto again = plugin::parse_public_key(key->to_file_text());
        require(again.has_value() && *again == *key, "public key files round-trip");
    }
    if (auto key = plugin::parse_secret_key(text)) {
        const std::string message = "cordon";
        (void)key->sign(message);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    check_manifest(text);
    check_keys(text);
    return 0;
}
