// Admission: whether a plugin may be registered under a host's compile-time policy (its record's
// digest and signature checks, the backend it was built for, its permissions and limits against
// the policy's ceiling), and the sandbox options its manifest is admitted with.
#pragma once

#include <cordon/plugin/registry.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/result.hpp>
#include <cordon/sandbox.hpp>

#include <algorithm>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace cordon::plugin {

/// A manifest's limits as the policy's limit kinds.
inline limit_set limits_of(const plugin_limits& l) {
    limit_set out;
    if (l.memory_bytes) out.set(limit::kind::memory, *l.memory_bytes);
    if (l.cpu) out.set(limit::kind::cpu_time_ms, static_cast<std::uint64_t>(l.cpu->count()));
    if (l.timeout) out.set(limit::kind::wall_time_ms, static_cast<std::uint64_t>(l.timeout->count()));
    if (l.fuel) out.set(limit::kind::fuel, *l.fuel);
    if (l.files) out.set(limit::kind::open_files, *l.files);
    if (l.procs) out.set(limit::kind::processes, *l.procs);
    return out;
}

/// The backend a plugin was built for: its manifest's `backend`, else its entry's kind (a
/// `.wasm` entry is a wasm plugin, any other a process plugin: a native `.so` or an executable).
inline backend_kind built_for(const manifest& m) {
    if (m.backend) return *m.backend;
    return std::filesystem::path(m.entry).extension() == ".wasm" ? backend_kind::wasm : backend_kind::process;
}

/// Whether the backend named `backend_name` runs the plugin. The none backend runs anything (it
/// is the reference and test backend); the others what was built for them.
inline bool runs_on(const plugin_record& record, std::string_view backend_name) {
    const auto wanted = to_string(built_for(record.definition));
    return backend_name == "none" || backend_name.substr(0, wanted.size()) == wanted;
}

/// Refuses a plugin that none of `backend_names` (a manager's backends) runs.
inline result<void> check_built_for(const plugin_record& record, std::span<const std::string_view> backend_names) {
    if (std::any_of(backend_names.begin(), backend_names.end(), [&](auto name) { return runs_on(record, name); })) return {};
    std::string names;
    for (auto name : backend_names) names += (names.empty() ? "" : ", ") + std::string(name);
    return fail(error_kind::invalid_argument, record.label() + " is built for the " +
                                                  std::string(to_string(built_for(record.definition))) +
                                                  " backend; this manager runs " + names);
}

/// Applies the manifest's requests to a scratch copy of the policy: whatever the ceiling refuses
/// there, the plugin can never be given.
inline result<void> check_within_policy(const plugin_record& record, const policy_spec& spec) {
    runtime_policy scratch{spec};
    for (const auto& p : record.definition.permissions)
        if (auto ok = scratch.grant(plugin::to_string(p.kind), p.scope); !ok)
            return ok.error().with_context(record.label() + " requests " + p.to_string());
    const auto wanted = limits_of(record.definition.limits);
    for (auto k : limit::all_kinds)
        if (auto v = wanted.get(k))
            if (auto ok = scratch.tighten(k, *v); !ok)
                return ok.error().with_context(record.label() + " asks for a " + std::string(limit::name(k)) + " limit");
    return {};
}

/// Every check a plugin passes before a manager of `sandbox<Backend, Policy>` takes it: a record
/// rejected by discovery (bad digest or signature) is refused with its reason, then the backend
/// and the policy are checked. The entry's digest is checked again on the bytes that load.
template <class Backend, policy_type Policy> result<void> check_admission(const plugin_record& record) {
    if (!record.usable()) return record.rejection->with_context("cannot register");
    const std::string_view name = Backend::name;
    if (auto ok = check_built_for(record, std::span(&name, 1)); !ok) return ok;
    return check_within_policy(record, Policy::spec());
}

/// What an admitted plugin's sandbox starts with. Default deny: the plugin gets what its manifest
/// asks for, not the preset's default grants; its limits tighten the policy's.
inline sandbox_options admitted_options(const plugin_record& record, const policy_spec& spec) {
    sandbox_options out;
    for (const auto& g : spec.grants)
        if (std::find(out.revokes.begin(), out.revokes.end(), g.name) == out.revokes.end()) out.revokes.push_back(g.name);
    for (const auto& perm : record.definition.permissions) out.grants.push_back(perm.to_string());
    out.limits = limits_of(record.definition.limits);
    return out;
}

} // namespace cordon::plugin
