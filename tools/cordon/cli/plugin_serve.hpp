// `cordon plugin serve DIR... [--watch] [--trust KEY.pub] [--level L]`: the plugin runtime as a
// process driven by JSON lines. It discovers, resolves and starts every plugin in DIR... in one
// manager (wasm plugins in the interpreter, native plugins and executables in process sandboxes),
// then answers one JSON line on stdout for each request line on stdin, until stdin closes.
// Recovery actions and state changes arrive as notification lines in between. The protocol is
// in docs/plugins.md.
#pragma once

#include "cli/outcome.hpp"
#include "cli/run_commands.hpp"
#include "cli/values.hpp"

#include <cordon/plugin/loaders.hpp>
#include <cordon/plugin/manager.hpp>
#include <cordon/plugin/registry.hpp>
#include <cordon/plugin/resolver.hpp>
#include <cordon/plugin/watch.hpp>
#include <cordon/process.hpp>
#include <cordon/wasm.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cordon::cli {

struct plugin_serve_args {
    std::vector<std::string> dirs;
    std::vector<std::string> trust;
    std::string level_name = "standard";
    bool watch = false;
};

namespace detail {

/// One JSON document per line on stdout, whole, from any thread (answers and notifications).
class line_writer {
public:
    void write(const nlohmann::json& j) {
        const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        std::lock_guard lock(mutex_);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
    }

private:
    std::mutex mutex_;
};

inline nlohmann::json to_json(const plugin::recovery_record& r) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.when.time_since_epoch()).count();
    return {{"time_ms", ms},       {"plugin", r.plugin}, {"version", r.version},
            {"action", std::string(to_string(r.action))}, {"outcome", std::string(to_string(r.outcome))},
            {"cause", r.cause},                {"detail", r.detail}};
}

inline nlohmann::json to_json(const plugin::plugin_status& s) {
    return {{"id", s.id},
            {"version", s.version},
            {"backend", s.backend},
            {"state", std::string(to_string(s.state))},
            {"calls", s.calls},
            {"failures", s.failures},
            {"violations", s.violations},
            {"last_error", s.last_error ? nlohmann::json(s.last_error->message()) : nlohmann::json(nullptr)}};
}

/// An answer that is not a call's: the request's id, a status, an error (null when ok).
inline nlohmann::json answer_of(const nlohmann::json& id, const result<void>& r, phase where = phase::call) {
    nlohmann::json out{{"id", id}, {"status", "ok"}, {"error", nullptr}};
    if (!r) {
        out["status"] = std::string(contract_status(r.error().kind(), where));
        out["error"] = {{"kind", std::string(to_string(r.error().kind()))}, {"message", r.error().message()}};
    }
    return out;
}

/// A request the server cannot act on (not JSON, a missing field, an unknown plugin or export,
/// wrong arguments): status "bad_request", and the server goes on.
inline nlohmann::json bad_request(const nlohmann::json& id, const std::string& why) {
    auto out = answer_of(id, fail(error_kind::invalid_argument, why));
    out["status"] = "bad_request";
    return out;
}

/// A string field of a request, or why there is none.
inline result<std::string> text_field(const nlohmann::json& request, const char* name) {
    const auto it = request.find(name);
    if (it == request.end() || !it->is_string()) return fail(error_kind::invalid_argument, std::string("\"") + name + "\" must be a string");
    return it->get<std::string>();
}

} // namespace detail

inline int plugin_serve(const plugin_serve_args& a) {
    plugin::registry_options options;
    for (const auto& file : a.trust)
        if (auto ok = options.integrity.trusted.add_file(file); !ok) return complain(exits::load_error, ok.error().message());
    options.integrity.require_signatures = !a.trust.empty();
    std::vector<std::filesystem::path> roots(a.dirs.begin(), a.dirs.end());
    auto found = plugin::registry::discover(roots, options);
    if (!found) return complain(preflight_exit(found.error().kind()), found.error().message());
    // Every plugin that resolves on its own is started, together; the others are said and left.
    std::vector<plugin::resolution_problem> refused;
    std::vector<plugin::requirement> startable;
    for (const auto& id : found->ids()) {
        const plugin::requirement one{id, std::nullopt};
        const auto alone = plugin::resolve(*found, std::span(&one, 1));
        if (alone.ok()) startable.push_back(one);
        else refused.insert(refused.end(), alone.problems.begin(), alone.problems.end());
    }
    const auto chosen = plugin::resolve(*found, startable);
    refused.insert(refused.end(), chosen.problems.begin(), chosen.problems.end());
    // Process plugins fork from a zygote started while this program has one thread.
    (void)process::zygote::start();

    return with_level(*level_named(a.level_name), [&]<class Preset>() {
        using P = std::conditional_t<std::is_same_v<Preset, isolation::maximum>, policy<Preset, best_effort>, policy<Preset>>;
        using runtime = plugin::manager<P, wasm::interpreter, process::backend>;
        detail::line_writer out;
        std::mutex modules_mutex;  // the loader runs on the watch's thread too
        std::map<std::string, wasm::module> modules;  // each wasm plugin's module, for its signatures
        plugin::manager_options manager_options;
        manager_options.discovery = options;
        runtime plugins{[&](const plugin::plugin_record& record, std::span<const unsigned char> entry) -> result<wasm::module> {
                            auto m = plugin::load_wasm_module(record, entry);
                            if (m) {
                                std::lock_guard lock(modules_mutex);
                                modules.insert_or_assign(record.id(), *m);
                            }
                            return m;
                        },
                        plugin::process_loader{}, manager_options};
        plugins.on_recovery([&](const plugin::recovery_record& r) {
            auto note = detail::to_json(r);
            note["notification"] = "recovery";
            out.write(note);
        });
        plugins.on_state_change([&](const std::string& id, plugin::plugin_state from, plugin::plugin_state to) {
            out.write({{"notification", "state"}, {"plugin", id}, {"from", std::string(to_string(from))}, {"to", std::string(to_string(to))}});
        });
        for (const auto& problem : refused)
            out.write({{"notification", "refused"}, {"plugin", problem.plugin}, {"error", problem.message}});
        for (const auto* record : chosen.load_order) {
            result<void> started = plugins.register_plugin(*record);
            if (started) started = plugins.load(record->id());
            if (started) started = plugins.activate(record->id());
            if (!started) out.write({{"notification", "refused"}, {"plugin", record->id()}, {"error", started.error().message()}});
        }
        std::unique_ptr<plugin::directory_watch<runtime>> watch;
        if (a.watch) {
            auto started = plugin::directory_watch<runtime>::start(plugins);
            if (!started) return complain(exits::internal, started.error().message());
            watch = std::move(*started);
        }
        auto ready = nlohmann::json::array();
        for (const auto& s : plugins.statuses()) ready.push_back(s.id);
        out.write({{"notification", "ready"}, {"plugins", ready}});

        const auto call = [&](const nlohmann::json& id, const nlohmann::json& request) -> nlohmann::json {
            auto plugin_id = detail::text_field(request, "plugin");
            if (!plugin_id) return detail::bad_request(id, plugin_id.error().message());
            auto function = detail::text_field(request, "function");
            if (!function) return detail::bad_request(id, function.error().message());
            outcome answer;
            if (request.contains("input")) {
                auto input = detail::text_field(request, "input");
                if (!input) return detail::bad_request(id, input.error().message());
                const auto* data = reinterpret_cast<const std::byte*>(input->data());
                auto bytes = plugins.call_bytes(*plugin_id, *function, std::span(data, input->size()));
                if (bytes) answer.result = detail::as_text(*bytes);
                else answer.failure = bytes.error();
            } else {
                std::optional<wasm::module> module;
                {
                    std::lock_guard lock(modules_mutex);
                    if (auto it = modules.find(*plugin_id); it != modules.end()) module = it->second;
                }
                if (!module)
                    return detail::bad_request(id, "\"" + *plugin_id + "\" is not a running wasm plugin: give a process plugin its bytes in \"input\"");
                const auto* e = module->find_export(*function);
                if (!e || e->kind != wasm::extern_kind::function || !e->func_signature)
                    return detail::bad_request(id, *plugin_id + " exports no function named '" + *function + "'");
                const auto it = request.find("args");
                const auto given = it == request.end() ? nlohmann::json::array() : *it;
                const auto& sig = *e->func_signature;
                if (!given.is_array() || given.size() != sig.params.size())
                    return detail::bad_request(id, *function + " takes " + std::to_string(sig.params.size()) + " argument(s) in \"args\": " +
                                                       *function + " " + to_string(sig));
                std::vector<value> args;
                for (std::size_t i = 0; i < sig.params.size(); ++i) {
                    const auto& arg = given[i];
                    if (!arg.is_number() && !arg.is_string())
                        return detail::bad_request(id, "argument " + std::to_string(i + 1) + " must be a number or a string");
                    auto v = parse_value(arg.is_string() ? arg.get<std::string>() : arg.dump(), sig.params[i]);
                    if (!v) return detail::bad_request(id, "argument " + std::to_string(i + 1) + " of " + *function + ": " + v.error().message());
                    args.push_back(*v);
                }
                auto values = plugins.call_values(*plugin_id, *function, args);
                if (values)
                    for (const auto& v : *values) answer.result.push_back(to_json(v));
                else answer.failure = values.error();
            }
            if (auto t = plugins.telemetry(*plugin_id)) answer.telemetry = t->last_call;
            if (auto report = plugins.enforcement(*plugin_id)) answer.enforcement = *report;
            auto j = answer.to_json();
            j["id"] = id;
            if (answer.failure && answer.failure->kind() == error_kind::invalid_argument) j["status"] = "bad_request";
            return j;
        };

        const auto handle = [&](const std::string& line) -> nlohmann::json {
            auto request = nlohmann::json::parse(line, nullptr, false);
            if (request.is_discarded() || !request.is_object()) return detail::bad_request(nullptr, "a request is one JSON object per line");
            const nlohmann::json id = request.contains("id") ? request["id"] : nlohmann::json(nullptr);
            auto op = detail::text_field(request, "op");
            if (!op) return detail::bad_request(id, op.error().message());
            if (*op == "call") return call(id, request);
            if (*op == "reload") {
                auto plugin_id = detail::text_field(request, "plugin");
                if (!plugin_id) return detail::bad_request(id, plugin_id.error().message());
                auto reloaded = plugins.reload(*plugin_id);
                if (!reloaded && reloaded.error().kind() == error_kind::invalid_argument)
                    return detail::bad_request(id, reloaded.error().message());
                return detail::answer_of(id, reloaded, phase::setup);
            }
            if (*op == "emit") {
                auto topic = detail::text_field(request, "topic");
                if (!topic) return detail::bad_request(id, topic.error().message());
                const std::string data = request.contains("data") && request["data"].is_string() ? request["data"].get<std::string>() : "";
                const auto* bytes = reinterpret_cast<const std::byte*>(data.data());
                return detail::answer_of(id, plugins.emit(*topic, std::span(bytes, data.size())));
            }
            if (*op == "status") {
                auto answer = detail::answer_of(id, {});
                answer["plugins"] = nlohmann::json::array();
                for (const auto& s : plugins.statuses()) answer["plugins"].push_back(detail::to_json(s));
                return answer;
            }
            if (*op == "history") {
                auto answer = detail::answer_of(id, {});
                answer["history"] = nlohmann::json::array();
                for (const auto& r : plugins.recovery_history()) answer["history"].push_back(detail::to_json(r));
                return answer;
            }
            return detail::bad_request(id, "unknown op \"" + op->substr(0, 64) + "\": call, reload, emit, status or history");
        };

        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            out.write(handle(line));
        }
        watch.reset();  // before the manager goes
        return 0;
    });
}

inline void add_plugin_serve(CLI::App& plugin_group, std::function<int()>& run, command_store& store) {
    auto* sub = plugin_group.add_subcommand("serve", "run every plugin in DIR... in one manager, driven by JSON lines on stdin "
                                                     "(answers and notifications on stdout; see docs/plugins.md)");
    auto* a = store.make<plugin_serve_args>();
    sub->add_option("DIR", a->dirs, "directories of plugins")->required();
    sub->add_option("--trust", a->trust, "NAME.pub of a trusted key (repeatable): then signatures are required")->allow_extra_args(false);
    sub->add_option("--level", a->level_name, "the host's isolation level: the ceiling manifests must fit in")
        ->check(CLI::IsMember({"minimal", "standard", "strict", "maximum"}));
    sub->add_flag("--watch", a->watch, "reload a plugin when its directory changes (inotify)");
    sub->callback([&run, a] { run = [a] { return plugin_serve(*a); }; });
}

} // namespace cordon::cli
