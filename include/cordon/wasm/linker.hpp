// Import resolution by permission, shared by every engine: each import of a module is matched
// to a host function (cordon API, WASI, user-registered) or refused with load_error or denied.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/host_api.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>
#include <cordon/wasm/wasi.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace cordon::wasm {

/// How each function import of a module is served, in import order (non-function imports are
/// refused: cordon provides no memories, tables or globals to guests).
struct link_plan {
    std::vector<std::shared_ptr<const host_function>> functions;

    /// A counter per import for the call counts of `state` (the slot of a call is its import's index).
    void name_counters(sandbox_state& state) const {
        std::vector<std::string_view> names;
        for (const auto& f : functions) names.push_back(f->name);
        state.current.host_calls.name_slots(names);
        state.total.host_calls.name_slots(std::move(names));
    }
};

/// Resolves the imports of `source` (the original module, before metering).
/// A permission-tagged import links only if the sandbox's ceiling admits its kind; user
/// functions get their permission's id in this sandbox here.
inline result<link_plan> link_imports(const module& source, const host::policy_view& policy,
                                      std::vector<host_function>& user_functions) {
    for (host_function& f : user_functions)
        if (f.permission) f.permission_id = policy.admit(*f.permission);
    link_plan plan;
    auto find_in = [](const std::vector<host_function>& list, const import_info& import) -> const host_function* {
        for (const auto& f : list)
            if (f.module == import.module && f.name == import.name) return &f;
        return nullptr;
    };
    for (const import_info& import : source.imports()) {
        const std::string qualified = import.module + "." + import.name;
        if (import.kind != extern_kind::function)
            return fail(error_kind::load_error, "module imports " + std::string(to_string(import.kind)) + " " +
                                                    qualified + "; only function imports can be provided");
        const host_function* found = find_in(user_functions, import);
        if (!found && import.module == "cordon") found = find_in(cordon_host_api(), import);
        std::shared_ptr<const host_function> stand_in;
        if (!found && import.module == wasi::module) {
            found = find_in(wasi_host_api(), import);
            if (!found && std::find(wasi::all_functions.begin(), wasi::all_functions.end(), import.name) !=
                              wasi::all_functions.end()) {
                stand_in = std::make_shared<const host_function>(wasi_unsupported(import.name, *import.func_signature));
            }
        }
        if (!found && !stand_in)
            return fail(error_kind::load_error, "module imports unknown function " + qualified);
        if (found) {
            if (found->sig != *import.func_signature)
                return fail(error_kind::load_error, "import " + qualified + " has type " +
                                                        to_string(*import.func_signature) + " but the host function has type " +
                                                        to_string(found->sig));
            if (found->permission && !policy.admit(*found->permission)) {
                error_info info{"import " + qualified + " needs permission " + *found->permission +
                                ", which the policy does not allow"};
                info.permission = *found->permission;
                info.function = qualified;
                return error{error_kind::denied, std::move(info)};
            }
            // Host functions are shared by every sandbox; the plan only refers to them.
            plan.functions.push_back(std::shared_ptr<const host_function>(std::shared_ptr<void>{}, found));
        } else {
            plan.functions.push_back(std::move(stand_in));
        }
    }
    return plan;
}

/// The permissions a module's imports need (for `cordon inspect` and plugin manifests): the
/// ceiling must hold all of them for the module to load. Unknown imports are ignored here;
/// linking reports them.
inline std::vector<std::string> permissions_needed(const module& source,
                                                   const std::vector<host_function>& user_functions = {}) {
    std::vector<std::string> needed;
    auto note = [&](const std::vector<host_function>& list, const import_info& import) {
        for (const auto& f : list) {
            if (f.module != import.module || f.name != import.name) continue;
            if (f.permission && std::find(needed.begin(), needed.end(), *f.permission) == needed.end())
                needed.push_back(*f.permission);
            return true;
        }
        return false;
    };
    for (const import_info& import : source.imports()) {
        if (import.kind != extern_kind::function) continue;
        if (note(user_functions, import)) continue;
        if (import.module == "cordon") note(cordon_host_api(), import);
        else if (import.module == wasi::module) note(wasi_host_api(), import);
    }
    std::sort(needed.begin(), needed.end());
    return needed;
}

namespace detail {

/// Runs a host function for the guest: the run-time grant check, telemetry, and the rule that
/// a host error stops the guest while a denial is only a return value.
inline result<void> call_host(const host_function& f, std::size_t slot, host_call& call, std::span<const value> params,
                              std::span<value> results) {
    // Engines size these from the import's type; a host function must never write past them.
    if (params.size() != f.sig.params.size() || results.size() != f.sig.results.size())
        return fail(error_kind::internal, f.qualified_name() + " called with " + std::to_string(params.size()) +
                                              " arguments and room for " + std::to_string(results.size()) +
                                              " results, its type " + to_string(f.sig) + " needs " +
                                              std::to_string(f.sig.params.size()) + " and " +
                                              std::to_string(f.sig.results.size()));
    call.state.current.host_calls.count(slot);
    if (f.permission && !f.grant_checked_inside && !(f.permission_id && call.state.policy.granted(*f.permission_id))) {
        if (f.permission_id) (void)host::api::refused(call.state.policy, *f.permission_id, f.qualified_name());
        if (call.state.policy.on_violation() == violation_action::trap) {
            error_info info{f.qualified_name() + " needs permission " + *f.permission + ", which is not granted"};
            info.permission = *f.permission;
            return error{error_kind::violation, std::move(info)};
        }
        for (std::size_t i = 0; i < results.size(); ++i) {
            results[i] = value{f.sig.results[i], 0};
            if (f.sig.results[i] == value_type::i32) results[i] = value::of(static_cast<std::int32_t>(f.denied_result));
            if (f.sig.results[i] == value_type::i64) results[i] = value::of(f.denied_result);
        }
        return {};
    }
    for (std::size_t i = 0; i < results.size(); ++i) results[i].type = f.sig.results[i];
    return f.callback(call, params, results);
}

} // namespace detail
} // namespace cordon::wasm
