// An untrusted plugin gallery: each misbehaving WebAssembly plugin runs in its own sandbox under a
// standard policy, and the host prints how it was stopped. The host itself is never harmed.
#include <cordon/format.hpp>
#include <cordon/wasm.hpp>

#include <fmt/core.h>

#include <string>

namespace {

using gallery_policy = cordon::policy<cordon::isolation::standard,   // clock and random granted
                                      cordon::limit::memory<4 * cordon::MiB>,
                                      cordon::limit::cpu_time_ms<200>,
                                      cordon::limit::output_bytes<4096>>;

struct exhibit {
    const char* module;
    const char* function;  // "" runs the WASI _start
    const char* what_it_tries;
};

void show(const std::string& dir, const exhibit& e) {
    fmt::print("\n{:<18} {}\n", e.module, e.what_it_tries);
    auto module = cordon::wasm::module::from_file(dir + "/" + e.module);
    if (!module) {
        fmt::print("  refused to load:  {}\n", module.error());
        return;
    }
    cordon::sandbox_options options;
    options.revokes = {"clock"};  // the escape artist wants it; this host does not give it
    cordon::sandbox<cordon::wasm::interpreter, gallery_policy> box{*module, std::move(options)};
    if (!box.ok()) {
        fmt::print("  refused to start: {}\n", box.status().error());
        return;
    }
    // Each export is called by the signature the module declares, known only at run time.
    cordon::result<void> outcome = std::string_view(e.function).empty()
                                       ? box.run_main().transform([](int) {})
                                       : box.call_values(e.function, {}).transform([](const auto&) {});
    if (outcome) fmt::print("  finished (nothing to stop)\n");
    else fmt::print("  stopped:          {}\n", outcome.error());
    const auto t = box.telemetry().last_call;
    fmt::print("  used:             {}\n", t);
    for (const auto& v : box.violations()) fmt::print("  violation:        {}\n", v);
}

} // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : CORDON_EXAMPLE_PLUGINS;
    fmt::print("{}\n", gallery_policy{});
    for (const auto& e : {exhibit{"endless_loop.wasm", "spin", "loops forever"},
                          exhibit{"memory_bomb.wasm", "", "allocates until memory runs out"},
                          exhibit{"oob_write.wasm", "smash", "writes far outside its memory"},
                          exhibit{"forbidden_import.wasm", "reach", "reads the clock and calls another plugin"}})
        show(dir, e);
    fmt::print("\nThe host is still here.\n");
    return 0;
}
