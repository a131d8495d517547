// Fuzzes what a host does with untrusted module bytes on the interpreter engine: load (scan,
// validate, IR), inspect, instantiate under a tight policy, and call each export with zeros.
#include "fuzz_support.hpp"
#include "fuzz_wasm.hpp"

#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using cordon::fuzz::require;
namespace wasm = cordon::wasm;

// Small enough that every input finishes in milliseconds; a runaway guest ends on fuel.
using fuzz_policy = cordon::policy<cordon::isolation::strict, cordon::limit::fuel<200'000>,
                                   cordon::limit::wall_time_ms<2'000>, cordon::limit::memory<(16u << 20)>>;

inline constexpr std::size_t max_calls = 8;

std::optional<cordon::value> zero_of(cordon::value_type type) {
    switch (type) {
    case cordon::value_type::i32: return cordon::value::of(std::int32_t{0});
    case cordon::value_type::i64: return cordon::value::of(std::int64_t{0});
    case cordon::value_type::f32: return cordon::value::of(0.0f);
    case cordon::value_type::f64: return cordon::value::of(0.0);
    default: return std::nullopt;  // vectors and references do not cross the boundary
    }
}

void inspect(const wasm::module& module) {
    const auto& info = module.info();
    std::size_t text = 0;
    for (const auto& import : info.imports) {
        text += import.module.size() + import.name.size();
        if (import.func_signature) text += to_string(*import.func_signature).size();
    }
    for (const auto& e : info.exports) {
        require(module.find_export(e.name) != nullptr, "every export is found by its name");
        if (e.kind == wasm::extern_kind::function)
            require(e.func_signature.has_value(), "a function export has a signature");
    }
    require(info.function_names.size() == info.function_signatures.size(), "every function has a name and a type");
    require(info.imported_functions <= info.function_names.size(), "imported functions are functions");
    if (info.start_function) require(*info.start_function < info.function_names.size(), "the start function exists");
    for (std::uint32_t i = 0; i <= info.function_names.size() && i < 4096; ++i) text += module.function_name(i).size();
    (void)text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto module = cordon::fuzz::load_fuzzed_module(data, size);
    if (!module) return 0;
    inspect(*module);

    cordon::sandbox<wasm::interpreter, fuzz_policy> box{*module};
    if (!box.ok()) return 0;
    std::size_t calls = 0;
    for (const auto& e : module->exports()) {
        if (e.kind != wasm::extern_kind::function || !e.func_signature || calls == max_calls) continue;
        std::vector<cordon::value> args;
        bool callable = true;
        for (auto type : e.func_signature->params) {
            const auto zero = zero_of(type);
            if (!zero) callable = false;
            else args.push_back(*zero);
        }
        if (!callable) continue;
        ++calls;
        auto answer = box.call_values(e.name, args);
        if (answer) require(answer->size() == e.func_signature->results.size(), "a call returns its results");
    }
    return 0;
}
