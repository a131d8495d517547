// `cordon plugin run DIR ID FUNCTION [ARG...]`: discovers and resolves the plugins in DIR, loads ID
// and its dependencies under their manifests' policies (wasm plugins in the interpreter, native
// plugins and executables in process sandboxes, in one manager), and calls one export.
#pragma once

#include "cli/outcome.hpp"
#include "cli/run_commands.hpp"

#include <cordon/plugin/loaders.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/plugin/registry.hpp>
#include <cordon/plugin/resolver.hpp>
#include <cordon/process.hpp>
#include <cordon/wasm.hpp>

#include <CLI/CLI.hpp>

namespace cordon::cli {

struct plugin_run_args {
    std::string dir;
    std::string id;
    std::vector<std::string> rest;  // FUNCTION [ARG...]
    std::vector<std::string> trust;
    std::string level_name = "standard";
    std::optional<std::string> input;
    bool json = false;
};

inline int plugin_run(const plugin_run_args& a) {
    plugin::registry_options options;
    for (const auto& file : a.trust)
        if (auto ok = options.integrity.trusted.add_file(file); !ok) return complain(exits::load_error, ok.error().message());
    options.integrity.require_signatures = !a.trust.empty();
    std::vector<std::filesystem::path> roots{a.dir};
    auto found = plugin::registry::discover(roots, options);
    if (!found) return complain(preflight_exit(found.error().kind()), found.error().message());
    const std::vector<plugin::requirement> wanted{{a.id, std::nullopt}};
    const auto chosen = plugin::resolve(*found, wanted);
    if (!chosen.ok()) return detail::failed(chosen.to_error(), "wasm interpreter").emit(a.json);
    auto input = detail::read_input(a.input);
    if (!input) return complain(preflight_exit(input.error().kind()), input.error().message());
    if (a.rest.empty()) return complain(exits::usage, "plugin run needs the FUNCTION to call after DIR and ID");
    const std::string& function = a.rest.front();

    // Process plugins fork from a zygote started while this program has one thread.
    (void)process::zygote::start();
    return with_level(*level_named(a.level_name), [&]<class Preset>() {
        using P = std::conditional_t<std::is_same_v<Preset, isolation::maximum>, policy<Preset, best_effort>, policy<Preset>>;
        std::optional<wasm::module> target;  // ID's module, when it is a wasm plugin
        plugin::manager<P, wasm::interpreter, process::backend> plugins{
            [&](const plugin::plugin_record& record, std::span<const unsigned char> entry) -> result<wasm::module> {
                auto m = plugin::load_wasm_module(record, entry);
                if (m && record.id() == a.id) target = *m;
                return m;
            },
            plugin::process_loader{}};
        if (auto ok = plugins.register_plugins(chosen); !ok) return detail::failed(ok.error(), "wasm interpreter").emit(a.json);
        for (const auto* record : chosen.load_order) {
            if (auto ok = plugins.load(record->id()); !ok) return detail::failed(ok.error(), "wasm interpreter").emit(a.json);
            if (auto ok = plugins.activate(record->id()); !ok) return detail::failed(ok.error(), "wasm interpreter").emit(a.json);
        }
        std::vector<value> args;
        if (target) {
            if (auto checked = parse_call(*target, a.id, function, a.rest, a.input.has_value(), args); checked != 0) return checked;
        } else if (!a.input) {
            return complain(exits::usage, a.id + " is a process plugin: its exports take bytes; give them with --input");
        }
        outcome out;
        if (a.input) {
            auto bytes = plugins.call_bytes(a.id, function, *input);
            if (bytes) out.result = detail::as_text(*bytes);
            else out.failure = bytes.error();
        } else {
            auto values = plugins.call_values(a.id, function, args);
            if (values)
                for (const auto& v : *values) out.result.push_back(to_json(v));
            else out.failure = values.error();
        }
        if (auto t = plugins.telemetry(a.id)) out.telemetry = t->last_call;
        if (auto report = plugins.enforcement(a.id)) out.enforcement = *report;
        return out.emit(a.json);
    });
}

inline void add_plugin_run(CLI::App& plugin_group, std::function<int()>& run, command_store& store,
                           std::vector<call_command>& calls) {
    auto* sub = plugin_group.add_subcommand("run", "resolve the plugins in DIR and call one export of plugin ID under its manifest "
                                                   "(wasm plugins and native or executable process plugins)");
    auto* a = store.make<plugin_run_args>();
    sub->add_option("DIR", a->dir, "a directory of plugins")->required();
    sub->add_option("ID", a->id, "the plugin to call")->required();
    sub->add_option("FUNCTION", a->rest, "the export to call, then its arguments, taken as written (-1 and -inf are arguments)");
    calls.push_back({sub, 2, &a->rest});
    sub->add_option("--trust", a->trust, "NAME.pub of a trusted key (repeatable): then signatures are required")->allow_extra_args(false);
    sub->add_option("--level", a->level_name, "the host's isolation level: the ceiling manifests must fit in")
        ->check(CLI::IsMember({"minimal", "standard", "strict", "maximum"}));
    sub->add_option("--input", a->input, "bytes for the bytes-in/bytes-out convention: a file, or - for stdin");
    sub->add_flag("--json", a->json, "print one JSON object on stdout");
    sub->callback([&run, a] { run = [a] { return plugin_run(*a); }; });
}

} // namespace cordon::cli
