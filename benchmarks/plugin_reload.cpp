// Hot reload through the manager: what swapping a version in costs beyond loading it. The
// example tree's greeter 1.0.0 and 1.1.0 (wasm, in the interpreter) take turns; loading is a
// load and unload of the same plugin, so both sides read, verify, translate, instantiate and
// destroy one instance, and the difference is the reload's checks and its swap.
#include "ratio.hpp"

#include <cordon/plugin/loaders.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/wasm.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using namespace cordon;
using wasm_manager = plugin::manager<cordon::policy<isolation::standard>, wasm::interpreter>;

const plugin::registry& example_tree() {
    static const plugin::registry registry = [] {
        const fs::path roots[] = {fs::path(CORDON_SOURCE_DIR) / "tests/plugin/data"};
        return plugin::registry::discover(roots).value();
    }();
    return registry;
}

const plugin::plugin_record& greeter(const char* version) {
    const auto* record = example_tree().find("greeter", plugin::parse_version(version).value());
    if (!record) std::abort();
    return *record;
}

void check(const result<void>& ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "%s: %s\n", what, ok.error().message().c_str());
    std::abort();
}

/// A manager with greeter's dependency, log, running.
void start_log(wasm_manager& m) {
    check(m.register_plugin(*example_tree().versions_of("log").front()), "register log");
    check(m.load("log"), "load log");
    check(m.activate("log"), "activate log");
}

void BM_Load_Greeter(benchmark::State& state) {
    wasm_manager m{plugin::load_wasm_module};
    start_log(m);
    check(m.register_plugin(greeter("1.0.0")), "register");
    for (auto _ : state) {
        check(m.load("greeter"), "load");
        check(m.unload("greeter"), "unload");
    }
}
BENCHMARK(BM_Load_Greeter);

void BM_Reload_Greeter(benchmark::State& state) {
    wasm_manager m{plugin::load_wasm_module};
    start_log(m);
    check(m.register_plugin(greeter("1.0.0")), "register");
    check(m.load("greeter"), "load");
    check(m.activate("greeter"), "activate");
    // The host uses greet, so every reload checks that the new version still offers it.
    if (!m.call<std::int32_t(std::int32_t)>("greeter", "greet", 1)) std::abort();
    const plugin::plugin_record* versions[] = {&greeter("1.1.0"), &greeter("1.0.0")};
    std::size_t next = 0;
    for (auto _ : state) {
        check(m.reload("greeter", *versions[next]), "reload");
        next ^= 1;
    }
}
BENCHMARK(BM_Reload_Greeter);

} // namespace

int main(int argc, char** argv) {
    using cordon_bench::measure;
    return cordon_bench::run_with_ratios(
        argc, argv,
        {
            {"BM_Reload_Greeter", "BM_Load_Greeter", "a reload (checks, build beside, swap) vs loading the same version"},
            {measure("BM_Reload_Greeter", "BM_Load_Greeter", 1), "", "what the reload adds beyond loading (target <= 1 ms)", 0,
             1000000},
        });
}
