// The facade: sandbox<Backend, Policy> runs a payload under a compile-time policy, lets the host
// narrow or grant inside the ceiling at run time, and returns every guest fault as a value.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/backend/concept.hpp>
#include <cordon/errors.hpp>
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
    /// The plugin bus the guest's bus calls reach (see host::bus); must outlive the sandbox.
    host::bus* bus = nullptr;
};

namespace detail {

/// The call protocol, written once for every backend: begin the call, time it with the clocks
/// the policy and telemetry need, let the backend run it, end it as `timeout` if cancel() came
/// while it ran, check the time limits a backend cannot interrupt, and end it with its usage
/// and the error the guest earned meanwhile (a violation, an output flood). Lives behind a
/// stable pointer: bound functions use it after the sandbox moved.
template <bool BackendStopsCalls> class call_protocol {
public:
    explicit call_protocol(host::context& ctx) noexcept : ctx_{&ctx} {}

    template <class T, class Call> result<T> run(Call&& call) {
        // One call at a time: a host function calling back into its own sandbox would reset the
        // call in progress (and, on a process backend, wait for a child that waits for it).
        if (running_)
            return fail(error_kind::invalid_argument,
                        "sandbox is already running a call; calling it again from a host function is not supported");
        running_ = true;
        struct done_running {
            bool& flag;
            ~done_running() { flag = false; }
        } guard{running_};
        host::context& ctx = *ctx_;
        ctx.begin_call();
        if (const auto g = ctx.policy().generation(); g != generation_) refresh(g);
        const bool timed = ctx.detail == telemetry_detail::timed;
        // A backend that cannot interrupt is held to its time limits after the call; the thread
        // CPU clock is read only then, and only when there is a cpu limit to hold it to.
        const bool check_time = !BackendStopsCalls && timed && (wall_limit_ms_ || cpu_limit_ms_);
        const bool read_cpu = check_time && cpu_limit_ms_;
        const std::uint64_t wall_start = timed ? clocks::wall_ns() : 0;
        const std::uint64_t cpu_start = read_cpu ? clocks::thread_cpu_ns() : 0;
        call_outcome<T> out = std::forward<Call>(call)();
        usage measured;
        measured.wall_ns = out.used.wall_ns ? *out.used.wall_ns : timed ? clocks::wall_ns() - wall_start : 0;
        // Without a CPU reading a call is charged its wall time: one thread cannot use more.
        measured.cpu_ns = out.used.cpu_ns ? *out.used.cpu_ns : read_cpu ? clocks::thread_cpu_ns() - cpu_start : measured.wall_ns;
        measured.fuel = out.used.fuel;
        measured.peak_memory_bytes = out.used.peak_memory_bytes;
        result<T> r = std::move(out.value);
        if (ctx.cancelled()) {
            if (r || r.error().kind() != error_kind::timeout) r = fail(error_kind::timeout, "call cancelled by the host");
        } else if (check_time && r) {
            if (auto over = time_limit_error(measured)) r = std::move(*over);
        }
        auto pending = ctx.end_call(measured, !r);
        if (r && !pending) return pending.error();
        return r;
    }

    [[nodiscard]] host::context& context() const noexcept { return *ctx_; }

private:
    void refresh(std::uint64_t generation) {
        const limit_set limits = ctx_->policy().limits();
        wall_limit_ms_ = limits.get(limit::kind::wall_time_ms);
        cpu_limit_ms_ = limits.get(limit::kind::cpu_time_ms);
        generation_ = generation;
    }

    [[nodiscard]] std::optional<error> time_limit_error(const usage& measured) const {
        auto over = [](limit::kind k, std::optional<std::uint64_t> ms, std::uint64_t used_ns) -> std::optional<error> {
            if (!ms || used_ns <= *ms * 1'000'000) return std::nullopt;
            return limit_exceeded(k, *ms, used_ns / 1'000'000);
        };
        if (auto e = over(limit::kind::cpu_time_ms, cpu_limit_ms_, measured.cpu_ns)) return e;
        return over(limit::kind::wall_time_ms, wall_limit_ms_, measured.wall_ns);
    }

    host::context* ctx_;
    bool running_ = false;
    std::uint64_t generation_ = ~std::uint64_t{0};  // of the limits cached below
    std::optional<std::uint64_t> wall_limit_ms_{}, cpu_limit_ms_{};
};

} // namespace detail

template <class Backend, policy_type Policy> class sandbox {
    static_assert(backend<Backend, Policy>,
                  "cordon: sandbox<Backend, Policy> needs a Backend that meets cordon::backend "
                  "(see cordon/backend/concept.hpp; cordon::none::backend is the reference)");
    static_assert(enforces_policy<Backend, Policy>());

    using instance_type = typename Backend::template instance<Policy>;
    using protocol = detail::call_protocol<Backend::stops_running_calls>;
    template <class Sig> using backend_function = std::remove_cvref_t<
        decltype(*std::declval<instance_type&>().template bind<Sig>(std::string_view{}))>;

public:
    using backend_type = Backend;
    using policy_type = Policy;
    using payload_type = typename Backend::payload;

    /// Creates the sandbox. Never throws for bad payloads or refused setups: check ok() or
    /// status(); every call on a sandbox that failed to start returns that error.
    explicit sandbox(const payload_type& payload, sandbox_options options = {})
        : context_{std::make_unique<host::context>(Policy::spec())}, protocol_{std::make_unique<protocol>(*context_)} {
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

    /// A resolved export, called through the same protocol as every call: the hot path of a
    /// host that calls one export many times. Valid while the sandbox lives, also after a move.
    template <class Sig> class bound_function;
    template <class R, class... Args> class bound_function<R(Args...)> {
    public:
        result<R> operator()(Args... args) const {
            return protocol_->template run<R>([&] { return fn_(args...); });
        }

    private:
        friend class sandbox;
        bound_function(protocol* p, backend_function<R(Args...)> fn) : protocol_{p}, fn_{std::move(fn)} {}
        protocol* protocol_;
        backend_function<R(Args...)> fn_;
    };

    /// Calls an export: box.call<int32_t(int32_t)>("fib", 30). The export's signature is checked.
    template <class Sig, class... Args> auto call(std::string_view name, Args&&... args) {
        using R = typename host::signature_traits<Sig>::ret;
        auto fn = function<Sig>(name);
        if (!fn) return result<R>{fn.error()};
        return (*fn)(std::forward<Args>(args)...);
    }

    /// Resolves an export once for repeated calls without a lookup each time.
    template <class Sig> result<bound_function<Sig>> function(std::string_view name) {
        if (!instance_) return *creation_error_;
        auto fn = instance_->template bind<Sig>(name);
        if (!fn) return fn.error();
        return bound_function<Sig>{protocol_.get(), std::move(*fn)};
    }

    /// The payload's exports, where its backend can list them without calling: a wasm module's,
    /// a function table's, a none program's; not a native plugin's (only its confined child sees
    /// its symbols) nor an executable's (it answers any name).
    [[nodiscard]] std::optional<std::vector<host::export_description>> exports() const {
        if (!instance_) return std::nullopt;
        if constexpr (requires(const instance_type& i) { i.describe_exports(); }) return instance_->describe_exports();
        else return std::nullopt;
    }

    /// Calls an export with values whose types are known only at run time (a command line's
    /// arguments, a message). The values' types must match the export's parameters exactly.
    result<std::vector<value>> call_values(std::string_view name, std::span<const value> args)
        requires requires(instance_type& i) { i.call_values(name, args); }
    {
        if (!instance_) return *creation_error_;
        return protocol_->template run<std::vector<value>>([&] { return instance_->call_values(name, args); });
    }

    /// The bytes-in/bytes-out convention for structured data (see cordon/guest/cordon.h).
    result<std::vector<std::byte>> call_bytes(std::string_view name, std::span<const std::byte> input) {
        if (!instance_) return *creation_error_;
        return protocol_->template run<std::vector<std::byte>>([&] { return instance_->call_bytes(name, input); });
    }

    /// Runs the payload as a program (a WASI command's _start), where the backend offers it;
    /// returns its exit code.
    template <class... Args> result<int> run_main(Args&&... args)
        requires requires(instance_type& i) { i.run_main(std::forward<Args>(args)...); }
    {
        if (!instance_) return *creation_error_;
        return protocol_->template run<int>([&] { return instance_->run_main(std::forward<Args>(args)...); });
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
    /// How many violations the guest ever committed here, without copying them.
    [[nodiscard]] std::uint64_t violation_count() const { return context_->violations_recorded(); }
    [[nodiscard]] std::optional<error> last_violation() const { return context_->last_violation(); }
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

    /// The backend's own instance, read-only, for what only that backend reports (an
    /// executable's exit code, whether compiled code came from the cache); nullptr when the
    /// sandbox failed to start.
    [[nodiscard]] const instance_type* backend_instance() const noexcept { return instance_ ? &*instance_ : nullptr; }

    /// The backend's own instance, mutable: an escape hatch past the facade. A call made through
    /// it skips the call protocol (no begin/end, no cancel, no time limits a backend cannot
    /// interrupt, no pending errors), and what it changes below the facade is not checked
    /// against the policy. The caller must make only calls the facade has no name for, must not
    /// change the engine's configuration, and must not call while a facade call runs.
    [[nodiscard]] instance_type* unsafe_backend_instance() noexcept { return instance_ ? &*instance_ : nullptr; }

    /// The host side of this sandbox, read-only: what its guest wrote, did and was refused.
    /// Grants and limits change only through grant(), revoke() and tighten().
    [[nodiscard]] const host::context& context() const noexcept { return *context_; }

private:
    result<void> start(const payload_type& payload, sandbox_options options) {
        auto& ctx = *context_;
        ctx.on_violation = options.on_violation;
        ctx.detail = options.detail;
        ctx.log_sink = std::move(options.log_sink);
        ctx.config = std::move(options.config);
        ctx.environment = std::move(options.environment);
        ctx.bus = options.bus;
        for (const auto& name : options.revokes)
            if (auto r = ctx.policy().revoke(name); !r) return r;
        for (const auto& text : options.grants)
            if (auto r = grant(std::string_view(text)); !r) return r;
        for (auto k : limit::all_kinds)
            if (auto v = options.limits.get(k))
                if (auto r = ctx.policy().tighten(k, *v); !r) return r;
        functions_ = std::make_unique<host::functions>(std::move(options.functions));
        for (auto& f : *functions_)
            f.permission_id = f.permission.empty() ? std::nullopt : ctx.policy().intern(f.permission);
        auto inst = instance_type::create(payload, ctx, *functions_);
        if (!inst) return inst.error();
        instance_.emplace(std::move(*inst));
        return {};
    }

    std::unique_ptr<host::context> context_;
    std::unique_ptr<protocol> protocol_;  // stable address: bound functions keep a pointer to it
    std::unique_ptr<host::functions> functions_;  // stable address: instances may keep pointers into it
    std::optional<instance_type> instance_;
    std::optional<error> creation_error_;
};

} // namespace cordon
