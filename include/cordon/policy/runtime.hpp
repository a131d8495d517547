// The runtime view of one sandbox's policy: current grants, scopes and limits, always inside
// the compile-time ceiling. Grant, revoke and tighten return error values instead of widening.
#pragma once

#include <cordon/policy/spec.hpp>
#include <cordon/result.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon {

/// A permission as text, in the CLI's --allow syntax: "clock", "fs.read=/srv", "net=db:5432".
struct permission_text {
    std::string name;
    std::string scope;  // empty when none was given

    /// Splits "name[=scope]"; rejects an empty name or an empty scope after '='.
    static result<permission_text> parse(std::string_view text) {
        const auto eq = text.find('=');
        permission_text out{std::string(text.substr(0, eq)), {}};
        if (eq != std::string_view::npos) {
            out.scope = std::string(text.substr(eq + 1));
            if (out.scope.empty())
                return fail(error_kind::invalid_argument, "permission '" + std::string(text) + "' has an empty scope after '='");
        }
        if (!perm::detail::is_valid_name(out.name))
            return fail(error_kind::invalid_argument,
                        "'" + std::string(text) + "' is not a permission (expected fs.read=PATH, fs.write=PATH, "
                        "net[=HOST:PORT], process, clock, random, env, system, plugin or a custom name)");
        return out;
    }
};

/// Grants, scopes and limits of one sandbox. Thread-safe: a host may revoke from one thread
/// while a guest call on another checks permissions.
class runtime_policy {
public:
    explicit runtime_policy(const policy_spec& spec) : spec_{&spec}, ceiling_limits_{spec.limits}, limits_{spec.limits} {
        for (const auto& entry : spec.ceiling)
            if (!perm::builtin_id(entry.name)) names_.push_back(entry.name);
        for (const auto& g : spec.grants) add_grant(g.name, g.scoping, g.scope);
    }
    runtime_policy(const runtime_policy& other) : spec_{other.spec_} {
        std::shared_lock lock(other.mutex_);
        ceiling_limits_ = other.ceiling_limits_;
        limits_ = other.limits_;
        grants_ = other.grants_;
        names_ = other.names_;
        mask_.store(other.mask_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    runtime_policy& operator=(const runtime_policy&) = delete;

    [[nodiscard]] const policy_spec& spec() const noexcept { return *spec_; }

    // ---- changes ------------------------------------------------------------------------------

    /// Grants a kind, or one more scope of a scoped kind. Outside the ceiling: permission_outside_policy.
    result<void> grant(std::string_view name, std::string_view scope = {}) {
        const ceiling_entry* entry = spec_->find(name);
        if (!entry && !spec_->admits_kind(name))
            return outside(name, scope, "the policy's ceiling (preset " + spec_->preset + ") does not admit it");
        const auto scoping = entry ? entry->scoping : perm::scope_kind::none;
        if (scoping == perm::scope_kind::none) {
            if (!scope.empty())
                return fail(error_kind::invalid_argument, std::string(name) + " takes no scope (got '" + std::string(scope) + "')");
            std::unique_lock lock(mutex_);
            if (!intern_locked(name)) return outside(name, scope, too_many_kinds);
            add_grant(std::string(name), scoping, std::nullopt);
            bump();
            return {};
        }
        std::string normal;
        if (scope.empty()) {
            if (scoping == perm::scope_kind::path)
                return fail(error_kind::invalid_argument, std::string(name) + " needs a path: " + std::string(name) + "=PATH");
            normal = "*";
        } else {
            auto n = normalize_scope(scoping, scope);
            if (!n) return n.error();
            normal = std::move(*n);
        }
        if (!detail::within_limits(*entry, normal))
            return outside(name, normal, "it lies outside the ceiling's scopes for " + std::string(name));
        std::unique_lock lock(mutex_);
        add_grant(std::string(name), scoping, std::move(normal));
        bump();
        return {};
    }

    /// Grants a typed permission value: grant(perm::fs_read{"/srv/images"}).
    template <perm::permission P> result<void> grant(const P& p) { return grant(P::name, p.scope_text()); }

    /// Revokes a whole kind. Revoking what is not granted is not an error.
    result<void> revoke(std::string_view name) {
        std::unique_lock lock(mutex_);
        std::erase_if(grants_, [&](const auto& g) { return g.name == name; });
        rebuild_mask();
        bump();
        return {};
    }
    /// Revokes one scope of a scoped kind; the kind stays on with its other scopes.
    result<void> revoke(std::string_view name, std::string_view scope) {
        const ceiling_entry* entry = spec_->find(name);
        if (!entry || entry->scoping == perm::scope_kind::none) return revoke(name);
        auto normal = normalize_scope(entry->scoping, scope);
        if (!normal) return normal.error();
        std::unique_lock lock(mutex_);
        for (auto& g : grants_)
            if (g.name == name) std::erase(g.scopes, *normal);
        bump();
        return {};
    }

    /// Lowers a limit. Raising one above the value in force is limit_outside_policy.
    result<void> tighten(limit::kind k, std::uint64_t value) {
        if (value == 0)
            return fail(error_kind::invalid_argument, std::string(limit::name(k)) + " limit must be positive");
        std::unique_lock lock(mutex_);
        if (const auto current = limits_.get(k); current && value > *current) {
            error_info info{"cannot raise the " + std::string(limit::name(k)) + " limit from " + std::to_string(*current) +
                            " to " + std::to_string(value) + " " + std::string(limit::unit(k)) + ": limits only tighten"};
            info.limit = limit_detail{std::string(limit::name(k)), *current, value};
            return error{error_kind::limit_outside_policy, std::move(info)};
        }
        limits_.set(k, value);
        bump();
        return {};
    }

    // ---- ids ----------------------------------------------------------------------------------

    /// The id of a kind the ceiling admits (numbering a user-defined kind on first use), or
    /// nothing when the ceiling does not admit it. Numbering grants nothing.
    [[nodiscard]] std::optional<perm::id> intern(std::string_view name) {
        if (!spec_->admits_kind(name)) return std::nullopt;
        {
            std::shared_lock lock(mutex_);
            if (auto known = find_id(name)) return known;
        }
        std::unique_lock lock(mutex_);
        return intern_locked(name);
    }
    /// The name of an id this policy handed out.
    [[nodiscard]] std::string name_of(perm::id id) const {
        std::shared_lock lock(mutex_);
        const auto i = static_cast<std::size_t>(id);
        if (i < custom_base) return std::string(perm::detail::builtin_names[i]);
        return i - custom_base < names_.size() ? names_[i - custom_base] : std::string("?");
    }

    // ---- queries ------------------------------------------------------------------------------

    /// Is the kind on? A bit test without a lock: the check on every guest host call.
    [[nodiscard]] bool granted(perm::id id) const noexcept {
        const auto bit = static_cast<unsigned>(id);
        return bit < perm::max_kinds && ((mask_.load(std::memory_order_acquire) >> bit) & 1u);
    }
    /// Checks an unscoped use by id. Not granted: a violation naming the permission.
    [[nodiscard]] result<void> check(perm::id id) const {
        if (granted(id)) return {};
        return violation(name_of(id), std::nullopt);
    }

    /// Changes with every grant, revoke and tighten: backends that build grants into their
    /// confinement (a process's landlock rules) compare it to know when to rebuild.
    [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

    /// The limits the compile-time policy set: the loosest this sandbox can ever have.
    [[nodiscard]] const limit_set& ceiling_limits() const noexcept { return ceiling_limits_; }

    [[nodiscard]] limit_set limits() const {
        std::shared_lock lock(mutex_);
        return limits_;
    }
    [[nodiscard]] std::optional<std::uint64_t> limit(limit::kind k) const {
        std::shared_lock lock(mutex_);
        return limits_.get(k);
    }

    /// Is the kind on (for scoped kinds: with at least one scope, or none yet)?
    [[nodiscard]] bool granted(std::string_view name) const {
        std::shared_lock lock(mutex_);
        const auto id = find_id(name);
        return id && granted(*id);
    }

    /// The current grants, one entry per scope.
    [[nodiscard]] std::vector<grant_entry> grants() const {
        std::shared_lock lock(mutex_);
        std::vector<grant_entry> out;
        for (const auto& g : grants_) {
            if (g.scoping == perm::scope_kind::none || g.scopes.empty()) out.push_back({g.name, g.scoping, std::nullopt});
            for (const auto& s : g.scopes) out.push_back({g.name, g.scoping, s});
        }
        return out;
    }

    /// Checks an unscoped use ("clock"). Not granted: a violation naming the permission.
    [[nodiscard]] result<void> check(std::string_view name) const {
        if (granted(name)) return {};
        return violation(name, std::nullopt);
    }

    /// Checks a use with a scope: a path for fs.read / fs.write (normalised first, so ".." cannot
    /// climb out), an endpoint for net, a text for custom scoped kinds.
    [[nodiscard]] result<void> check(std::string_view name, std::string_view scope) const {
        const ceiling_entry* entry = spec_->find(name);
        if (!entry || entry->scoping == perm::scope_kind::none) return check(name);
        std::string storage;
        const auto normal = normal_form(entry->scoping, scope, storage);
        if (!normal) return violation(name, std::string(scope));
        std::shared_lock lock(mutex_);
        const auto* g = find(name);
        if (g && std::any_of(g->scopes.begin(), g->scopes.end(), [&](const auto& s) {
                return (entry->scoping == perm::scope_kind::text && s == "*") ||
                       perm::detail::scope_within(entry->scoping, *normal, s);
            }))
            return {};
        return violation(name, std::string(*normal));
    }

    /// Normalises a scope for its kind: paths lexically ("/a/./b/../c" is "/a/c"), endpoints checked.
    static result<std::string> normalize_scope(perm::scope_kind kind, std::string_view scope) {
        std::string storage;
        if (auto normal = normal_form(kind, scope, storage)) return std::string(*normal);
        switch (kind) {
        case perm::scope_kind::path:
            return fail(error_kind::invalid_argument, "'" + std::string(scope) + "' is not an absolute path");
        case perm::scope_kind::endpoint:
            return fail(error_kind::invalid_argument,
                        "'" + std::string(scope) + "' is not an endpoint (HOST:PORT, HOST, *:PORT or [V6]:PORT)");
        default: return fail(error_kind::invalid_argument, "empty scope");
        }
    }

private:
    /// A scope in normal form, or nothing when it is not a scope of its kind. Granted scopes are
    /// stored in this form, so a check compares components and nothing else; a path already in
    /// normal form (what engines and most hosts pass) is used as it is, without a copy, and only
    /// one that is not is normalised into `storage`.
    static std::optional<std::string_view> normal_form(perm::scope_kind kind, std::string_view scope,
                                                       std::string& storage) {
        switch (kind) {
        case perm::scope_kind::path:
            if (path::is_normal_absolute(scope) && scope.find('\0') == std::string_view::npos) return scope;
            if (auto n = path::normalize(scope)) {
                storage = std::move(*n);
                return std::string_view{storage};
            }
            return std::nullopt;
        case perm::scope_kind::endpoint:
            if (!endpoint::parse(scope)) return std::nullopt;
            return scope;
        default:
            if (scope.empty()) return std::nullopt;
            return scope;
        }
    }

    struct granted_kind {
        std::string name;
        perm::scope_kind scoping;
        std::vector<std::string> scopes;
    };

    /// Called with the kind admitted (and, outside the constructor, the lock held exclusively).
    void add_grant(std::string name, perm::scope_kind scoping, std::optional<std::string> scope) {
        auto it = std::find_if(grants_.begin(), grants_.end(), [&](const auto& g) { return g.name == name; });
        if (it == grants_.end()) it = grants_.insert(grants_.end(), granted_kind{std::move(name), scoping, {}});
        if (scope && std::find(it->scopes.begin(), it->scopes.end(), *scope) == it->scopes.end())
            it->scopes.push_back(std::move(*scope));
        rebuild_mask();
    }
    /// Every granted kind has an id: ceiling entries are numbered at construction, other admitted
    /// kinds when granted (a kind past max_kinds is refused before it gets here).
    void rebuild_mask() {
        std::uint64_t mask = 0;
        for (const auto& g : grants_)
            if (auto id = find_id(g.name)) mask |= std::uint64_t{1} << static_cast<unsigned>(*id);
        mask_.store(mask, std::memory_order_release);
    }
    [[nodiscard]] std::optional<perm::id> find_id(std::string_view name) const {
        if (auto builtin = perm::builtin_id(name)) return builtin;
        auto it = std::find(names_.begin(), names_.end(), name);
        if (it == names_.end()) return std::nullopt;
        // A ceiling may list more user-defined kinds than the mask holds: those past it have no
        // id, so they can never be granted (a grant of one is refused, see intern_locked).
        const std::size_t id = custom_base + static_cast<std::size_t>(it - names_.begin());
        if (id >= perm::max_kinds) return std::nullopt;
        return static_cast<perm::id>(id);
    }
    std::optional<perm::id> intern_locked(std::string_view name) {
        if (auto known = find_id(name)) return known;
        if (std::find(names_.begin(), names_.end(), name) != names_.end()) return std::nullopt;  // listed, past the mask
        if (custom_base + names_.size() >= perm::max_kinds) return std::nullopt;
        names_.emplace_back(name);
        return static_cast<perm::id>(custom_base + names_.size() - 1);
    }
    static constexpr const char* too_many_kinds = "the sandbox already tells apart as many permission kinds as it can (64)";
    [[nodiscard]] const granted_kind* find(std::string_view name) const {
        auto it = std::find_if(grants_.begin(), grants_.end(), [&](const auto& g) { return g.name == name; });
        return it == grants_.end() ? nullptr : &*it;
    }
    static error violation(std::string_view name, std::optional<std::string> scope) {
        error_info info{scope ? std::string(name) + " is not granted for '" + *scope + "'" : std::string(name) + " is not granted"};
        info.permission = std::string(name);
        if (scope && !scope->empty() && scope->front() == '/') info.path = *scope;
        return {error_kind::violation, std::move(info)};
    }
    static error outside(std::string_view name, std::string_view scope, const std::string& why) {
        const std::string what = scope.empty() ? std::string(name) : std::string(name) + "=" + std::string(scope);
        error_info info{"cannot grant " + what + ": " + why};
        info.permission = std::string(name);
        return {error_kind::permission_outside_policy, std::move(info)};
    }

    void bump() noexcept { generation_.fetch_add(1, std::memory_order_acq_rel); }

    const policy_spec* spec_;
    std::atomic<std::uint64_t> generation_{0};
    mutable std::shared_mutex mutex_;
    limit_set ceiling_limits_;
    limit_set limits_;
    std::vector<granted_kind> grants_;
    /// Built-in kinds have their ids from perm::id; user-defined ones follow, named here.
    static constexpr std::size_t custom_base = static_cast<std::size_t>(perm::id::first_custom);
    std::vector<std::string> names_;      // index: perm::id - custom_base
    std::atomic<std::uint64_t> mask_{0};  // bit perm::id set: the kind is granted
};

} // namespace cordon
