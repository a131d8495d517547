// Helpers shared by the wasm tests: where the test modules were built, and reading them.
#pragma once

#include <cordon/wasm/module.hpp>
#include <cordon/wasm/runtime.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace cordon::wasm::testing {

inline std::string module_path(const std::string& name) { return std::string(CORDON_TEST_MODULES) + "/" + name + ".wasm"; }

inline std::vector<std::uint8_t> module_bytes(const std::string& name) {
    std::ifstream in(module_path(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline module load(const std::string& name) {
    auto loaded = module::from_file(module_path(name));
    if (!loaded) ADD_FAILURE() << loaded.error().message();
    return loaded.value();
}

using namespace std::chrono_literals;

/// A policy as the wasm layer sees it: a ceiling, grants inside it, limits.
inline sandbox_config strict_config() {
    sandbox_config config;
    config.memory_bytes = 16u << 20;
    config.wall_time = 5s;
    return config;
}

inline sandbox_config allowing(std::initializer_list<const char*> permissions, sandbox_config config = strict_config()) {
    for (const char* p : permissions) {
        config.ceiling.emplace(p);
        config.granted.emplace(p);
    }
    return config;
}

/// A scratch directory tree for the filesystem tests: root/allowed/{data.txt, sub/}, root/secret.txt,
/// and a symlink allowed/escape -> ../secret.txt.
class scratch_tree {
public:
    scratch_tree() {
        root_ = std::filesystem::temp_directory_path() / ("cordon-wasm-" + std::to_string(::getpid()) + "-" +
                                                          std::to_string(counter()++));
        std::filesystem::create_directories(root_ / "allowed" / "sub");
        std::ofstream(root_ / "allowed" / "data.txt") << "inside the scope\n";
        std::ofstream(root_ / "secret.txt") << "outside the scope\n";
        std::filesystem::create_symlink("../secret.txt", root_ / "allowed" / "escape");
    }
    ~scratch_tree() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    [[nodiscard]] std::filesystem::path allowed() const { return root_ / "allowed"; }
    [[nodiscard]] std::filesystem::path root() const { return root_; }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::filesystem::path root_;
};

inline std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

} // namespace cordon::wasm::testing
