// Entry digests, key files and manifest signatures, attacked: tampered entries and fields,
// wrong keys, truncated or flipped signatures, loose key permissions, symlink escapes.
#include <cordon/plugin/signing.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace cordon::plugin;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<unsigned char> from_hex(std::string_view hex) {
    std::vector<unsigned char> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<unsigned char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

void write(const fs::path& path, std::string_view data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

class Signing : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("cordon-signing-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "plugin");
        write(dir_ / "plugin" / "entry.wasm", entry_bytes);
        manifest_json = json{{"id", "hello"}, {"name", "Hello"}, {"version", "1.0.0"}, {"entry", "entry.wasm"},
                             {"sha256", sha256_hex(std::string_view(entry_bytes))}, {"permissions", {"clock"}},
                             {"dependencies", {{"log", "^1"}}}};
        write(manifest_path(), manifest_json.dump(2));
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path manifest_path() const { return dir_ / "plugin" / "plugin.json"; }
    manifest load() const { return read_manifest_file(manifest_path()).value(); }

    static secret_key new_key() { return secret_key::generate().value(); }

    fs::path dir_;
    json manifest_json;
    const std::string entry_bytes = std::string("\0asm\x01\0\0\0", 8);
};

} // namespace

TEST(Digest, KnownAnswers) {
    EXPECT_EQ(sha256_hex(std::string_view("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(std::string_view("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Keys, Rfc8032TestVectorOne) {
    auto key = secret_key::from_seed(from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")).value();
    const auto& pk = key.public_key().bytes();
    EXPECT_EQ(std::vector<unsigned char>(pk.begin(), pk.end()),
              from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    const auto signature = key.sign("");
    EXPECT_EQ(std::vector<unsigned char>(signature.begin(), signature.end()),
              from_hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
}

TEST_F(Signing, CanonicalFormIsSortedCompactAndOmitsTheSignature) {
    const auto doc = json::parse(R"({ "version": "1.0.0", "id": "x", "signature": "abc", "name": "caf\u00e9 \"q\"\n",
                                     "limits": {"memory": "1MiB", "cpu": "2s"}, "dependencies": {} })");
    EXPECT_EQ(canonical_manifest_text(doc),
              "{\"dependencies\":{},\"id\":\"x\",\"limits\":{\"cpu\":\"2s\",\"memory\":\"1MiB\"},"
              "\"name\":\"caf\xc3\xa9 \\\"q\\\"\\n\",\"version\":\"1.0.0\"}");
}

TEST_F(Signing, KeyFilesAreWrittenWithTightPermissionsAndReadBack) {
    auto files = generate_key_files(dir_ / "release");
    ASSERT_TRUE(files) << files.error().message();
    struct stat info {};
    ASSERT_EQ(::stat(files->secret_key_file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600U);
    ASSERT_EQ(::stat(files->public_key_file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0644U);
    EXPECT_EQ(slurp(files->public_key_file).substr(0, public_key_tag.size()), public_key_tag);

    auto secret = read_secret_key_file(files->secret_key_file);
    ASSERT_TRUE(secret) << secret.error().message();
    auto pub = read_public_key_file(files->public_key_file);
    ASSERT_TRUE(pub) << pub.error().message();
    EXPECT_EQ(secret->public_key(), *pub);
    EXPECT_EQ(pub->key_id().size(), 16U);

    // Never overwritten by accident, and nothing half-written when refused.
    const std::string before = slurp(files->secret_key_file);
    auto again = generate_key_files(dir_ / "release");
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("already exists"), std::string::npos);
    EXPECT_EQ(slurp(files->secret_key_file), before);
    EXPECT_TRUE(generate_key_files(dir_ / "release", /*replace=*/true));
    EXPECT_NE(slurp(files->secret_key_file), before);
}

TEST_F(Signing, SecretKeyReadableByOthersIsRefused) {
    auto files = generate_key_files(dir_ / "loose").value();
    ASSERT_EQ(::chmod(files.secret_key_file.c_str(), 0644), 0);
    auto secret = read_secret_key_file(files.secret_key_file);
    ASSERT_FALSE(secret);
    EXPECT_NE(secret.error().message().find("chmod 600"), std::string::npos);
}

TEST_F(Signing, KeyGenerationDoesNotWriteThroughASymlink) {
    fs::create_symlink(dir_ / "target", dir_ / "evil.key");
    EXPECT_FALSE(generate_key_files(dir_ / "evil"));
    EXPECT_FALSE(fs::exists(dir_ / "target"));
}

TEST_F(Signing, MalformedKeyFilesAreRefused) {
    auto key = new_key();
    const std::string good = key.public_key().to_file_text();
    EXPECT_TRUE(parse_public_key(good));
    EXPECT_FALSE(parse_public_key(""));
    EXPECT_FALSE(parse_public_key(good.substr(public_key_tag.size() + 1)));                   // no tag
    EXPECT_FALSE(parse_public_key(std::string(secret_key_tag) + good.substr(public_key_tag.size())));  // wrong tag
    EXPECT_FALSE(parse_public_key(good.substr(0, good.size() - 6) + "\n"));                  // truncated
    EXPECT_FALSE(parse_public_key(good.substr(0, good.size() - 1) + "AAAA\n"));              // too long
    EXPECT_FALSE(parse_public_key(std::string(public_key_tag) + " !!!notbase64!!!\n"));
    EXPECT_FALSE(parse_secret_key(good));  // a public key is not a secret key
    auto truncated = parse_public_key(good.substr(0, good.size() - 6) + "\n");
    EXPECT_NE(truncated.error().message().find("public key"), std::string::npos);
}

TEST_F(Signing, SignedManifestVerifies) {
    auto key = new_key();
    auto key_id = sign_manifest_file(manifest_path(), key);
    ASSERT_TRUE(key_id) << key_id.error().message();
    integrity_settings settings{true, trust_store{{key.public_key()}}};
    auto verified = verify_manifest_file(manifest_path(), settings);
    ASSERT_TRUE(verified) << verified.error().message();
    EXPECT_EQ(verified->signature.status, signature_status::verified);
    EXPECT_EQ(verified->signature.key_id, *key_id);
}

TEST_F(Signing, ReorderedOrReformattedManifestStillVerifies) {
    auto key = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), key));
    const json signed_doc = json::parse(slurp(manifest_path()));
    // Same members written in reverse order, on one line, with odd spacing.
    std::string reordered = "{";
    std::vector<std::pair<std::string, json>> members;
    for (const auto& [key, value] : signed_doc.items()) members.emplace_back(key, value);
    for (auto it = members.rbegin(); it != members.rend(); ++it)
        reordered += (reordered.size() > 1 ? " ,\n\t" : "") + json(it->first).dump() + " :  " + it->second.dump();
    reordered += "}";
    ASSERT_EQ(json::parse(reordered), signed_doc);
    ASSERT_NE(reordered, slurp(manifest_path()));
    write(manifest_path(), reordered);
    integrity_settings settings{true, trust_store{{key.public_key()}}};
    auto verified = verify_manifest_file(manifest_path(), settings);
    EXPECT_TRUE(verified) << verified.error().message();
}

TEST_F(Signing, TamperedManifestFieldIsRejected) {
    auto key = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), key));
    integrity_settings settings{true, trust_store{{key.public_key()}}};
    const json signed_doc = json::parse(slurp(manifest_path()));
    const std::pair<const char*, json> tampering[] = {
        {"/permissions", json{"clock", "net"}},  // widen its permissions
        {"/version", "1.0.1"},
        {"/dependencies/log", "*"},
        {"/name", "Hello "},
        {"/description", "added after signing"},
    };
    for (const auto& [pointer, value] : tampering) {
        json tampered = signed_doc;
        tampered[json::json_pointer(pointer)] = value;
        write(manifest_path(), tampered.dump(2));
        auto verified = verify_manifest_file(manifest_path(), settings);
        ASSERT_FALSE(verified) << pointer;
        EXPECT_NE(verified.error().message().find("signature does not verify"), std::string::npos)
            << verified.error().message();
    }
}

TEST_F(Signing, TamperedEntryIsRejectedEvenWhenSigned) {
    auto key = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), key));
    write(dir_ / "plugin" / "entry.wasm", entry_bytes + "evil");
    integrity_settings settings{true, trust_store{{key.public_key()}}};
    auto verified = verify_manifest_file(manifest_path(), settings);
    ASSERT_FALSE(verified);
    EXPECT_NE(verified.error().message().find("does not match its sha256"), std::string::npos) << verified.error().message();
    auto bytes = read_verified_entry(load(), dir_ / "plugin");
    EXPECT_FALSE(bytes);
}

TEST_F(Signing, WrongKeyIsRejected) {
    auto signer = new_key();
    auto stranger = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), signer));
    integrity_settings settings{false, trust_store{{stranger.public_key()}}};  // even when optional
    auto verified = verify_manifest_file(manifest_path(), settings);
    ASSERT_FALSE(verified);
    EXPECT_NE(verified.error().message().find("any of the 1 trusted key(s)"), std::string::npos);
    settings.trusted.add(signer.public_key());
    EXPECT_TRUE(verify_manifest_file(manifest_path(), settings));
}

TEST_F(Signing, TruncatedFlippedOrGarbageSignaturesAreRejected) {
    auto key = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), key));
    integrity_settings settings{true, trust_store{{key.public_key()}}};
    const json signed_doc = json::parse(slurp(manifest_path()));
    const std::string good = signed_doc["signature"];
    std::string flipped = good;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    const std::pair<std::string, std::string> cases[] = {
        {good.substr(0, 80), "must hold 64 bytes"},
        {good.substr(0, good.size() - 4), "must hold 64 bytes"},
        {good + "AAAA", "signature"},
        {flipped, "signature does not verify"},
        {"not base64 at all!", "not valid base64"},
        {std::string(86, 'A') + "==", "signature does not verify"},
    };
    for (const auto& [signature, expected] : cases) {
        json tampered = signed_doc;
        tampered["signature"] = signature;
        write(manifest_path(), tampered.dump());
        auto verified = verify_manifest_file(manifest_path(), settings);
        ASSERT_FALSE(verified) << signature;
        EXPECT_NE(verified.error().message().find(expected), std::string::npos) << verified.error().message();
    }
}

TEST_F(Signing, HostSettingDecidesAboutUnsignedManifests) {
    auto key = new_key();
    integrity_settings optional{false, {}};
    auto unsigned_ok = verify_manifest_file(manifest_path(), optional);
    ASSERT_TRUE(unsigned_ok);
    EXPECT_EQ(unsigned_ok->signature.status, signature_status::absent);

    integrity_settings required{true, trust_store{{key.public_key()}}};
    auto refused = verify_manifest_file(manifest_path(), required);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("requires signatures"), std::string::npos);

    ASSERT_TRUE(sign_manifest_file(manifest_path(), key));
    auto unchecked = verify_manifest_file(manifest_path(), optional);
    ASSERT_TRUE(unchecked);
    EXPECT_EQ(unchecked->signature.status, signature_status::not_checked);
    integrity_settings required_no_keys{true, {}};
    EXPECT_FALSE(verify_manifest_file(manifest_path(), required_no_keys));
}

TEST_F(Signing, RefusesToSignAManifestWhoseEntryDoesNotMatch) {
    write(dir_ / "plugin" / "entry.wasm", "something else");
    const std::string before = slurp(manifest_path());
    auto signed_file = sign_manifest_file(manifest_path(), new_key());
    ASSERT_FALSE(signed_file);
    EXPECT_NE(signed_file.error().message().find("refusing to sign"), std::string::npos);
    EXPECT_EQ(slurp(manifest_path()), before);
}

TEST_F(Signing, SigningKeepsTheFilesModeAndValidity) {
    ASSERT_EQ(::chmod(manifest_path().c_str(), 0640), 0);
    ASSERT_TRUE(sign_manifest_file(manifest_path(), new_key()));
    struct stat info {};
    ASSERT_EQ(::stat(manifest_path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640U);
    EXPECT_TRUE(load().signature.has_value());
    // Re-signing replaces the old signature instead of signing over it.
    auto other = new_key();
    ASSERT_TRUE(sign_manifest_file(manifest_path(), other));
    integrity_settings settings{true, trust_store{{other.public_key()}}};
    EXPECT_TRUE(verify_manifest_file(manifest_path(), settings));
}

TEST_F(Signing, EntryMayNotEscapeThroughASymlink) {
    write(dir_ / "outside.wasm", entry_bytes);
    fs::remove(dir_ / "plugin" / "entry.wasm");
    fs::create_symlink(dir_ / "outside.wasm", dir_ / "plugin" / "entry.wasm");
    auto located = locate_entry(load(), dir_ / "plugin");
    ASSERT_FALSE(located);
    EXPECT_NE(located.error().message().find("outside the plugin's directory"), std::string::npos);
    EXPECT_FALSE(check_entry_digest(load(), dir_ / "plugin"));
}

TEST_F(Signing, VerifiedEntryBytesAreTheCheckedBytes) {
    auto bytes = read_verified_entry(load(), dir_ / "plugin");
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()), entry_bytes);
    EXPECT_FALSE(read_verified_entry(load(), dir_ / "plugin", /*max_bytes=*/4));
    EXPECT_FALSE(sha256_file_hex(dir_ / "plugin" / "entry.wasm", 4));
}
