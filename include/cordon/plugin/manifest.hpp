// Plugin manifests (JSON, schema version 1): parsing and validation into a typed manifest,
// with errors that name the offending field's path ("limits.memory: expected a size ...").
#pragma once

#include <cordon/units.hpp>
#include <cordon/plugin/files.hpp>
#include <cordon/plugin/permissions.hpp>
#include <cordon/plugin/semver_range.hpp>
#include <cordon/result.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// The manifest schema this library reads and writes (`schema_version`, optional, default 1).
inline constexpr std::int64_t manifest_schema_version = 1;

enum class backend_kind : std::uint8_t { wasm, process };

constexpr std::string_view to_string(backend_kind kind) noexcept {
    return kind == backend_kind::wasm ? "wasm" : "process";
}

/// Limits a plugin asks for, in the CLI's units; absent ones fall back to the host's policy.
struct plugin_limits {
    std::optional<std::uint64_t> memory_bytes;
    std::optional<std::chrono::milliseconds> cpu;
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<std::uint64_t> fuel;
    std::optional<std::uint64_t> files;
    std::optional<std::uint64_t> procs;
};

struct dependency {
    std::string id;
    version_range constraint;
};

/// Who may reach a plugin over the plugin bus, and what it takes and sends there. Absent, a
/// plugin is reachable by the host only, takes no events and may emit none.
struct bus_rules {
    /// Caller id (or "*" for any plugin with `plugin` granted) to the functions it may call.
    std::map<std::string, std::vector<std::string>, std::less<>> callers;
    /// Topic to the function that receives its events (bytes in; its output is ignored).
    std::map<std::string, std::string, std::less<>> subscribes;
    /// Topics the plugin may emit.
    std::vector<std::string> emits;

    [[nodiscard]] bool admits_call(std::string_view caller, std::string_view function) const {
        for (const std::string_view who : {caller, std::string_view{"*"}}) {
            const auto it = callers.find(who);
            if (it != callers.end() && std::find(it->second.begin(), it->second.end(), function) != it->second.end()) return true;
        }
        return false;
    }
    [[nodiscard]] bool may_emit(std::string_view topic) const {
        return std::find(emits.begin(), emits.end(), topic) != emits.end();
    }
};

/// A validated manifest. `document` keeps the JSON exactly as read, because the signature
/// covers that document (see signing.hpp), not a re-serialisation of these fields.
struct manifest {
    std::int64_t schema_version = manifest_schema_version;
    std::string id;
    std::string name;
    plugin::version version;
    std::string entry;   // relative to the manifest's directory
    std::string sha256;  // lower-case hex
    std::optional<std::string> description, author, license;
    std::optional<backend_kind> backend;
    std::vector<permission_request> permissions;
    plugin_limits limits;
    std::vector<std::string> capabilities;
    std::vector<dependency> dependencies;  // sorted by id
    std::optional<version_range> host_api;
    bus_rules bus;
    std::optional<std::string> signature;  // base64, as written
    nlohmann::json document;
};

/// Bounds on what a manifest may contain, so that a hostile file costs little to reject.
struct manifest_limits {
    std::size_t max_bytes = 256 * 1024;
    int max_depth = 8;
    std::size_t max_list_items = 256;
    std::size_t max_string_bytes = 4096;
};

namespace detail {

/// Thrown only inside parse_json_document's callback and caught there.
struct json_rejected {
    std::string message;
};

inline std::string join_path(std::string_view parent, std::string_view child) {
    return parent.empty() ? std::string(child) : std::string(parent) + "." + std::string(child);
}

inline error field_error(std::string_view path, std::string_view problem) {
    return fail(error_kind::load_error, (path.empty() ? std::string("manifest") : std::string(path)) + ": " + std::string(problem));
}

inline std::string_view json_type_name(const nlohmann::json& value) noexcept {
    if (value.is_number_integer()) return "integer";
    if (value.is_number_float()) return "number with a fraction";
    return value.type_name();
}

inline error wrong_type(std::string_view path, std::string_view expected, const nlohmann::json& got) {
    return field_error(path, "expected " + std::string(expected) + ", got " + std::string(json_type_name(got)));
}

inline bool is_id_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/// Plugin ids: 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit, so an
/// id is always safe in a path, a log line and a JSON key.
inline result<void> check_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return fail(error_kind::load_error, "must be 1 to 128 characters");
    const char first = id.front();
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || (first >= '0' && first <= '9')))
        return fail(error_kind::load_error, "\"" + std::string(id) + "\" must start with a letter or digit");
    for (char c : id)
        if (!is_id_char(c))
            return fail(error_kind::load_error, "\"" + std::string(id.substr(0, 64)) + "\" may only hold [A-Za-z0-9._-]");
    return {};
}

/// 1-128 characters, each one `allowed`; `set` names them in the error.
template <class Allowed> result<void> check_characters(std::string_view text, Allowed allowed, std::string_view set) {
    if (text.empty() || text.size() > 128) return fail(error_kind::load_error, "must be 1 to 128 characters");
    for (char c : text)
        if (!allowed(c))
            return fail(error_kind::load_error, "\"" + std::string(text.substr(0, 64)) + "\" may only hold " + std::string(set));
    return {};
}

/// Capabilities and bus topics: 1-128 characters of [A-Za-z0-9._:/-].
inline result<void> check_label(std::string_view text) {
    return check_characters(text, [](char c) { return is_id_char(c) || c == ':' || c == '/'; }, "[A-Za-z0-9._:/-]");
}

/// A function named in bus rules: 1-128 characters of [A-Za-z0-9._-].
inline result<void> check_function_name(std::string_view name) { return check_characters(name, is_id_char, "[A-Za-z0-9._-]"); }

/// The entry path: relative, no "." or ".." components, no empty components.
inline result<void> check_entry_path(std::string_view entry) {
    if (entry.empty()) return fail(error_kind::load_error, "must not be empty");
    if (entry.size() > 1024) return fail(error_kind::load_error, "longer than 1024 bytes");
    if (entry.front() == '/') return fail(error_kind::load_error, "must be relative to the manifest, got an absolute path");
    if (has_control_char(entry) || entry.find('\\') != std::string_view::npos)
        return fail(error_kind::load_error, "contains a control character or a backslash");
    std::size_t start = 0;
    while (true) {
        const auto slash = entry.find('/', start);
        const auto part = entry.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty() || part == "." || part == "..")
            return fail(error_kind::load_error, "\"" + std::string(entry.substr(0, 64)) +
                                                    "\" must stay inside the plugin's directory (no empty, \".\" or \"..\" parts)");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return {};
}

/// Parses JSON text, refusing duplicate keys (two parsers could disagree on which one
/// counts, and a signature must mean one thing) and nesting deeper than `max_depth`.
inline result<nlohmann::json> parse_json_document(std::string_view text, const manifest_limits& bounds) {
    if (text.size() > bounds.max_bytes)
        return field_error("", "larger than " + std::to_string(bounds.max_bytes) + " bytes");
    std::vector<std::set<std::string>> open_objects;
    auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using event_t = nlohmann::json::parse_event_t;
        if (depth > bounds.max_depth) throw json_rejected{"nested deeper than " + std::to_string(bounds.max_depth) + " levels"};
        if (event == event_t::object_start) open_objects.emplace_back();
        else if (event == event_t::object_end && !open_objects.empty()) open_objects.pop_back();
        else if (event == event_t::key && !open_objects.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second)
                throw json_rejected{"duplicate key \"" + key.substr(0, 64) + "\""};
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                                     /*ignore_comments=*/false);
    } catch (const json_rejected& rejected) {
        return field_error("", rejected.message);
    } catch (const nlohmann::json::exception& e) {
        return field_error("", std::string("not valid JSON: ") + e.what());
    }
}

/// Reads the fields of one JSON object, remembering which were seen so that unknown ones
/// can be reported.
class object_reader {
public:
    object_reader(const nlohmann::json& object, std::string path, const manifest_limits& bounds)
        : object_{object}, path_{std::move(path)}, bounds_{bounds} {}

    [[nodiscard]] std::string path_of(std::string_view key) const { return join_path(path_, key); }

    /// The field, or nullptr when absent; an error when required and absent.
    result<const nlohmann::json*> field(std::string_view key, bool required) {
        known_.emplace(key);
        const auto it = object_.find(std::string(key));
        if (it == object_.end()) {
            if (required) return field_error(path_of(key), "required field is missing");
            return static_cast<const nlohmann::json*>(nullptr);
        }
        return &*it;
    }

    result<std::optional<std::string>> string(std::string_view key, bool required) {
        auto value = field(key, required);
        if (!value) return value.error();
        if (!*value) return std::optional<std::string>{};
        if (!(*value)->is_string()) return wrong_type(path_of(key), "a string", **value);
        const auto& text = (*value)->get_ref<const std::string&>();
        if (text.size() > bounds_.max_string_bytes)
            return field_error(path_of(key), "longer than " + std::to_string(bounds_.max_string_bytes) + " bytes");
        return std::optional<std::string>{text};
    }

    /// Every key not asked for is an error: a misspelt "permisions" must not silently
    /// leave a plugin without the restrictions its author meant.
    result<void> reject_unknown() const {
        for (const auto& [key, value] : object_.items())
            if (!known_.contains(key)) return field_error(path_of(key), "unknown field");
        return {};
    }

private:
    const nlohmann::json& object_;
    std::string path_;
    const manifest_limits& bounds_;
    std::set<std::string, std::less<>> known_;
};

/// A count given as a JSON integer (16) or as a decimal string ("16"), above zero.
inline result<std::uint64_t> read_count(const nlohmann::json& value, std::string_view path) {
    std::uint64_t count = 0;
    if (value.is_number_integer()) {
        // Parsed JSON stores non-negative integers as unsigned, built JSON may use signed.
        if (!value.is_number_unsigned() && value.get<std::int64_t>() < 0) return field_error(path, "must not be negative");
        count = value.get<std::uint64_t>();
    } else if (value.is_string()) {
        auto parsed = cordon::parse_count(value.get_ref<const std::string&>());
        if (!parsed) return field_error(path, parsed.error().message());
        count = *parsed;
    } else {
        return wrong_type(path, "a whole number like 16", value);
    }
    if (count == 0) return field_error(path, "must be greater than zero");
    return count;
}

inline result<plugin_limits> read_limits(const nlohmann::json& value, const manifest_limits& bounds) {
    const std::string path = "limits";
    if (!value.is_object()) return wrong_type(path, "an object", value);
    object_reader reader{value, path, bounds};
    plugin_limits limits;

    // Sizes and durations are strings in the CLI's syntax; a bare number would hide its unit.
    auto text_field = [&](std::string_view key, std::string_view expected) -> result<std::optional<std::string>> {
        auto raw = reader.field(key, false);
        if (!*raw) return std::optional<std::string>{};
        if (!(*raw)->is_string())
            return field_error(reader.path_of(key), "expected " + std::string(expected) + ", got " + std::string(json_type_name(**raw)));
        return std::optional<std::string>{(*raw)->get<std::string>()};
    };
    auto memory = text_field("memory", "a size like \"64MiB\"");
    if (!memory) return memory.error();
    if (*memory) {
        auto bytes = cordon::parse_size(**memory);
        if (!bytes) return field_error(reader.path_of("memory"), bytes.error().message());
        if (*bytes == 0) return field_error(reader.path_of("memory"), "must be greater than zero");
        limits.memory_bytes = *bytes;
    }
    for (auto [key, slot] : {std::pair{"cpu", &limits.cpu}, std::pair{"timeout", &limits.timeout}}) {
        auto text = text_field(key, "a duration like \"500ms\"");
        if (!text) return text.error();
        if (!*text) continue;
        auto duration = cordon::parse_duration(**text);
        if (!duration) return field_error(reader.path_of(key), duration.error().message());
        if (duration->count() == 0) return field_error(reader.path_of(key), "must be greater than zero");
        *slot = *duration;
    }
    for (auto [key, slot] : {std::pair{"fuel", &limits.fuel}, std::pair{"files", &limits.files}, std::pair{"procs", &limits.procs}}) {
        auto raw = reader.field(key, false);
        if (!*raw) continue;
        auto count = read_count(**raw, reader.path_of(key));
        if (!count) return count.error();
        *slot = *count;
    }
    if (auto ok = reader.reject_unknown(); !ok) return ok.error();
    return limits;
}

/// A JSON array of strings, each checked by `check`, with no duplicates.
template <class Check>
result<std::vector<std::string>> read_string_list(const nlohmann::json& value, std::string_view path,
                                                  const manifest_limits& bounds, Check check) {
    if (!value.is_array()) return wrong_type(path, "an array of strings", value);
    if (value.size() > bounds.max_list_items)
        return field_error(path, "more than " + std::to_string(bounds.max_list_items) + " items");
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string item_path = std::string(path) + "[" + std::to_string(i) + "]";
        if (!value[i].is_string()) return wrong_type(item_path, "a string", value[i]);
        const auto& text = value[i].get_ref<const std::string&>();
        if (auto ok = check(text); !ok) return field_error(item_path, ok.error().message());
        if (!seen.insert(text).second) return field_error(item_path, "\"" + text.substr(0, 64) + "\" is listed twice");
        out.push_back(text);
    }
    return out;
}

inline bool is_hex(std::string_view text) noexcept {
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    return true;
}

inline std::string to_lower_ascii(std::string text) {
    for (char& c : text) c = cordon::detail::units_detail::ascii_lower(c);
    return text;
}

/// Calls `each(key, value, path of the entry)` for every entry of the JSON object `value` at
/// `path` (at most max_list_items of them), stopping at the first error.
template <class Each>
result<void> for_each_entry(const nlohmann::json& value, const std::string& path, std::string_view expected,
                            const manifest_limits& bounds, Each&& each) {
    if (!value.is_object()) return wrong_type(path, expected, value);
    if (value.size() > bounds.max_list_items)
        return field_error(path, "more than " + std::to_string(bounds.max_list_items) + " entries");
    for (const auto& [key, entry] : value.items())
        if (auto ok = each(key, entry, path + "." + key.substr(0, 128)); !ok) return ok;
    return {};
}

/// The manifest's "bus" object: {"callers": {"ID or *": ["function", ...]}, "subscribes":
/// {"topic": "function"}, "emits": ["topic", ...]}, every part optional.
inline result<bus_rules> read_bus_rules(const nlohmann::json& value, std::string_view own_id, const manifest_limits& bounds) {
    const std::string path = "bus";
    if (!value.is_object()) return wrong_type(path, "an object", value);
    object_reader reader{value, path, bounds};
    bus_rules rules;
    const auto caller = [&](const std::string& id, const nlohmann::json& functions, const std::string& at) -> result<void> {
        if (id != "*") {
            if (auto ok = check_id(id); !ok) return field_error(at, "plugin id " + ok.error().message());
            if (id == own_id) return field_error(at, "a plugin does not call itself over the bus");
        }
        auto names = read_string_list(functions, at, bounds, check_function_name);
        if (!names) return names.error();
        rules.callers.emplace(id, std::move(*names));
        return {};
    };
    const auto subscription = [&](const std::string& topic, const nlohmann::json& function, const std::string& at) -> result<void> {
        if (auto ok = check_label(topic); !ok) return field_error(at, "topic " + ok.error().message());
        if (!function.is_string()) return wrong_type(at, "a function name", function);
        const auto& name = function.get_ref<const std::string&>();
        if (auto ok = check_function_name(name); !ok) return field_error(at, ok.error().message());
        rules.subscribes.emplace(topic, name);
        return {};
    };
    if (auto raw = reader.field("callers", false); *raw) {
        auto read = for_each_entry(**raw, path + ".callers", "an object of plugin id (or \"*\") to function names", bounds, caller);
        if (!read) return read.error();
    }
    if (auto raw = reader.field("subscribes", false); *raw) {
        auto read = for_each_entry(**raw, path + ".subscribes", "an object of topic to function name", bounds, subscription);
        if (!read) return read.error();
    }
    if (auto raw = reader.field("emits", false); *raw) {
        auto topics = read_string_list(**raw, path + ".emits", bounds, check_label);
        if (!topics) return topics.error();
        rules.emits = std::move(*topics);
    }
    if (auto ok = reader.reject_unknown(); !ok) return ok.error();
    return rules;
}

} // namespace detail

/// Validates a parsed JSON document as a manifest.
inline result<manifest> validate_manifest(const nlohmann::json& document, const manifest_limits& bounds = {}) {
    using namespace detail;
    if (!document.is_object()) return wrong_type("manifest", "a JSON object", document);
    object_reader reader{document, "", bounds};
    manifest m;
    m.document = document;

    if (auto raw = reader.field("schema_version", false); *raw) {
        if (!(*raw)->is_number_integer()) return wrong_type("schema_version", "an integer", **raw);
        m.schema_version = (*raw)->get<std::int64_t>();
        if (m.schema_version != manifest_schema_version)
            return field_error("schema_version", "unsupported schema version " + std::to_string(m.schema_version) +
                                                     " (this host reads version " + std::to_string(manifest_schema_version) + ")");
    }

    // Required strings first, so that a manifest missing several fields names the first of them.
    auto id = reader.string("id", true);
    if (!id) return id.error();
    if (auto ok = check_id(**id); !ok) return field_error("id", ok.error().message());
    m.id = **id;

    auto name = reader.string("name", true);
    if (!name) return name.error();
    if ((*name)->empty()) return field_error("name", "must not be empty");
    m.name = **name;

    auto version_text = reader.string("version", true);
    if (!version_text) return version_text.error();
    auto parsed_version = parse_version(**version_text);
    if (!parsed_version) return field_error("version", parsed_version.error().message());
    m.version = std::move(*parsed_version);

    auto entry = reader.string("entry", true);
    if (!entry) return entry.error();
    if (auto ok = check_entry_path(**entry); !ok) return field_error("entry", ok.error().message());
    m.entry = **entry;

    auto sha = reader.string("sha256", true);
    if (!sha) return sha.error();
    if ((*sha)->size() != 64 || !is_hex(**sha))
        return field_error("sha256", "expected 64 hex digits (the SHA-256 of the entry file)");
    m.sha256 = to_lower_ascii(**sha);

    for (auto [key, slot] : {std::pair{"description", &m.description}, std::pair{"author", &m.author},
                             std::pair{"license", &m.license}}) {
        auto text = reader.string(key, false);
        if (!text) return text.error();
        *slot = std::move(*text);
    }

    auto backend = reader.string("backend", false);
    if (!backend) return backend.error();
    if (*backend) {
        if (**backend == "wasm") m.backend = backend_kind::wasm;
        else if (**backend == "process") m.backend = backend_kind::process;
        else return field_error("backend", "expected \"wasm\" or \"process\", got \"" + (*backend)->substr(0, 64) + "\"");
    }

    if (auto raw = reader.field("permissions", false); *raw) {
        auto texts = read_string_list(**raw, "permissions", bounds, [](std::string_view text) -> result<void> {
            auto p = parse_permission(text);
            if (!p) return p.error();
            return {};
        });
        if (!texts) return texts.error();
        for (const auto& text : *texts) m.permissions.push_back(*parse_permission(text));
    }

    if (auto raw = reader.field("limits", false); *raw) {
        auto limits = read_limits(**raw, bounds);
        if (!limits) return limits.error();
        m.limits = *limits;
    }

    if (auto raw = reader.field("capabilities", false); *raw) {
        auto capabilities = read_string_list(**raw, "capabilities", bounds, check_label);
        if (!capabilities) return capabilities.error();
        m.capabilities = std::move(*capabilities);
    }

    if (auto raw = reader.field("dependencies", false); *raw) {
        const auto dependency = [&](const std::string& dep_id, const nlohmann::json& constraint,
                                    const std::string& path) -> result<void> {
            if (auto ok = check_id(dep_id); !ok) return field_error(path, "plugin id " + ok.error().message());
            if (dep_id == m.id) return field_error(path, "a plugin cannot depend on itself");
            if (!constraint.is_string()) return wrong_type(path, "a version constraint string like \"^1.2\"", constraint);
            auto range = parse_range(constraint.get_ref<const std::string&>());
            if (!range) return field_error(path, range.error().message());
            m.dependencies.push_back({dep_id, std::move(*range)});
            return {};
        };
        auto read = for_each_entry(**raw, "dependencies", "an object of plugin id to version constraint", bounds, dependency);
        if (!read) return read.error();
    }

    auto host_api = reader.string("host_api", false);
    if (!host_api) return host_api.error();
    if (*host_api) {
        auto range = parse_range(**host_api);
        if (!range) return field_error("host_api", range.error().message());
        m.host_api = std::move(*range);
    }

    if (auto raw = reader.field("bus", false); *raw) {
        auto rules = read_bus_rules(**raw, m.id, bounds);
        if (!rules) return rules.error();
        m.bus = std::move(*rules);
    }

    auto signature = reader.string("signature", false);
    if (!signature) return signature.error();
    if (*signature && (*signature)->empty()) return field_error("signature", "must not be empty");
    m.signature = std::move(*signature);

    if (auto ok = reader.reject_unknown(); !ok) return ok.error();
    return m;
}

/// Parses and validates manifest text.
inline result<manifest> parse_manifest(std::string_view text, const manifest_limits& bounds = {}) {
    auto document = detail::parse_json_document(text, bounds);
    if (!document) return document.error();
    return validate_manifest(*document, bounds);
}

/// Reads and validates a manifest file; errors start with the file's path.
inline result<manifest> read_manifest_file(const std::filesystem::path& path, const manifest_limits& bounds = {}) {
    auto text = detail::read_bounded_file(path, bounds.max_bytes);
    if (!text) return text.error();
    auto parsed = parse_manifest(*text, bounds);
    if (!parsed) return parsed.error().with_context(path.string());
    return parsed;
}

} // namespace cordon::plugin
