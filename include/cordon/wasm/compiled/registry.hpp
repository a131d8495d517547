// Modules translated at build time (cordon_add_compiled_wasm_module() in CMake) register here
// when the program starts, with the original module's bytes and their compiled code. A sandbox
// is created from one by name: wasm::compiled_module("fib").
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/compiled/abi.hpp>
#include <cordon/wasm/compiled/rt.hpp>
#include <cordon/wasm/compiled/toolchain.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

namespace compiled_registry {

using entry_point = const cordon_w2c_module* (*)();

struct entry {
    std::span<const std::uint8_t> wasm;
    std::vector<entry_point> variants;  // one per metering rewrite compiled in
    std::vector<std::shared_ptr<const compiled_code>> loaded{};
    std::optional<module> parsed{};
};

struct table {
    std::mutex mutex;
    std::map<std::string, entry, std::less<>> by_name;
};

inline table& instance() {
    static table t;
    return t;
}

} // namespace compiled_registry

/// Made by the registration file generated for each module translated at build time.
struct compiled_registration {
    compiled_registration(const char* name, const unsigned char* wasm, std::size_t size,
                          std::initializer_list<compiled_registry::entry_point> variants) {
        compiled_rt::keep_runtime_symbols();
        auto& t = compiled_registry::instance();
        std::lock_guard lock{t.mutex};
        compiled_registry::entry e{{wasm, size}, variants};
        e.loaded.resize(e.variants.size());
        t.by_name.insert_or_assign(name, std::move(e));
    }
};

/// The names of the modules built into this program.
inline std::vector<std::string> compiled_module_names() {
    auto& t = compiled_registry::instance();
    std::lock_guard lock{t.mutex};
    std::vector<std::string> names;
    for (const auto& [name, e] : t.by_name) names.push_back(name);
    return names;
}

/// The module built into the program under `name`; sandboxes made from it with the compiled
/// engine run the code compiled with the program.
inline result<module> compiled_module(std::string_view name) {
    auto& t = compiled_registry::instance();
    std::lock_guard lock{t.mutex};
    auto it = t.by_name.find(name);
    if (it == t.by_name.end())
        return fail(error_kind::invalid_argument, "no module named " + std::string(name) +
                                                      " was compiled into this program");
    if (!it->second.parsed) {
        auto loaded = module::from_bytes(it->second.wasm);
        if (!loaded) return loaded.error();
        it->second.parsed = std::move(*loaded);
    }
    return *it->second.parsed;
}

/// The code compiled into the program for this module and metering, if there is any.
inline std::shared_ptr<const compiled_code> linked_code(const metering_options& metering, std::string_view module_sha256) {
    auto& t = compiled_registry::instance();
    std::lock_guard lock{t.mutex};
    for (auto& [name, e] : t.by_name) {
        for (std::size_t v = 0; v < e.variants.size(); ++v) {
            const cordon_w2c_module* desc = e.variants[v]();
            if (!desc || desc->abi_version != compiled_abi_version || module_sha256 != desc->module_sha256 ||
                metering.key() != desc->metering)
                continue;
            if (!e.loaded[v])
                e.loaded[v] = std::make_shared<const compiled_code>(std::make_shared<const compiled_toolchain::loaded_object>(desc), false);
            return e.loaded[v];
        }
    }
    return nullptr;
}

} // namespace cordon::wasm
