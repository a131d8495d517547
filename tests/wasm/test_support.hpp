// Helpers shared by the wasm tests: where the test modules were built, and reading them.
#pragma once

#include <cordon/wasm/module.hpp>

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

} // namespace cordon::wasm::testing
