// The plugin-system subcommands: keygen, sign, verify, and plugin list/resolve. The library
// does the work (cordon/plugin); these only parse arguments and print.
#pragma once

#include "cli/outcome.hpp"

#include <cordon/plugin/keys.hpp>
#include <cordon/plugin/registry.hpp>
#include <cordon/plugin/resolver.hpp>
#include <cordon/plugin/signing.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cordon::cli {

/// Adds keygen, sign and verify; each sets `run` to its action when chosen.
inline void add_signing_commands(CLI::App& app, std::function<int()>& run, command_store& store) {
    auto* keygen = app.add_subcommand("keygen", "generate an Ed25519 key pair: NAME.key (0600) and NAME.pub");
    auto* keygen_out = store.make<std::string>();
    keygen->add_option("--out", *keygen_out, "NAME: the files NAME.key and NAME.pub are written")->required();
    keygen->callback([&run, keygen_out] {
        run = [keygen_out] {
            auto files = plugin::generate_key_files(*keygen_out);
            if (!files) return complain(preflight_exit(files.error().kind()), files.error().message());
            auto key = plugin::read_public_key_file(files->public_key_file);
            fmt::print("wrote {} and {}{}\n", files->secret_key_file.string(), files->public_key_file.string(),
                       key ? " (key id " + key->key_id() + ")" : std::string{});
            return 0;
        };
    });

    auto* sign = app.add_subcommand("sign", "sign a plugin manifest in place (checks the entry's sha256 first)");
    auto* sign_key = store.make<std::string>();
    auto* sign_manifest = store.make<std::string>();
    sign->add_option("--key", *sign_key, "NAME.key written by `cordon keygen`")->required();
    sign->add_option("MANIFEST", *sign_manifest, "the plugin's manifest (plugin.json)")->required();
    sign->callback([&run, sign_key, sign_manifest] {
        run = [sign_key, sign_manifest] {
            auto key = plugin::read_secret_key_file(*sign_key);
            if (!key) return complain(exits::load_error, key.error().message());
            auto id = plugin::sign_manifest_file(*sign_manifest, *key);
            if (!id) return complain(preflight_exit(id.error().kind()), id.error().message());
            fmt::print("signed {} with key {}\n", *sign_manifest, *id);
            return 0;
        };
    });

    auto* verify = app.add_subcommand("verify", "check a manifest's entry digest and its signature against trusted keys");
    auto* trust = store.make<std::vector<std::string>>();
    auto* verify_manifest = store.make<std::string>();
    verify->add_option("--trust", *trust, "NAME.pub of a trusted key (repeatable)")->allow_extra_args(false)->required();
    verify->add_option("MANIFEST", *verify_manifest, "the plugin's manifest (plugin.json)")->required();
    verify->callback([&run, trust, verify_manifest] {
        run = [trust, verify_manifest] {
            plugin::integrity_settings settings;
            settings.require_signatures = true;
            for (const auto& file : *trust)
                if (auto ok = settings.trusted.add_file(file); !ok) return complain(exits::load_error, ok.error().message());
            auto verified = plugin::verify_manifest_file(*verify_manifest, settings);
            if (!verified) return complain(exits::load_error, verified.error().message());
            fmt::print("ok: {} {} entry digest matches; signed by trusted key {}\n", verified->plugin.id,
                       verified->plugin.version.to_string(), verified->signature.key_id.value_or("?"));
            return 0;
        };
    });
}

/// Adds `plugin list` and `plugin resolve` under a `plugin` subcommand; returns it so `plugin run`
/// can be added where the backends are.
inline CLI::App* add_plugin_commands(CLI::App& app, std::function<int()>& run, command_store& store) {
    auto* group = app.add_subcommand("plugin", "work with directories of plugins (manifests, versions, dependencies)");
    group->require_subcommand(1);

    struct listing {
        std::vector<std::string> dirs;
        std::vector<std::string> trust;
        bool json = false;
    };
    auto add_listing = [&](const char* name, const char* help) {
        auto* sub = group->add_subcommand(name, help);
        auto* args = store.make<listing>();
        sub->add_option("DIR", args->dirs, "directories (or manifest files) to search")->required();
        sub->add_option("--trust", args->trust, "NAME.pub of a trusted key (repeatable): signatures are then checked")->allow_extra_args(false);
        sub->add_flag("--json", args->json, "print one JSON object on stdout");
        return std::pair{sub, args};
    };
    auto discover = [](const listing& args) -> result<plugin::registry> {
        plugin::registry_options options;
        for (const auto& file : args.trust)
            if (auto ok = options.integrity.trusted.add_file(file); !ok) return ok.error();
        std::vector<std::filesystem::path> roots(args.dirs.begin(), args.dirs.end());
        return plugin::registry::discover(roots, options);
    };

    // Named pairs, not structured bindings: clang 14 cannot capture those in a lambda.
    const auto list_command = add_listing("list", "list every plugin version found, with its checks");
    auto* list = list_command.first;
    auto* list_args = list_command.second;
    list->callback([&run, list_args, discover] {
        run = [list_args, discover] {
            auto found = discover(*list_args);
            if (!found) return complain(preflight_exit(found.error().kind()), found.error().message());
            if (list_args->json) {
                fmt::print("{}\n", found->to_json().dump());
                return 0;
            }
            for (const auto& r : found->plugins())
                fmt::print("{:<24} {:<12} {:<10} {}\n", r.id(), r.version().to_string(),
                           r.usable() ? std::string(plugin::to_string(r.signature.status)) : "REJECTED",
                           r.usable() ? r.manifest_path.string() : r.rejection->message());
            for (const auto& p : found->problems()) fmt::print("problem: {}\n", p.problem.message());
            return 0;
        };
    });

    const auto resolve_command = add_listing("resolve", "choose versions and a load order; exit 65 on any error");
    auto* resolve = resolve_command.first;
    auto* resolve_args = resolve_command.second;
    resolve->callback([&run, resolve_args, discover] {
        run = [resolve_args, discover] {
            auto found = discover(*resolve_args);
            if (!found) return complain(preflight_exit(found.error().kind()), found.error().message());
            const auto resolution = plugin::resolve_all(*found);
            if (resolve_args->json) {
                fmt::print("{}\n", resolution.to_json().dump());
            } else {
                for (const auto* r : resolution.load_order) fmt::print("{} {}\n", r->id(), r->version().to_string());
                for (const auto& p : resolution.problems) fmt::print(stderr, "cordon: {}\n", p.message);
            }
            return resolution.ok() ? 0 : exits::load_error;
        };
    });
    return group;
}

} // namespace cordon::cli
