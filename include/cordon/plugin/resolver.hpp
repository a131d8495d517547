// Dependency resolution over a registry: the highest version of each plugin that satisfies
// every constraint on it (backtracking when needed), a load order, and explained failures.
#pragma once

#include <cordon/plugin/registry.hpp>
#include <cordon/plugin/semver_range.hpp>
#include <cordon/result.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace cordon::plugin {

/// The host API version this library implements; manifests constrain it with `host_api`.
inline plugin::version host_api_version() { return plugin::version{1, 0, 0, {}, {}}; }

/// A plugin the host asks for, with an optional constraint (none: any version).
struct requirement {
    std::string id;
    std::optional<version_range> constraint{};
};

enum class resolution_problem_kind : std::uint8_t { missing, conflict, cycle, host_api, rejected, too_complex };

constexpr std::string_view to_string(resolution_problem_kind kind) noexcept {
    switch (kind) {
    case resolution_problem_kind::missing: return "missing";
    case resolution_problem_kind::conflict: return "conflict";
    case resolution_problem_kind::cycle: return "cycle";
    case resolution_problem_kind::host_api: return "host_api";
    case resolution_problem_kind::rejected: return "rejected";
    case resolution_problem_kind::too_complex: return "too_complex";
    }
    return "unknown";
}

/// Why resolution failed. `chain` runs from a requested plugin to the one that could not be
/// resolved ("app 1.0.0", "ui 2.0.0", "log"); for a cycle it is the cycle itself.
struct resolution_problem {
    resolution_problem_kind kind{};
    std::string plugin;
    std::vector<std::string> chain;
    std::string message;
};

struct resolution {
    /// The chosen versions, each after everything it depends on.
    std::vector<const plugin_record*> load_order;
    std::vector<resolution_problem> problems;

    [[nodiscard]] bool ok() const noexcept { return problems.empty(); }

    /// The problems as one load_error (what the CLI's exit code 65 reports).
    [[nodiscard]] error to_error() const {
        std::string message;
        for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p.message;
        return {error_kind::load_error, message.empty() ? std::string("resolution failed") : message};
    }

    /// What `cordon plugin resolve --json` prints.
    [[nodiscard]] nlohmann::json to_json() const {
        nlohmann::json order = nlohmann::json::array();
        for (const auto* r : load_order)
            order.push_back({{"id", r->id()}, {"version", r->version().to_string()}, {"manifest", r->manifest_path.string()}});
        nlohmann::json errors = nlohmann::json::array();
        for (const auto& p : problems)
            errors.push_back({{"kind", to_string(p.kind)}, {"plugin", p.plugin}, {"chain", p.chain}, {"message", p.message}});
        return {{"ok", ok()}, {"load_order", std::move(order)}, {"errors", std::move(errors)}};
    }
};

struct resolve_options {
    plugin::version host_api = host_api_version();
    /// Candidate versions tried before giving up; backtracking is exponential at worst.
    std::size_t max_steps = 100'000;
};

namespace detail {

inline std::string join_chain(const std::vector<std::string>& chain) {
    std::string out;
    for (const auto& link : chain) out += (out.empty() ? "" : " -> ") + link;
    return out;
}

class resolver {
public:
    resolver(const registry& plugins, const resolve_options& options) : registry_{plugins}, options_{options} {}

    resolution run(std::span<const requirement> roots) {
        for (const auto& root : roots) add_constraint(root.id, root.constraint ? &*root.constraint : nullptr, {});
        resolution out;
        if (solve(0)) {
            out.load_order = load_order();
        } else if (exhausted_) {
            out.problems.push_back({resolution_problem_kind::too_complex, {}, {},
                                    "gave up after trying " + std::to_string(options_.max_steps) + " candidate versions"});
        } else if (first_failure_) {
            out.problems.push_back(*first_failure_);
        }
        return out;
    }

private:
    struct constraint_source {
        const version_range* range;        // nullptr: any version
        std::vector<std::string> chain;    // who asks, from a root; empty for a root
    };

    /// Why one candidate version was passed over.
    struct refusal {
        resolution_problem_kind kind;
        std::string message;
        std::vector<std::string> chain;
    };

    void add_constraint(const std::string& id, const version_range* range, std::vector<std::string> chain) {
        auto& sources = constraints_[id];
        if (sources.empty() && std::find(pending_.begin(), pending_.end(), id) == pending_.end()) pending_.push_back(id);
        sources.push_back({range, std::move(chain)});
    }

    void drop_constraint(const std::string& id) {
        auto it = constraints_.find(id);
        it->second.pop_back();
        if (it->second.empty()) constraints_.erase(it);
    }

    static std::string describe(const constraint_source& source) {
        const std::string range = source.range ? source.range->source() : std::string("any version");
        return source.chain.empty() ? range + " (requested)" : range + " (required by " + join_chain(source.chain) + ")";
    }

    std::vector<std::string> chain_to(const std::string& id) const {
        auto it = constraints_.find(id);
        if (it == constraints_.end() || it->second.empty()) return {};
        return it->second.front().chain;
    }

    bool satisfies_all(const std::string& id, const plugin_record& candidate) const {
        for (const auto& source : constraints_.at(id))
            if (source.range && !source.range->satisfied_by(candidate.version())) return false;
        return true;
    }

    /// A dependency of `candidate` already chosen at a version it does not accept.
    std::optional<refusal> dependency_clash(const plugin_record& candidate) const {
        for (const auto& dep : candidate.definition.dependencies) {
            auto chosen = chosen_.find(dep.id);
            if (chosen == chosen_.end() || dep.constraint.satisfied_by(chosen->second->version())) continue;
            auto chain = chain_to(candidate.id());
            chain.push_back(candidate.label());
            return refusal{resolution_problem_kind::conflict,
                           candidate.label() + " requires " + dep.id + " " + dep.constraint.source() + ", but " +
                               chosen->second->label() + " was already chosen for " +
                               (chain_to(dep.id).empty() ? std::string("the request") : join_chain(chain_to(dep.id))),
                           chain};
        }
        return std::nullopt;
    }

    /// The cycle `candidate` would close among the chosen plugins, if any.
    std::optional<std::vector<std::string>> cycle_through(const plugin_record& candidate) const {
        std::set<std::string> visited;
        std::vector<std::string> path{candidate.label()};
        auto search = [&](auto&& self, const plugin_record& from) -> bool {
            for (const auto& dep : from.definition.dependencies) {
                if (dep.id == candidate.id()) {
                    path.push_back(candidate.label());
                    return true;
                }
                auto chosen = chosen_.find(dep.id);
                if (chosen == chosen_.end() || !visited.insert(dep.id).second) continue;
                path.push_back(chosen->second->label());
                if (self(self, *chosen->second)) return true;
                path.pop_back();
            }
            return false;
        };
        if (search(search, candidate)) return path;
        return std::nullopt;
    }

    /// Releases first, each group highest first: an unconstrained request should not pick
    /// a pre-release over a release.
    std::vector<const plugin_record*> candidates(const std::string& id) const {
        auto versions = registry_.versions_of(id);
        std::stable_partition(versions.begin(), versions.end(), [](const plugin_record* r) { return !r->version().is_prerelease(); });
        return versions;
    }

    bool solve(std::size_t next) {
        while (next < pending_.size() && chosen_.contains(pending_[next])) ++next;
        if (next == pending_.size()) return true;
        const std::string id = pending_[next];
        const auto versions = candidates(id);
        std::vector<refusal> refusals;
        bool went_deeper = false;
        for (const plugin_record* candidate : versions) {
            if (++steps_ > options_.max_steps) {
                exhausted_ = true;
                return false;
            }
            auto chain = chain_to(id);
            chain.push_back(candidate->label());
            if (!satisfies_all(id, *candidate)) continue;  // explained below, from the constraints
            if (!candidate->usable()) {
                refusals.push_back({resolution_problem_kind::rejected,
                                    candidate->label() + " cannot be used: " + candidate->rejection->message(), chain});
                continue;
            }
            if (const auto& api = candidate->definition.host_api; api && !api->satisfied_by(options_.host_api)) {
                refusals.push_back({resolution_problem_kind::host_api,
                                    candidate->label() + " needs host API " + api->source() + ", but this host provides " +
                                        options_.host_api.to_string(),
                                    chain});
                continue;
            }
            if (auto clash = dependency_clash(*candidate)) {
                refusals.push_back(std::move(*clash));
                continue;
            }
            if (auto cycle = cycle_through(*candidate)) {
                refusals.push_back({resolution_problem_kind::cycle, "dependency cycle: " + join_chain(*cycle), *cycle});
                continue;
            }
            chosen_[id] = candidate;
            const auto pending_before = pending_.size();
            for (const auto& dep : candidate->definition.dependencies) add_constraint(dep.id, &dep.constraint, chain);
            if (solve(next + 1)) return true;
            if (exhausted_) return false;
            for (auto it = candidate->definition.dependencies.rbegin(); it != candidate->definition.dependencies.rend(); ++it)
                drop_constraint(it->id);
            pending_.resize(pending_before);
            chosen_.erase(id);
            went_deeper = true;
        }
        // A failure deeper down was already recorded, and it is the more precise one.
        if (!went_deeper && !first_failure_) first_failure_ = explain(id, versions, refusals);
        return false;
    }

    resolution_problem explain(const std::string& id, const std::vector<const plugin_record*>& versions,
                               const std::vector<refusal>& refusals) const {
        auto chain = chain_to(id);
        chain.push_back(id);
        const auto& sources = constraints_.at(id);
        if (versions.empty()) {
            const auto& first = sources.front();
            return {resolution_problem_kind::missing, id, chain,
                    first.chain.empty() ? "no plugin \"" + id + "\" was found"
                                        : "missing dependency \"" + id + "\": " + describe(first) +
                                              ", but no plugin with that id was found"};
        }
        if (!refusals.empty()) {
            std::string message;
            for (const auto& r : refusals) message += (message.empty() ? "" : "; ") + r.message;
            return {refusals.front().kind, id, refusals.front().chain, message};
        }
        std::string available;
        for (const auto* r : versions) available += (available.empty() ? "" : ", ") + r->version().to_string();
        for (const auto& source : sources) {
            const bool anything = std::any_of(versions.begin(), versions.end(), [&](const plugin_record* r) {
                return !source.range || source.range->satisfied_by(r->version());
            });
            if (!anything)
                return {resolution_problem_kind::missing, id, chain,
                        "no version of \"" + id + "\" matches " + describe(source) + "; available: " + available};
        }
        std::string wanted;
        for (const auto& source : sources) wanted += (wanted.empty() ? "" : ", ") + describe(source);
        return {resolution_problem_kind::conflict, id, chain,
                "conflicting constraints on \"" + id + "\": " + wanted + "; no single version satisfies them all (available: " +
                    available + ")"};
    }

    /// Kahn's algorithm, taking ready plugins in id order so the result is reproducible.
    std::vector<const plugin_record*> load_order() const {
        std::map<std::string, std::size_t> waiting_on;
        std::map<std::string, std::vector<std::string>> dependents;
        for (const auto& [id, record] : chosen_) {
            waiting_on[id] += 0;
            for (const auto& dep : record->definition.dependencies) {
                ++waiting_on[id];
                dependents[dep.id].push_back(id);
            }
        }
        std::set<std::string> ready;
        for (const auto& [id, count] : waiting_on)
            if (count == 0) ready.insert(id);
        std::vector<const plugin_record*> order;
        while (!ready.empty()) {
            const std::string id = *ready.begin();
            ready.erase(ready.begin());
            order.push_back(chosen_.at(id));
            for (const auto& dependent : dependents[id])
                if (--waiting_on[dependent] == 0) ready.insert(dependent);
        }
        return order;
    }

    const registry& registry_;
    const resolve_options& options_;
    std::map<std::string, std::vector<constraint_source>> constraints_;
    std::map<std::string, const plugin_record*> chosen_;
    std::vector<std::string> pending_;
    std::optional<resolution_problem> first_failure_;
    std::size_t steps_ = 0;
    bool exhausted_ = false;
};

} // namespace detail

/// Resolves the requested plugins and everything they depend on.
inline resolution resolve(const registry& plugins, std::span<const requirement> roots, const resolve_options& options = {}) {
    return detail::resolver{plugins, options}.run(roots);
}

/// A resolution points into its registry, so resolving a temporary one is refused.
resolution resolve(const registry&&, std::span<const requirement>, const resolve_options& = {}) = delete;

/// Resolves every plugin in the registry together (what `cordon plugin resolve` does).
/// When that fails, each plugin is also resolved on its own, so that every independent
/// problem is reported, not only the first.
inline resolution resolve_all(const registry& plugins, const resolve_options& options = {}) {
    std::vector<requirement> roots;
    for (auto& id : plugins.ids()) roots.push_back({std::move(id), std::nullopt});
    resolution combined = resolve(plugins, roots, options);
    if (combined.ok()) return combined;
    std::set<std::string> seen;
    for (const auto& p : combined.problems) seen.insert(p.message);
    for (const auto& root : roots) {
        const resolution alone = resolve(plugins, std::span{&root, 1}, options);
        for (const auto& p : alone.problems)
            if (seen.insert(p.message).second) combined.problems.push_back(p);
    }
    return combined;
}
resolution resolve_all(const registry&&, const resolve_options& = {}) = delete;

} // namespace cordon::plugin
