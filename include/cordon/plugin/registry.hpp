// The plugin registry: discovers manifests in directories (bounded, never following
// symlinks), keeps every version of each plugin with its integrity verdict, and searches them.
#pragma once

#include <cordon/plugin/digest.hpp>
#include <cordon/plugin/manifest.hpp>
#include <cordon/plugin/signing.hpp>
#include <cordon/result.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon::plugin {

/// How discovery looks for manifests and what it checks. The caps keep a hostile or
/// mistaken directory tree (deep, wide, looping) from making discovery unbounded.
struct registry_options {
    std::string manifest_file_name = "plugin.json";
    int max_depth = 4;                        // directory levels searched below each root
    std::size_t max_manifests = 10'000;
    std::size_t max_directory_entries = 100'000;  // entries looked at, over all roots
    manifest_limits manifest_bounds{};
    bool verify_entries = true;               // hash each entry during discovery
    integrity_settings integrity{};
};

/// One discovered version of a plugin.
struct plugin_record {
    manifest definition;
    std::filesystem::path manifest_path;
    std::filesystem::path directory;
    signature_check signature{};
    /// Why the host will not run this version (entry digest or signature), if so.
    std::optional<error> rejection{};

    [[nodiscard]] const std::string& id() const noexcept { return definition.id; }
    [[nodiscard]] const plugin::version& version() const noexcept { return definition.version; }
    [[nodiscard]] bool usable() const noexcept { return !rejection.has_value(); }
    /// "id 1.2.3", as messages and chains name a plugin version.
    [[nodiscard]] std::string label() const { return definition.id + " " + definition.version.to_string(); }
};

/// A file that looked like a manifest but could not be used.
struct discovery_problem {
    std::filesystem::path path;
    error problem;
};

class registry {
public:
    /// Scans each root: a manifest file, or a directory searched for manifest files.
    /// A root that does not exist is an error; a bad manifest inside one is recorded in
    /// problems() and discovery goes on.
    static result<registry> discover(std::span<const std::filesystem::path> roots, const registry_options& options = {}) {
        registry found;
        found.options_ = options;
        scan_state state;
        for (const auto& root : roots) {
            std::error_code ec;
            const auto status = std::filesystem::symlink_status(root, ec);
            if (ec || status.type() == std::filesystem::file_type::not_found)
                return fail(error_kind::load_error, root.string() + ": no such file or directory");
            if (std::filesystem::is_directory(std::filesystem::status(root, ec))) {
                if (auto ok = found.scan_directory(root, 0, state); !ok) return ok.error();
            } else {
                found.add_unsorted(root);
            }
        }
        found.sort();
        return found;
    }

    /// Adds one manifest file; returns false (and records why) when it cannot be used.
    /// Pointers from earlier look-ups do not survive an addition.
    bool add_manifest_file(const std::filesystem::path& path) {
        const bool added = add_unsorted(path);
        sort();
        return added;
    }

    /// Every version of every plugin, by id, then highest version first.
    [[nodiscard]] const std::vector<plugin_record>& plugins() const noexcept { return records_; }
    [[nodiscard]] const std::vector<discovery_problem>& problems() const noexcept { return problems_; }
    [[nodiscard]] const registry_options& options() const noexcept { return options_; }

    /// The distinct plugin ids, sorted.
    [[nodiscard]] std::vector<std::string> ids() const {
        std::vector<std::string> out;
        for (const auto& r : records_)
            if (out.empty() || out.back() != r.id()) out.push_back(r.id());
        return out;
    }

    /// All versions of `id`, highest first.
    [[nodiscard]] std::vector<const plugin_record*> versions_of(std::string_view id) const {
        std::vector<const plugin_record*> out;
        for (const auto& r : records_)
            if (r.id() == id) out.push_back(&r);
        return out;
    }

    [[nodiscard]] const plugin_record* find(std::string_view id, const plugin::version& v) const {
        for (const auto& r : records_)
            if (r.id() == id && r.version() == v) return &r;
        return nullptr;
    }

    /// Plugins whose name contains `text`, ignoring ASCII case.
    [[nodiscard]] std::vector<const plugin_record*> find_by_name(std::string_view text) const {
        const std::string needle = detail::to_lower_ascii(std::string(text));
        std::vector<const plugin_record*> out;
        for (const auto& r : records_)
            if (detail::to_lower_ascii(r.definition.name).find(needle) != std::string::npos) out.push_back(&r);
        return out;
    }

    /// Plugins that declare `capability` exactly.
    [[nodiscard]] std::vector<const plugin_record*> find_by_capability(std::string_view capability) const {
        std::vector<const plugin_record*> out;
        for (const auto& r : records_)
            if (std::find(r.definition.capabilities.begin(), r.definition.capabilities.end(), capability) !=
                r.definition.capabilities.end())
                out.push_back(&r);
        return out;
    }

    /// What `cordon plugin list --json` prints.
    [[nodiscard]] nlohmann::json to_json() const {
        nlohmann::json plugins = nlohmann::json::array();
        for (const auto& r : records_) plugins.push_back(record_json(r));
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& p : problems_) problems.push_back({{"path", p.path.string()}, {"error", p.problem.message()}});
        return {{"plugins", std::move(plugins)}, {"problems", std::move(problems)}};
    }

    static nlohmann::json record_json(const plugin_record& r) {
        const manifest& m = r.definition;
        nlohmann::json dependencies = nlohmann::json::object();
        for (const auto& d : m.dependencies) dependencies[d.id] = d.constraint.source();
        nlohmann::json permissions = nlohmann::json::array();
        for (const auto& p : m.permissions) permissions.push_back(p.to_string());
        return {
            {"id", m.id},
            {"name", m.name},
            {"version", m.version.to_string()},
            {"manifest", r.manifest_path.string()},
            {"entry", m.entry},
            {"backend", m.backend ? nlohmann::json(to_string(*m.backend)) : nlohmann::json(nullptr)},
            {"capabilities", m.capabilities},
            {"dependencies", std::move(dependencies)},
            {"permissions", std::move(permissions)},
            {"host_api", m.host_api ? nlohmann::json(m.host_api->source()) : nlohmann::json(nullptr)},
            {"signature", to_string(r.signature.status)},
            {"status", r.usable() ? "ok" : "rejected"},
            {"error", r.rejection ? nlohmann::json(r.rejection->message()) : nlohmann::json(nullptr)},
        };
    }

private:
    struct scan_state {
        std::size_t entries_seen = 0;
        std::set<std::pair<dev_t, ino_t>> directories_seen;  // overlapping roots are scanned once
    };

    result<void> scan_directory(const std::filesystem::path& directory, int depth, scan_state& state) {
        struct ::stat info {};
        if (::stat(directory.c_str(), &info) != 0)
            return fail(error_kind::load_error, directory.string() + ": cannot read directory");
        if (!state.directories_seen.insert({info.st_dev, info.st_ino}).second) return {};

        std::error_code ec;
        std::filesystem::directory_iterator it(directory, ec), end;
        if (ec) return fail(error_kind::load_error, directory.string() + ": " + ec.message());
        std::vector<std::filesystem::directory_entry> entries;
        for (; it != end; it.increment(ec)) {
            if (ec) return fail(error_kind::load_error, directory.string() + ": " + ec.message());
            if (++state.entries_seen > options_.max_directory_entries) {
                problems_.push_back({directory, fail(error_kind::load_error, "more than " +
                                                                             std::to_string(options_.max_directory_entries) +
                                                                             " directory entries; discovery stopped")});
                return {};
            }
            entries.push_back(*it);
        }
        // Sorted, so that discovery (and which duplicate wins) does not depend on the file system.
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
        for (const auto& entry : entries) {
            // symlink_status: symlinks are neither followed into nor read, so no loops and no
            // manifests borrowed from outside the tree.
            const auto type = entry.symlink_status(ec).type();
            if (ec) continue;
            if (type == std::filesystem::file_type::regular && entry.path().filename() == options_.manifest_file_name)
                add_unsorted(entry.path());
        }
        if (depth >= options_.max_depth) return {};
        for (const auto& entry : entries) {
            if (entry.symlink_status(ec).type() != std::filesystem::file_type::directory || ec) continue;
            if (auto ok = scan_directory(entry.path(), depth + 1, state); !ok) {
                problems_.push_back({entry.path(), ok.error()});  // an unreadable subdirectory is not fatal
            }
        }
        return {};
    }

    bool add_unsorted(const std::filesystem::path& path) {
        if (records_.size() >= options_.max_manifests) {
            problems_.push_back({path, fail(error_kind::load_error, "more than " + std::to_string(options_.max_manifests) +
                                                                        " manifests; the rest are ignored")});
            return false;
        }
        auto m = read_manifest_file(path, options_.manifest_bounds);
        if (!m) {
            problems_.push_back({path, m.error()});
            return false;
        }
        // Build metadata does not distinguish versions, so "1.0.0+a" duplicates "1.0.0+b".
        plugin::version without_build = m->version;
        without_build.build.clear();
        const auto [where, inserted] = provided_.emplace(m->id + " " + without_build.to_string(), path);
        if (!inserted) {
            problems_.push_back({path, fail(error_kind::load_error, m->id + " " + m->version.to_string() +
                                                                        " is already provided by " + where->second.string())});
            return false;
        }
        plugin_record record{std::move(*m), path, path.parent_path().empty() ? "." : path.parent_path()};
        check_integrity(record);
        records_.push_back(std::move(record));
        return true;
    }

    void check_integrity(plugin_record& record) const {
        if (options_.verify_entries)
            if (auto ok = check_entry_digest(record.definition, record.directory, options_.integrity.max_entry_bytes); !ok) {
                record.rejection = ok.error();
                return;
            }
        auto signature = check_signature(record.definition, options_.integrity);
        if (!signature) record.rejection = signature.error();
        else record.signature = *signature;
    }

    void sort() {
        std::stable_sort(records_.begin(), records_.end(), [](const plugin_record& a, const plugin_record& b) {
            if (a.id() != b.id()) return a.id() < b.id();
            return a.version() > b.version();
        });
    }

    registry_options options_{};
    std::vector<plugin_record> records_;
    std::vector<discovery_problem> problems_;
    std::map<std::string, std::filesystem::path> provided_;  // "id version" -> manifest
};

} // namespace cordon::plugin
