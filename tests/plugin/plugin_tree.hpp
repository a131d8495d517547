// Test helper: writes plugin directories (manifest + entry with its real SHA-256) into a
// temporary tree that is removed afterwards.
#pragma once

#include <cordon/plugin/digest.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
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
        return add_entry(id, version, "entry.bin", "entry of " + id + " " + version, dependencies, extra);
    }

    /// The same with a real program as the entry: the bytes of `file`, named `entry`.
    std::filesystem::path add_program(const std::string& id, const std::string& version, const std::filesystem::path& file,
                                      const std::string& entry, const std::map<std::string, std::string>& dependencies = {},
                                      const nlohmann::json& extra = nlohmann::json::object()) {
        std::ifstream in(file, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        return add_entry(id, version, entry, bytes, dependencies, extra);
    }

    /// The directory add() and add_program() write a version into.
    [[nodiscard]] std::filesystem::path directory_of(const std::string& id, const std::string& version) const {
        return root_ / (id + "-" + version);
    }

    static void write(const std::filesystem::path& path, std::string_view data) {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << data;
    }

private:
    std::filesystem::path add_entry(const std::string& id, const std::string& version, const std::string& entry_name,
                                    const std::string& entry, const std::map<std::string, std::string>& dependencies,
                                    const nlohmann::json& extra) {
        const auto dir = directory_of(id, version);
        std::filesystem::create_directories(dir);
        write(dir / entry_name, entry);
        nlohmann::json m{{"id", id}, {"name", id + " plugin"}, {"version", version}, {"entry", entry_name},
                         {"sha256", sha256_hex(std::string_view(entry))}};
        if (!dependencies.empty()) m["dependencies"] = dependencies;
        for (const auto& [key, value] : extra.items()) m[key] = value;
        write(dir / "plugin.json", m.dump(2));
        return dir / "plugin.json";
    }

    std::filesystem::path root_;
};

} // namespace cordon::plugin::testing
