// A plugin host: discovers the plugins in a directory, checks digests and signatures,
// resolves dependencies, runs the chosen plugins through one manager under their manifests'
// permissions and limits (WebAssembly entries in the interpreter, a native plugin in a process
// sandbox), lets them talk over the plugin bus, and disables a failing one.
#include <cordon/cordon.hpp>
#include <cordon/plugin/loaders.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/process.hpp>
#include <cordon/wasm.hpp>

#include <fmt/core.h>

#include <filesystem>
#include <map>

using host_policy = cordon::policy<cordon::isolation::standard>;
using plugin_manager = cordon::plugin::manager<host_policy, cordon::wasm::interpreter, cordon::process::backend>;

namespace {

/// Turns a plugin's entry, read and hashed by the manager at load, into a module to run.
cordon::result<cordon::wasm::module> load_entry(const cordon::plugin::plugin_record& plugin,
                                                std::span<const unsigned char> verified_entry) {
    fmt::print("  loading {} ({} verified bytes)\n", plugin.label(), verified_entry.size());
    return cordon::plugin::load_wasm_module(plugin, verified_entry);
}

} // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    // Process sandboxes fork from a zygote, started while the program has one thread.
    if (auto zygote = cordon::process::zygote::start(); !zygote) fmt::print("no process sandboxes: {}\n", zygote.error().message());
    const fs::path directory = argc > 1 ? fs::path(argv[1]) : fs::path(CORDON_EXAMPLE_PLUGINS);
    // teller, a native plugin, is built with the example: its manifest is written beside it then.
    const fs::path native_directory = argc > 2 ? fs::path(argv[2]) : fs::path(CORDON_EXAMPLE_NATIVE_PLUGINS);

    cordon::plugin::registry_options options;
    if (auto trusted = options.integrity.trusted.add_file(directory / "keys" / "test.pub"); !trusted)
        fmt::print("no trusted key: {}\n", trusted.error().message());
    const fs::path roots[] = {directory, native_directory};
    auto plugins = cordon::plugin::registry::discover(roots, options);
    if (!plugins) {
        fmt::print(stderr, "{}\n", plugins.error().message());
        return 1;
    }

    fmt::print("== discovered in {} and {}\n", directory.string(), native_directory.string());
    for (const auto& p : plugins->plugins())
        fmt::print("  {:<16} {:<8} signature {:<11} {}\n", p.id(), p.version().to_string(), to_string(p.signature.status),
                   p.usable() ? "ok" : "REJECTED: " + p.rejection->message());
    for (const auto& problem : plugins->problems()) fmt::print("  skipped: {}\n", problem.problem.message());

    fmt::print("\n== resolving app\n");
    const cordon::plugin::requirement wanted[] = {
        {"app", std::nullopt}, {"flaky", std::nullopt}, {"asker", std::nullopt}, {"teller", std::nullopt}};
    const auto chosen = cordon::plugin::resolve(*plugins, wanted);
    if (!chosen.ok()) {
        fmt::print(stderr, "{}\n", chosen.to_error().message());
        return 65;
    }
    for (const auto* p : chosen.load_order) fmt::print("  {}\n", p->label());

    // One loader per backend; native plugins run from private copies of their verified bytes.
    plugin_manager manager{load_entry, cordon::plugin::process_loader{}};
    manager.on_state_change([](const std::string& id, cordon::plugin::plugin_state from, cordon::plugin::plugin_state to) {
        fmt::print("  [{}: {} -> {}]\n", id, to_string(from), to_string(to));
    });
    manager.on_disable([](const std::string& id, const cordon::error& last) {
        fmt::print("  [{} disabled; last error: {}]\n", id, last.message());
    });

    fmt::print("\n== starting in load order\n");
    if (auto ok = manager.register_plugins(chosen); !ok) fmt::print("  {}\n", ok.error().message());
    for (const auto* p : chosen.load_order) {
        if (auto ok = manager.load(p->id()); !ok) fmt::print("  {}\n", ok.error().message());
        if (auto ok = manager.activate(p->id()); !ok) fmt::print("  {}\n", ok.error().message());
    }
    for (const auto& status : manager.statuses()) fmt::print("  {:<8} runs on the {} backend\n", status.id, status.backend);

    fmt::print("\n== calling\n");
    fmt::print("  app.main() = {}\n", manager.call<std::int32_t()>("app", "main").value_or(-1));
    fmt::print("  greeter.greet(40) = {}\n", manager.call<std::int32_t(std::int32_t)>("greeter", "greet", 40).value_or(-1));
    for (int attempt = 1; attempt <= 6; ++attempt) {
        auto r = manager.call<std::int32_t()>("flaky", "run");
        fmt::print("  flaky.run() #{}: {}\n", attempt, r ? "ok" : r.error().message());
    }
    if (auto ok = manager.enable("flaky"); ok) fmt::print("  the host re-enabled flaky\n");

    fmt::print("\n== the plugin bus\n");
    manager.on_violation([](const std::string& id, const cordon::error& e) { fmt::print("  [{} violated: {}]\n", id, e.message()); });
    const auto text = [](const cordon::result<std::vector<std::byte>>& r) {
        return r ? std::string(reinterpret_cast<const char*>(r->data()), r->size()) : r.error().message();
    };
    for (int i = 1; i <= 2; ++i) fmt::print("  asker.ask() over the bus = {}\n", text(manager.call_bytes("asker", "ask", {})));
    fmt::print("  teller.tell(), native, asking wasm counter = {}\n", text(manager.call_bytes("teller", "tell", {})));
    fmt::print("  asker.tamper(): {}\n", text(manager.call_bytes("asker", "tamper", {})));

    fmt::print("\n== refused\n");
    for (const char* id : {"tampered", "badsig"})
        if (auto ok = manager.register_plugin(*plugins->versions_of(id).at(0)); !ok)
            fmt::print("  {}\n", ok.error().message());
    if (auto ok = manager.grant("greeter", "process"); !ok) fmt::print("  {}\n", ok.error().message());

    fmt::print("\n== execution log\n");
    for (const auto& call : manager.execution_log())
        fmt::print("  {}.{} {} us {}{}\n", call.plugin, call.function, call.duration.count() / 1000,
                   call.failure ? "failed" : "ok", call.caller.empty() ? "" : " (for " + call.caller + ")");
}
