// Manifest validation: a complete valid manifest, and bad manifests of every kind, each
// error naming the field's path.
#include <cordon/plugin/manifest.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace cordon::plugin;
using nlohmann::json;

namespace {

const std::string digest(64, 'a');

json minimal() {
    return json{{"id", "thumbnailer"}, {"name", "Thumbnailer"}, {"version", "1.2.3"}, {"entry", "thumb.wasm"},
                {"sha256", digest}};
}

json complete() {
    json m = minimal();
    m["schema_version"] = 1;
    m["description"] = "Makes thumbnails";
    m["author"] = "Ada";
    m["license"] = "MIT";
    m["backend"] = "wasm";
    m["permissions"] = {"fs.read=/srv/images", "fs.write=/tmp/thumbs", "net=example.org:443", "net", "clock",
                        "random", "env", "process", "plugin", "system"};
    m["limits"] = {{"memory", "64MiB"}, {"cpu", "500ms"}, {"timeout", "2s"}, {"fuel", 1000000}, {"files", "16"}, {"procs", 1}};
    m["capabilities"] = {"image.thumbnail", "image/png"};
    m["dependencies"] = {{"codec-png", "^1.2"}, {"log", ">=0.3.0 <1.0.0"}};
    m["host_api"] = "^1.0";
    m["signature"] = std::string(88, 'A');
    return m;
}

/// The error message of validating `document`; fails the test if it validates.
std::string error_of(const json& document) {
    auto m = validate_manifest(document);
    if (m) {
        ADD_FAILURE() << "manifest unexpectedly valid: " << document.dump();
        return {};
    }
    EXPECT_EQ(m.error().kind(), cordon::error_kind::load_error);
    return m.error().message();
}

std::string error_of_text(std::string_view text) {
    auto m = parse_manifest(text);
    if (m) {
        ADD_FAILURE() << "manifest unexpectedly valid: " << text;
        return {};
    }
    return m.error().message();
}

#define EXPECT_STARTS_WITH(text, prefix) EXPECT_EQ(std::string(text).substr(0, std::string(prefix).size()), prefix) << (text)

} // namespace

TEST(Manifest, ParsesEveryField) {
    auto parsed = validate_manifest(complete());
    ASSERT_TRUE(parsed) << parsed.error().message();
    const manifest& m = *parsed;
    EXPECT_EQ(m.id, "thumbnailer");
    EXPECT_EQ(m.name, "Thumbnailer");
    EXPECT_EQ(m.version.to_string(), "1.2.3");
    EXPECT_EQ(m.entry, "thumb.wasm");
    EXPECT_EQ(m.sha256, digest);
    EXPECT_EQ(m.description, "Makes thumbnails");
    EXPECT_EQ(m.backend, backend_kind::wasm);
    ASSERT_EQ(m.permissions.size(), 10U);
    EXPECT_EQ(m.permissions[0], (permission_request{permission_kind::fs_read, "/srv/images"}));
    EXPECT_EQ(m.permissions[2].to_string(), "net=example.org:443");
    EXPECT_EQ(m.permissions[3], (permission_request{permission_kind::net, ""}));
    EXPECT_EQ(m.limits.memory_bytes, 64ULL << 20);
    EXPECT_EQ(m.limits.cpu, std::chrono::milliseconds{500});
    EXPECT_EQ(m.limits.timeout, std::chrono::milliseconds{2000});
    EXPECT_EQ(m.limits.fuel, 1000000U);
    EXPECT_EQ(m.limits.files, 16U);
    EXPECT_EQ(m.limits.procs, 1U);
    EXPECT_EQ(m.capabilities, (std::vector<std::string>{"image.thumbnail", "image/png"}));
    ASSERT_EQ(m.dependencies.size(), 2U);
    EXPECT_EQ(m.dependencies[0].id, "codec-png");
    EXPECT_TRUE(m.dependencies[0].constraint.satisfied_by(parse_version("1.9.0").value()));
    EXPECT_TRUE(m.host_api->satisfied_by(parse_version("1.4.0").value()));
    EXPECT_TRUE(m.signature.has_value());
}

TEST(Manifest, MinimalManifestIsValidAndUppercaseDigestIsNormalised) {
    json m = minimal();
    m["sha256"] = std::string(64, 'F');
    auto parsed = validate_manifest(m);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->sha256, std::string(64, 'f'));
    EXPECT_FALSE(parsed->backend.has_value());
    EXPECT_TRUE(parsed->permissions.empty());
}

TEST(Manifest, MissingRequiredFieldsAreNamed) {
    for (const char* field : {"id", "name", "version", "entry", "sha256"}) {
        json m = minimal();
        m.erase(field);
        EXPECT_EQ(error_of(m), std::string(field) + ": required field is missing");
    }
}

TEST(Manifest, UnknownFieldsAreNamedWithTheirPath) {
    json m = complete();
    m["permisions"] = json::array();
    EXPECT_EQ(error_of(m), "permisions: unknown field");
    m = complete();
    m["limits"]["threads"] = 4;
    EXPECT_EQ(error_of(m), "limits.threads: unknown field");
}

TEST(Manifest, WronglyTypedFieldsAreNamed) {
    const std::pair<const char*, json> cases[] = {
        {"id", 5}, {"name", json::array()}, {"version", 1.2}, {"entry", nullptr}, {"sha256", true},
        {"description", 3}, {"author", json::object()}, {"license", false}, {"backend", 1},
        {"permissions", "clock"}, {"limits", "64MiB"}, {"capabilities", json::object()},
        {"dependencies", json::array({"a"})}, {"host_api", 1}, {"signature", 12}, {"schema_version", "1"},
    };
    for (const auto& [field, value] : cases) {
        json m = complete();
        m[field] = value;
        EXPECT_STARTS_WITH(error_of(m), std::string(field) + ": expected ");
    }
}

TEST(Manifest, NestedErrorsNameTheFullPath) {
    auto with = [](const char* pointer, json value) {
        json m = complete();
        m[json::json_pointer(pointer)] = std::move(value);
        return m;
    };
    EXPECT_EQ(error_of(with("/limits/memory", 64)), "limits.memory: expected a size like \"64MiB\", got integer");
    EXPECT_STARTS_WITH(error_of(with("/limits/memory", "64 MB")), "limits.memory: expected a size like \"64MiB\"");
    EXPECT_STARTS_WITH(error_of(with("/limits/memory", "99999999999TiB")), "limits.memory: size");
    EXPECT_EQ(error_of(with("/limits/memory", "0")), "limits.memory: must be greater than zero");
    EXPECT_STARTS_WITH(error_of(with("/limits/cpu", "500")), "limits.cpu: expected a duration like \"500ms\"");
    EXPECT_STARTS_WITH(error_of(with("/limits/timeout", 2)), "limits.timeout: expected a duration");
    EXPECT_STARTS_WITH(error_of(with("/limits/fuel", -1)), "limits.fuel: must not be negative");
    EXPECT_STARTS_WITH(error_of(with("/limits/fuel", 1.5)), "limits.fuel: expected a whole number");
    EXPECT_STARTS_WITH(error_of(with("/limits/files", "many")), "limits.files: expected a whole number");
    EXPECT_STARTS_WITH(error_of(with("/limits/procs", 0)), "limits.procs: must be greater than zero");
    EXPECT_STARTS_WITH(error_of(with("/permissions/1", 7)), "permissions[1]: expected a string");
    EXPECT_STARTS_WITH(error_of(with("/permissions/0", "fs.read")), "permissions[0]: fs.read: needs a path");
    EXPECT_STARTS_WITH(error_of(with("/permissions/0", "fs.read=srv")), "permissions[0]: fs.read: path \"srv\" must be absolute");
    EXPECT_STARTS_WITH(error_of(with("/permissions/0", "fs.write=/srv/../etc")), "permissions[0]: fs.write: path");
    EXPECT_STARTS_WITH(error_of(with("/permissions/2", "net=example.org")), "permissions[2]: net: expected HOST:PORT");
    EXPECT_STARTS_WITH(error_of(with("/permissions/2", "net=example.org:70000")), "permissions[2]: net: port");
    EXPECT_STARTS_WITH(error_of(with("/permissions/2", "net=exa mple.org:80")), "permissions[2]: net: \"exa mple.org\"");
    EXPECT_STARTS_WITH(error_of(with("/permissions/4", "clock=now")), "permissions[4]: clock takes no scope");
    EXPECT_STARTS_WITH(error_of(with("/permissions/4", "filesystem")), "permissions[4]: unknown permission \"filesystem\"");
    EXPECT_STARTS_WITH(error_of(with("/permissions/5", "clock")), "permissions[5]: \"clock\" is listed twice");
    EXPECT_STARTS_WITH(error_of(with("/capabilities/0", "has space")), "capabilities[0]: ");
    EXPECT_STARTS_WITH(error_of(with("/dependencies/log", 1)), "dependencies.log: expected a version constraint");
    EXPECT_STARTS_WITH(error_of(with("/dependencies/log", "^^1")), "dependencies.log: invalid version constraint");
    EXPECT_STARTS_WITH(error_of(with("/dependencies/bad id", "1")), "dependencies.bad id: plugin id");
    EXPECT_EQ(error_of(with("/dependencies/thumbnailer", "1")), "dependencies.thumbnailer: a plugin cannot depend on itself");
    EXPECT_STARTS_WITH(error_of(with("/host_api", "one")), "host_api: invalid version constraint");
}

TEST(Manifest, BadValuesOfTopLevelFields) {
    auto with = [](const char* field, json value) {
        json m = complete();
        m[field] = std::move(value);
        return m;
    };
    EXPECT_STARTS_WITH(error_of(with("id", "")), "id: must be 1 to 128");
    EXPECT_STARTS_WITH(error_of(with("id", "-x")), "id: \"-x\" must start with");
    EXPECT_STARTS_WITH(error_of(with("id", "a/b")), "id: \"a/b\" may only hold");
    EXPECT_STARTS_WITH(error_of(with("id", std::string(129, 'a'))), "id: must be 1 to 128");
    EXPECT_EQ(error_of(with("name", "")), "name: must not be empty");
    EXPECT_STARTS_WITH(error_of(with("version", "1.2")), "version: invalid version \"1.2\"");
    EXPECT_STARTS_WITH(error_of(with("version", "v1.2.3")), "version: invalid version");
    EXPECT_STARTS_WITH(error_of(with("entry", "/etc/passwd")), "entry: must be relative");
    EXPECT_STARTS_WITH(error_of(with("entry", "../other/x.wasm")), "entry: \"../other/x.wasm\" must stay inside");
    EXPECT_STARTS_WITH(error_of(with("entry", "a/./b")), "entry: ");
    EXPECT_STARTS_WITH(error_of(with("entry", "a//b")), "entry: ");
    EXPECT_STARTS_WITH(error_of(with("entry", "")), "entry: must not be empty");
    EXPECT_STARTS_WITH(error_of(with("sha256", std::string(63, 'a'))), "sha256: expected 64 hex digits");
    EXPECT_STARTS_WITH(error_of(with("sha256", std::string(64, 'g'))), "sha256: expected 64 hex digits");
    EXPECT_STARTS_WITH(error_of(with("backend", "native")), "backend: expected \"wasm\" or \"process\"");
    EXPECT_STARTS_WITH(error_of(with("schema_version", 2)), "schema_version: unsupported schema version 2");
    EXPECT_STARTS_WITH(error_of(with("signature", "")), "signature: must not be empty");
    EXPECT_STARTS_WITH(error_of(with("description", std::string(5000, 'x'))), "description: longer than");
    EXPECT_STARTS_WITH(error_of(json::array()), "manifest: expected a JSON object");
}

TEST(Manifest, HostileTextIsRefusedCheaply) {
    EXPECT_STARTS_WITH(error_of_text(""), "manifest: not valid JSON");
    EXPECT_STARTS_WITH(error_of_text("{\"id\": "), "manifest: not valid JSON");
    EXPECT_STARTS_WITH(error_of_text("{\"id\":\"a\",\"id\":\"b\"}"), "manifest: duplicate key \"id\"");
    EXPECT_STARTS_WITH(error_of_text(minimal().dump().insert(1, "\"limits\":{\"memory\":\"1MiB\",\"memory\":\"2MiB\"},")),
                       "manifest: duplicate key \"memory\"");
    EXPECT_STARTS_WITH(error_of_text(std::string(100000, '[') + std::string(100000, ']')), "manifest: nested deeper");
    EXPECT_STARTS_WITH(error_of_text(std::string(300 * 1024, ' ') + "{}"), "manifest: larger than");
    EXPECT_STARTS_WITH(error_of_text("{\"id\":\"\xff\"}"), "manifest: not valid JSON");
    json many = complete();
    many["capabilities"] = json::array();
    for (int i = 0; i < 300; ++i) many["capabilities"].push_back("c" + std::to_string(i));
    EXPECT_STARTS_WITH(error_of(many), "capabilities: more than 256 items");
}

TEST(Manifest, ReadsFilesWithTheirPathInErrors) {
    const auto dir = std::filesystem::temp_directory_path() / ("cordon-manifest-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream(dir / "good.json") << complete().dump(2);
        std::ofstream(dir / "bad.json") << R"({"id": 1})";
    }
    EXPECT_TRUE(read_manifest_file(dir / "good.json"));
    auto bad = read_manifest_file(dir / "bad.json");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), (dir / "bad.json").string() + ": id: expected a string, got integer");
    EXPECT_FALSE(read_manifest_file(dir / "missing.json"));
    EXPECT_FALSE(read_manifest_file(dir));
    std::filesystem::remove_all(dir);
}
