// The plugin bus through the manager: what a plugin-to-plugin call adds to a host's call, for C++
// plugins (the none backend) and for wasm plugins in the interpreter (tests/plugin/data's asker
// calling counter), and events per second to one subscriber.
#include "ratio.hpp"

#include <cordon/none/backend.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/wasm.hpp>

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace cordon;
using host_policy = cordon::policy<isolation::standard>;
using bytes = std::vector<std::byte>;

const fs::path plugin_data = fs::path(CORDON_SOURCE_DIR) / "tests/plugin/data";

/// A registry of one directory of hand-written manifests, kept for the run.
struct plugin_directory {
    fs::path root = fs::temp_directory_path() / ("cordon-bench-bus-" + std::to_string(::getpid()));
    std::unique_ptr<plugin::registry> registry;

    plugin_directory() {
        fs::remove_all(root);
        // The none backend runs the program the loader returns; the entries only need a digest.
        for (const auto& [id, bus] : {std::pair{"app", R"("permissions": ["plugin"], "bus": {"emits": ["news"]})"},
                                      std::pair{"echo", R"("bus": {"callers": {"app": ["echo"]},
                                                                   "subscribes": {"news": "on_news"}})"}}) {
            const fs::path dir = root / id;
            fs::create_directories(dir);
            write(dir / "entry", id);
            write(dir / "plugin.json", std::string(R"({"id": ")") + id + R"(", "name": ")" + id +
                                           R"(", "version": "1.0.0", "entry": "entry", "sha256": ")" +
                                           plugin::sha256_hex(std::string_view(id)) + "\", " + bus + "}");
        }
        const fs::path roots[] = {root};
        registry = std::make_unique<plugin::registry>(plugin::registry::discover(roots).value());
    }
    ~plugin_directory() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    static void write(const fs::path& file, std::string_view text) {
        std::FILE* out = std::fopen(file.c_str(), "wb");
        if (!out) std::abort();
        std::fwrite(text.data(), 1, text.size(), out);
        std::fclose(out);
    }
};

none::program program() {
    none::program p;
    p.export_bytes("ask", [](none::guest& g, std::span<const std::byte> input) { return g.bus_call("echo/echo", input); });
    p.export_bytes("echo", [](none::guest&, std::span<const std::byte> input) -> result<bytes> {
        return bytes(input.begin(), input.end());
    });
    p.export_bytes("on_news", [](none::guest&, std::span<const std::byte>) -> result<bytes> { return bytes{}; });
    return p;
}

template <class Manager> void start(Manager& m, const plugin::registry& registry, const char* id) {
    const auto* record = registry.find(id, plugin::parse_version("1.0.0").value());
    if (!record || !m.register_plugin(*record) || !m.load(id) || !m.activate(id)) {
        std::fprintf(stderr, "cannot start plugin %s\n", id);
        std::abort();
    }
}

using none_manager = plugin::manager<host_policy, none::backend>;

none_manager& none_plugins() {
    static plugin_directory directory;
    static none_manager m{[](const plugin::plugin_record&, std::span<const unsigned char>) -> result<none::program> {
        return program();
    }};
    static const bool started = (start(m, *directory.registry, "echo"), start(m, *directory.registry, "app"), true);
    (void)started;
    return m;
}

using wasm_manager = plugin::manager<host_policy, wasm::interpreter>;

wasm_manager& wasm_plugins() {
    static const plugin::registry registry = [] {
        const fs::path roots[] = {plugin_data};
        return plugin::registry::discover(roots).value();
    }();
    static wasm_manager m{[](const plugin::plugin_record&, std::span<const unsigned char> entry) {
        return wasm::module::from_bytes(entry);
    }};
    static const bool started = (start(m, registry, "counter"), start(m, registry, "asker"), true);
    (void)started;
    return m;
}

const bytes payload(16, std::byte{'x'});

void BM_Host_CallNone(benchmark::State& state) {
    auto& m = none_plugins();
    for (auto _ : state) benchmark::DoNotOptimize(m.call_bytes("echo", "echo", payload));
}
BENCHMARK(BM_Host_CallNone);

void BM_Bus_CallNone(benchmark::State& state) {
    auto& m = none_plugins();
    if (auto first = m.call_bytes("app", "ask", payload); !first || first->size() != payload.size()) {
        state.SkipWithError("app/ask did not answer through the bus");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(m.call_bytes("app", "ask", payload));
}
BENCHMARK(BM_Bus_CallNone);

void BM_Bus_EmitNone(benchmark::State& state) {
    auto& m = none_plugins();
    for (auto _ : state) benchmark::DoNotOptimize(m.emit("news", payload));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bus_EmitNone);

void BM_Host_CallWasm(benchmark::State& state) {
    auto& m = wasm_plugins();
    for (auto _ : state) benchmark::DoNotOptimize(m.call_bytes("counter", "next", {}));
}
BENCHMARK(BM_Host_CallWasm);

void BM_Bus_CallWasm(benchmark::State& state) {
    auto& m = wasm_plugins();
    if (auto first = m.call_bytes("asker", "ask", {}); !first || first->size() != 1) {
        state.SkipWithError("asker/ask did not answer through the bus");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(m.call_bytes("asker", "ask", {}));
}
BENCHMARK(BM_Bus_CallWasm);

} // namespace

int main(int argc, char** argv) {
    using cordon_bench::measure;
    return cordon_bench::run_with_ratios(
        argc, argv,
        {
            {"BM_Bus_CallNone", "BM_Host_CallNone", "a host call that makes a bus call vs one that does not (C++ plugins)"},
            {measure("BM_Bus_CallNone", "BM_Host_CallNone", 1), "",
             "what the bus call adds: a nested call under the manager (target <= 1 us)", 0, 1000},
            {"BM_Bus_CallWasm", "BM_Host_CallWasm", "the same, wasm to wasm in the interpreter"},
            {measure("BM_Bus_CallWasm", "BM_Host_CallWasm", 1), "",
             "what the wasm bus call adds (and the asker's own work) (target <= 1 us)", 0, 1000},
            {"BM_Bus_EmitNone", "", "an event from the host to one idle subscriber"},
        });
}
