// The facade: sandbox<Backend, Policy> runs a payload under a compile-time policy, lets the host
// narrow or grant inside the ceiling at run time, and returns every guest fault as a value.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/backend/concept.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>
#include <cordon/telemetry/usage.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cordon {

/// What a host may set up before the guest starts: runtime grants and tighter limits (applied
/// before instantiation, so a backend can build them into its confinement), host functions,
/// configuration and environment for the guest, and what a violation does.
struct sandbox_options {
    std::vector<std::string> grants{};         // in --allow syntax: "fs.read=/srv", "net=db:5432"
    std::vector<std::string> revokes{};        // kinds to drop from the default grants
    limit_set limits{};                        // each present limit tightens the policy's
    host::functions functions{};
    std::map<std::string, std::string, std::less<>> config{};
    std::map<std::string, std::string, std::less<>> environment{};
    violation_action on_violation = violation_action::fail_call;
    telemetry_detail detail = telemetry_detail::timed;
    std::function<void(log_level, std::string_view)> log_sink{};
};

template <class Backend, policy_type Policy> class sandbox {
    static_assert(backend<Backend, Policy>,
                  "cordon: sandbox<Backend, Policy> needs a Backend that meets cordon::backend "
                  "(see cordon/backend/concept.hpp; cordon::none::backend is the reference)");
    static_assert(enforces_policy<Backend, Policy>());

    using instance_type = typename Backend::template instance<Policy>;

public:
    using backend_type = Backend;
    using policy_type = Policy;
    using payload_type = typename Backend::payload;

    /// Creates the sandbox. Never throws for bad payloads or refused setups: check ok() or
    /// status(); every call on a sandbox that failed to start returns that error.
    explicit sandbox(const payload_type& payload, sandbox_options options = {})
        : context_{std::make_unique<host::context>(Policy::spec())} {
        auto started = start(payload, std::move(options));
        if (!started) creation_error_ = started.error();
    }

    /// The same as the constructor, as a result.
    static result<sandbox> create(const payload_type& payload, sandbox_options options = {}) {
        sandbox box{payload, std::move(options)};
        if (!box.ok()) return box.status().error();
        return box;
    }

    sandbox(sandbox&&) noexcept = default;
    sandbox& operator=(sandbox&&) noexcept = default;

    [[nodiscard]] bool ok() const noexcept { return instance_.has_value(); }
    [[nodiscard]] result<void> status() const {
        if (creation_error_) return *creation_error_;
        return {};
    }

    // ---- calls --------------------------------------------------------------------------------

    /// Calls an export: box.call<int32_t(int32_t)>("fib", 30). The export's signature is checked.
    template <class Sig, class... Args> auto call(std::string_view name, Args&&... args) {
        using R = typename host::signature_traits<Sig>::ret;
        using out = result<R>;
        if (!instance_) return out{*creation_error_};
        auto fn = instance_->template bind<Sig>(name);
        if (!fn) return out{fn.error()};
        return (*fn)(std::forward<Args>(args)...);
    }

    /// Resolves an export once for repeated calls without a lookup each time.
    template <class Sig> auto function(std::string_view name) {
        using bound = std::remove_cvref_t<decltype(*std::declval<instance_type&>().template bind<Sig>(name))>;
        if (!instance_) return result<bound>{*creation_error_};
        return instance_->template bind<Sig>(name);
    }

    /// Calls an export with values whose types are known only at run time (a command line's
    /// arguments, a message). The values' types must match the export's parameters exactly.
    result<std::vector<value>> call_values(std::string_view name, std::span<const value> args)
        requires requires(instance_type& i) { i.call_values(name, args); }
    {
        if (!instance_) return *creation_error_;
        return instance_->call_values(name, args);
    }

    /// The bytes-in/bytes-out convention for structured data (see cordon/guest/cordon.h).
    result<std::vector<std::byte>> call_bytes(std::string_view name, std::span<const std::byte> input) {
        if (!instance_) return *creation_error_;
        return instance_->call_bytes(name, input);
    }

    /// Stops the running call from another thread; it ends as `timeout`.
    void cancel() noexcept {
        context_->cancel();
        if (instance_) instance_->cancel();
    }

    // ---- runtime policy, inside the ceiling ---------------------------------------------------

    /// Grants a typed permission. A kind outside the ceiling does not compile; a scope outside
    /// the ceiling's scopes is permission_outside_policy.
    template <perm::permission P> result<void> grant(const P& permission) {
        static_assert(Policy::template allows<perm::kind_t<P>>,
                      "cordon: grant() of a permission outside the policy's ceiling; the policy can never "
                      "hold it. Widen the policy (another isolation preset, ceiling<>) or drop the grant");
        return context_->policy().grant(permission);
    }
    /// Grants from text in --allow syntax ("fs.read=/srv"); outside the ceiling is an error value.
    result<void> grant(std::string_view text) {
        auto parsed = permission_text::parse(text);
        if (!parsed) return parsed.error();
        return context_->policy().grant(parsed->name, parsed->scope);
    }
    template <perm::permission P> result<void> revoke() { return context_->policy().revoke(P::name); }
    result<void> revoke(std::string_view name) { return context_->policy().revoke(name); }
    result<void> tighten(limit::kind k, std::uint64_t value) { return context_->policy().tighten(k, value); }
    template <class Limit> result<void> tighten() { return tighten(Limit::which, Limit::value); }

    [[nodiscard]] const runtime_policy& policy() const noexcept { return context_->policy(); }

    // ---- what happened ------------------------------------------------------------------------

    [[nodiscard]] cordon::telemetry telemetry() const { return context_->telemetry(); }
    [[nodiscard]] std::vector<error> violations() const { return context_->violations(); }
    /// Which mechanism enforces each element here: the backend's capability table, with the
    /// limits now in force and what the live instance found on this machine.
    [[nodiscard]] enforcement_report enforcement() const {
        if (!instance_) return {std::string(Backend::name), {}};
        std::vector<enforcement_entry> facts;
        if constexpr (requires { instance_->enforcement_facts(); }) facts = instance_->enforcement_facts();
        return report_from_table<Backend>(context_->policy().limits(), facts);
    }
    [[nodiscard]] std::string take_stdout() { return context_->take_stdout(); }
    [[nodiscard]] std::string take_stderr() { return context_->take_stderr(); }
    [[nodiscard]] std::string take_logs() { return context_->take_logs(); }

    /// The backend's own instance, for what only that backend offers (a wasm module's _start, an
    /// executable's exit code); nullptr when the sandbox failed to start.
    [[nodiscard]] instance_type* backend_instance() noexcept { return instance_ ? &*instance_ : nullptr; }

    /// The host side of this sandbox, for backends' extensions and advanced hosts.
    [[nodiscard]] host::context& context() noexcept { return *context_; }

private:
    result<void> start(const payload_type& payload, sandbox_options options) {
        auto& ctx = *context_;
        ctx.on_violation = options.on_violation;
        ctx.detail = options.detail;
        ctx.log_sink = std::move(options.log_sink);
        ctx.config = std::move(options.config);
        ctx.environment = std::move(options.environment);
        for (const auto& name : options.revokes)
            if (auto r = ctx.policy().revoke(name); !r) return r;
        for (const auto& text : options.grants)
            if (auto r = grant(std::string_view(text)); !r) return r;
        for (auto k : limit::all_kinds)
            if (auto v = options.limits.get(k))
                if (auto r = ctx.policy().tighten(k, *v); !r) return r;
        functions_ = std::make_unique<host::functions>(std::move(options.functions));
        auto inst = instance_type::create(payload, ctx, *functions_);
        if (!inst) return inst.error();
        instance_.emplace(std::move(*inst));
        return {};
    }

    std::unique_ptr<host::context> context_;
    std::unique_ptr<host::functions> functions_;  // stable address: instances may keep pointers into it
    std::optional<instance_type> instance_;
    std::optional<error> creation_error_;
};

} // namespace cordon
