// What a backend may do with its sandbox's host context: read the grants, scopes and limits in
// force, and hand over what the guest did. It has no way to grant, revoke or loosen anything.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/host/context.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/result.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::host {

class policy_view {
public:
    explicit policy_view(context& ctx) noexcept : ctx_{&ctx} {}

    // ---- at load time ---------------------------------------------------------------------------

    /// The id of a permission kind the ceiling admits, or nothing: an import needing a kind the
    /// ceiling does not admit is refused when the module links.
    [[nodiscard]] std::optional<perm::id> admit(std::string_view permission) const {
        return ctx_->policy().intern(permission);
    }

    // ---- while the guest runs -------------------------------------------------------------------

    /// A bit test: the check on every permission-tagged host call.
    [[nodiscard]] bool granted(perm::id id) const noexcept { return ctx_->policy().granted(id); }
    /// Changes whenever a grant, scope or limit changes; a backend that derives its mechanism
    /// from the policy (preopened directories, clamps) compares it to know when to rebuild.
    [[nodiscard]] std::uint64_t generation() const noexcept { return ctx_->policy().generation(); }
    [[nodiscard]] limit_set limits() const { return ctx_->policy().limits(); }
    [[nodiscard]] std::vector<grant_entry> grants() const { return ctx_->policy().grants(); }
    [[nodiscard]] violation_action on_violation() const noexcept { return ctx_->on_violation; }
    [[nodiscard]] const std::map<std::string, std::string, std::less<>>& config() const noexcept { return ctx_->config; }
    [[nodiscard]] const std::map<std::string, std::string, std::less<>>& environment() const noexcept {
        return ctx_->environment;
    }

    /// Where the guest's bus calls go (checked against `plugin` by the caller); may be null.
    [[nodiscard]] host::bus* bus() const noexcept { return ctx_->bus; }

    // ---- what the guest did ----------------------------------------------------------------------

    /// Records a refused use of `id` ("fs.write: fs_open /etc/x (read-only scope)") and returns
    /// it, so the backend can hand the guest an error code or stop it.
    error violation(perm::id id, std::string_view what) const { return violation(ctx_->policy().name_of(id), what); }
    /// The same for a kind known only by name (a registered host function's, outside the ceiling).
    error violation(std::string_view permission, std::string_view what) const {
        error_info info{std::string(permission) + ": " + std::string(what)};
        info.permission = std::string(permission);
        return ctx_->record_violation(error{error_kind::violation, std::move(info)});
    }
    result<void> write(stream s, std::string_view bytes) const { return ctx_->write(s, bytes); }
    result<void> log(log_level level, std::string_view message) const { return ctx_->log(level, message); }
    /// The most output the host holds for the guest (limit::output_bytes, or the default cap).
    [[nodiscard]] std::uint64_t output_cap() const { return ctx_->output_cap(); }

private:
    context* ctx_;
};

} // namespace cordon::host
