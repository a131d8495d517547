// Test helper: writes plugin directories (manifest + entry with its real SHA-256) into a
// temporary tree that is removed afterwards.
#pragma once

#include <cordon/plugin/digest.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace cordon::plugin::testing {

class plugin_tree {
public:
    plugin_tree() {
        static std::atomic<int> counter{0};
        root_ = std::filesystem::temp_directory_path() /
                ("cordon-plugins-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(root_);
        std::filesystem::create_directories(root_);
    }
    ~plugin_tree() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    plugin_tree(const plugin_tree&) = delete;
    plugin_tree& operator=(const plugin_tree&) = delete;

    [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

    /// Writes ROOT/<id>-<version>/plugin.json and its entry; `extra` fields are merged in.
    std::filesystem::path add(const std::string& id, const std::string& version,
                              const std::map<std::string, std::string>& dependencies = {},
                              const nlohmann::json& extra = nlohmann::json::object()) {
        const auto dir = root_ / (id + "-" + version);
        std::filesystem::create_directories(dir);
        const std::string entry = "entry of " + id + " " + version;
        write(dir / "entry.bin", entry);
        nlohmann::json m{{"id", id}, {"name", id + " plugin"}, {"version", version}, {"entry", "entry.bin"},
                         {"sha256", sha256_hex(std::string_view(entry))}};
        if (!dependencies.empty()) m["dependencies"] = dependencies;
        for (const auto& [key, value] : extra.items()) m[key] = value;
        write(dir / "plugin.json", m.dump(2));
        return dir / "plugin.json";
    }

    static void write(const std::filesystem::path& path, std::string_view data) {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << data;
    }

private:
    std::filesystem::path root_;
};

} // namespace cordon::plugin::testing
