// The conformance suite's wasm payload kind, for either engine: the C guest built for wasm32,
// in four modules so that each case's imports link under its policy.
#pragma once

#include <cordon/wasm.hpp>

#include <map>

#include "suite.hpp"

namespace cordon::conformance {

inline wasm::module wasm_guest(part p) {
    static const std::map<part, std::string> files = {{part::main, "conformance"},
                                                      {part::environment, "conformance_env"},
                                                      {part::host_functions, "conformance_host"},
                                                      {part::bus, "conformance_bus"}};
    static std::map<part, wasm::module> loaded;
    auto it = loaded.find(p);
    if (it != loaded.end()) return it->second;
    auto m = wasm::module::from_file(std::string(CORDON_CONFORMANCE_MODULES) + "/" + files.at(p) + ".wasm");
    if (!m) ADD_FAILURE() << m.error().message();
    return loaded.emplace(p, m.value()).first->second;
}

template <class Backend>
struct wasm_module_kind : expressible {
    using backend = Backend;
    static constexpr std::string_view name = Backend::name;
    static wasm::module payload(part p) { return wasm_guest(p); }

    static constexpr capability processes = cannot("a wasm guest cannot start processes (compile-time rejection)");
    static constexpr capability system = cannot("the wasm host API offers no system information import");
};

} // namespace cordon::conformance
