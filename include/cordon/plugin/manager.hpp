// The plugin manager: runs admitted plugins (plugin/admission.hpp) of several backends in one
// place under the host's compile-time policy, with a lifecycle, failure tracking, quarantine, logs,
// observers, the plugin bus between them (calls and events, under their manifests' rules), hot
// reload with rollback, and a recovery history.
#pragma once

#include <cordon/host/bus.hpp>
#include <cordon/plugin/admission.hpp>
#include <cordon/plugin/digest.hpp>
#include <cordon/plugin/events.hpp>
#include <cordon/plugin/registry.hpp>
#include <cordon/plugin/resolver.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/result.hpp>
#include <cordon/sandbox.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cordon::plugin {

struct manager_options {
    /// Consecutive failed calls after which a plugin is disabled; 0 never disables.
    std::size_t max_consecutive_failures = 5;
    /// Quarantine a plugin as soon as it commits a violation.
    bool quarantine_on_violation = true;
    /// What a violation does to the call in progress (see cordon::violation_action).
    violation_action on_violation = violation_action::fail_call;
    /// Host functions a plugin may call unless the host denies them with deny_import().
    bool imports_allowed_by_default = true;
    std::size_t execution_log_capacity = 1024;
    std::size_t error_history_capacity = 32;
    std::uint64_t max_entry_bytes = default_max_entry_bytes;
    /// The plugin bus: the largest message (a call's input or answer, an event's data), the
    /// events one plugin may have waiting, and how long a bus call waits for a busy target.
    std::size_t bus_max_message_bytes = 1u << 20;
    std::size_t bus_queue_depth = 64;
    std::chrono::milliseconds bus_wait{1000};
    /// Recovery. A reloaded version is on probation until it has answered `probation_calls`
    /// calls; `rollback_after_failures` failed calls on probation (0: never) bring back the
    /// version it replaced.
    std::size_t rollback_after_failures = 3;
    std::size_t probation_calls = 16;
    /// After a crash (a native plugin's process died), calls are refused for `restart_backoff`,
    /// doubled for each further crash in a row up to `restart_backoff_max`; the next call after
    /// that starts the plugin again.
    std::chrono::milliseconds restart_backoff{10};
    std::chrono::milliseconds restart_backoff_max{5000};
    std::size_t recovery_history_capacity = 256;
    /// How reload(id) reads the plugin's directory again (its trust store, its caps).
    registry_options discovery{};
};

/// Turns a plugin's verified entry bytes into what `Backend` runs (a wasm module, a native
/// plugin, a set of C++ callables for the none backend). plugin/loaders.hpp has the usual ones.
template <class Backend>
using payload_loader = std::function<result<typename Backend::payload>(const plugin_record&, std::span<const unsigned char>)>;

namespace detail {

template <class... Ts> constexpr bool distinct = true;
template <class T, class... Ts> constexpr bool distinct<T, Ts...> = (!std::is_same_v<T, Ts> && ...) && distinct<Ts...>;

template <class Box>
concept offers_call_values = requires(Box& box, std::string_view name, std::span<const value> args) { box.call_values(name, args); };

/// The host functions one plugin may call; editable while the plugin runs.
class import_allow_list {
public:
    explicit import_allow_list(bool allow_by_default) : allow_by_default_{allow_by_default} {}
    [[nodiscard]] bool allows(std::string_view name) const {
        std::lock_guard lock(mutex_);
        if (denied_.contains(std::string(name))) return false;
        return allow_by_default_ || allowed_.contains(std::string(name));
    }
    void allow(const std::string& name) {
        std::lock_guard lock(mutex_);
        denied_.erase(name);
        allowed_.insert(name);
    }
    void deny(const std::string& name) {
        std::lock_guard lock(mutex_);
        allowed_.erase(name);
        denied_.insert(name);
    }

private:
    mutable std::mutex mutex_;
    bool allow_by_default_;
    std::set<std::string> allowed_, denied_;
};

/// One call at a time into a sandbox, with a bounded wait for the bus (a mutex and a condition
/// variable rather than a timed mutex, whose clock-based lock ThreadSanitizer cannot follow).
class call_gate {
public:
    /// Holds the gate for its lifetime when it got in: waiting as long as it takes without a
    /// bound, at most `wait` with one (zero: only when free).
    class entry {
    public:
        entry(call_gate& gate, std::optional<std::chrono::milliseconds> wait) : gate_{&gate} {
            std::unique_lock lock(gate.mutex_);
            const auto idle = [&] { return !gate.busy_; };
            if (!wait) gate.idle_.wait(lock, idle);
            else if (!gate.idle_.wait_for(lock, *wait, idle)) return;
            gate.busy_ = entered_ = true;
        }
        ~entry() {
            if (!entered_) return;
            {
                std::lock_guard lock(gate_->mutex_);
                gate_->busy_ = false;
            }
            gate_->idle_.notify_one();
        }
        entry(const entry&) = delete;
        entry& operator=(const entry&) = delete;
        explicit operator bool() const noexcept { return entered_; }

    private:
        call_gate* gate_;
        bool entered_ = false;
    };

private:
    std::mutex mutex_;
    std::condition_variable idle_;
    bool busy_ = false;
};

} // namespace detail

/// Thread safety: every member function may be called from any thread. Calls into one
/// plugin run one at a time (a sandbox serves one call at a time); calls into different
/// plugins run in parallel. grant/revoke/tighten/cancel and the import list take effect
/// while a call runs. load/unload/reload/rollback wait for the plugin's running call to finish
/// and hold new calls back meanwhile. Observers
/// run on the thread whose operation caused the event, after the manager's locks are
/// released, so they may call back into the manager. A host function runs inside its
/// plugin's call: it may use other plugins, but not change or call its own plugin.
///
/// The bus: a plugin with `plugin` granted calls "PLUGIN/FUNCTION" (bytes in, bytes out) when
/// the target's manifest lists it (or "*") under `bus.callers` for that function, and emits a
/// topic listed in its own `bus.emits` to every active plugin whose `bus.subscribes` names the
/// topic; anything else is the caller's violation. Calls run on the caller's thread, nested in
/// its call, each bounded by the target's own limits; a call that would loop back into a plugin
/// on its own call chain is refused (`denied`), and one that finds its target busy on another
/// thread for longer than `bus_wait` fails with `timeout`. Events go into the subscriber's
/// queue (at most `bus_queue_depth`; a full queue is `output_limit` for the sender) and are run
/// at once when the subscriber is idle, else when its current call ends.
///
/// Backends: the manager runs each plugin in a sandbox of the first backend in `Backends...`
/// that runs it (see runs_on): the manifest's `backend`, or without one the entry's kind.
/// Every backend has its loader, and plugins of different backends call and depend on each
/// other as plugins of one backend do.
template <policy_type Policy, class... Backends> class manager {
    static_assert(sizeof...(Backends) > 0, "a plugin manager runs plugins of at least one backend");
    static_assert(detail::distinct<Backends...>, "a plugin manager lists each backend once");

public:
    template <class Backend> using sandbox_type = cordon::sandbox<Backend, Policy>;
    /// The backends' names, in the order the manager tries them.
    static constexpr std::array<std::string_view, sizeof...(Backends)> backend_names{Backends::name...};

    /// One loader per backend, in the order of `Backends...`.
    explicit manager(payload_loader<Backends>... loaders, manager_options options = {}, host::functions functions = {})
        : loaders_{std::move(loaders)...}, options_{options}, functions_{std::move(functions)},
          execution_log_{options.execution_log_capacity}, recovery_history_{options.recovery_history_capacity} {}

    manager(const manager&) = delete;
    manager& operator=(const manager&) = delete;

    // ---- observers ----------------------------------------------------------------------------

    void on_error(std::function<void(const std::string&, const error&)> f) { error_observers_.add(std::move(f)); }
    void on_violation(std::function<void(const std::string&, const error&)> f) { violation_observers_.add(std::move(f)); }
    void on_disable(std::function<void(const std::string&, const error&)> f) { disable_observers_.add(std::move(f)); }
    void on_state_change(std::function<void(const std::string&, plugin_state, plugin_state)> f) {
        state_observers_.add(std::move(f));
    }
    /// Every entry of the recovery history as it is made: reloads (done or refused), rollbacks,
    /// restarts, quarantines, disables.
    void on_recovery(std::function<void(const recovery_record&)> f) { recovery_observers_.add(std::move(f)); }

    // ---- lifecycle ----------------------------------------------------------------------------

    /// Registers one plugin version. Refused: a rejected record (bad digest or signature),
    /// a second plugin with the same id, permissions or limits outside the host's policy,
    /// and a manifest built for another backend.
    result<void> register_plugin(const plugin_record& record) {
        const auto chosen = backend_for(record);
        if (!chosen) return chosen.error();
        if (auto ok = admit(*chosen, record); !ok) return ok;
        auto new_slot = std::make_shared<slot>(record, *chosen, options_, *this);
        std::unique_lock lock(slots_mutex_);
        if (slots_.contains(record.id()))
            return fail(error_kind::invalid_argument, "a plugin with id \"" + record.id() + "\" is already registered");
        slots_.emplace(record.id(), std::move(new_slot));
        return {};
    }

    /// Registers the versions a resolution chose, in load order; stops at the first refusal.
    result<void> register_plugins(const resolution& chosen) {
        if (!chosen.ok()) return chosen.to_error();
        for (const auto* record : chosen.load_order)
            if (auto ok = register_plugin(*record); !ok) return ok;
        return {};
    }

    /// Reads the entry (checking its SHA-256 on the bytes that will run), builds the payload
    /// and creates the sandbox with the manifest's permissions and limits. Every dependency
    /// must be loaded first.
    result<void> load(std::string_view id) {
        auto s = find(id);
        if (!s) return s.error();
        slot& p = **s;
        pending_events events;
        {
            auto lifecycle = own(p);
            if (auto ok = expect_state(p, {plugin_state::registered}, "load"); !ok) return ok;
            const auto current = p.current();
            if (auto ok = check_dependencies(*current.record, "load"); !ok) return ok;
            auto ready = prepare(p, current.record, current.backend, nullptr);
            if (!ready) return ready.error().with_context("loading " + current.record->label());
            p.box = std::move(ready->box);
            p.set_version(std::move(ready->source), std::nullopt);
            change_state(p, plugin_state::loaded, events);
        }
        dispatch(events);
        return {};
    }

    result<void> activate(std::string_view id) {
        return transition(id, {plugin_state::loaded}, plugin_state::active, "activate");
    }
    result<void> deactivate(std::string_view id) {
        return transition(id, {plugin_state::active}, plugin_state::loaded, "deactivate");
    }
    /// Re-enables a plugin disabled after repeated failures; its failure count starts over.
    result<void> enable(std::string_view id) {
        return transition(id, {plugin_state::disabled}, plugin_state::active, "enable");
    }
    /// Lets a quarantined plugin out, as loaded: the host must activate it again.
    result<void> release(std::string_view id) {
        return transition(id, {plugin_state::quarantined}, plugin_state::loaded, "release");
    }

    /// Destroys the sandbox. Refused while a plugin that depends on this one is loaded, and
    /// from inside a call of the plugin (a host function or bus call on its call chain).
    result<void> unload(std::string_view id) {
        auto s = find(id);
        if (!s) return s.error();
        slot& p = **s;
        if (on_call_chain(p))
            return fail(error_kind::invalid_argument, "cannot unload " + p.record()->label() + " from inside its own call");
        for (const auto& other : all_slots()) {
            if (other.get() == &p || other->current_state() == plugin_state::registered) continue;
            for (const auto& dep : other->record()->definition.dependencies)
                if (dep.id == id)
                    return fail(error_kind::invalid_argument, "cannot unload " + p.record()->label() + ": " +
                                                                  other->record()->label() + " depends on it; unload that first");
        }
        pending_events events;
        {
            auto lifecycle = own(p);
            if (auto ok = expect_state(p, {plugin_state::loaded, plugin_state::active, plugin_state::disabled,
                                           plugin_state::quarantined},
                                       "unload");
                !ok)
                return ok;
            p.box.template emplace<0>();
            p.set_version(p.current(), std::nullopt);  // nothing to roll back to once unloaded
            {
                std::lock_guard lock(p.info);
                p.bound.clear();
                p.on_probation.reset();
                p.crashes_in_a_row = 0;
            }
            change_state(p, plugin_state::registered, events);
        }
        dispatch(events);
        return {};
    }

    // ---- hot reload and rollback -------------------------------------------------------------

    /// Reloads a loaded plugin from its directory as it is now: the newest version of its id
    /// found there (read and verified as discovery does, with manager_options::discovery).
    result<void> reload(std::string_view id) {
        auto s = find(id);
        if (!s) return s.error();
        const auto current = (*s)->record();
        const std::filesystem::path roots[] = {current->directory};
        auto found = registry::discover(roots, options_.discovery);
        if (!found) return refuse_reload(**s, current->version().to_string(), found.error());
        const auto versions = found->versions_of(id);
        if (versions.empty()) {
            const std::string why = found->problems().empty() ? "no manifest of " + (*s)->id + " is there any more"
                                                              : found->problems().front().problem.message();
            return refuse_reload(**s, current->version().to_string(),
                                 fail(error_kind::load_error, "reading " + current->directory.string() + ": " + why));
        }
        return reload(id, *versions.front());
    }

    /// Replaces a loaded plugin with `next`, a version of the same id, without dropping a call:
    /// `next` is admitted (signature, backend, policy), its dependencies and the plugins depending
    /// on it must still fit, and its sandbox is built beside the running one. Then, between calls
    /// (the running one finishes on the old instance, new ones wait), every export the host or a
    /// plugin has called through the manager must still be offered with the same signature, the
    /// state is handed over when the old version exports cordon_export_state and the new one
    /// cordon_import_state, and the new version takes over, on probation (see manager_options).
    /// Anything that does not fit refuses the reload and the old version keeps serving. Every
    /// outcome goes into the recovery history.
    result<void> reload(std::string_view id, const plugin_record& next) {
        auto s = find(id);
        if (!s) return s.error();
        slot& p = **s;
        if (next.id() != p.id)
            return fail(error_kind::invalid_argument, "cannot reload " + p.id + " with " + next.label() + ", another plugin");
        if (on_call_chain(p)) return fail(error_kind::invalid_argument, "cannot reload " + p.id + " from inside its own call");
        if (p.current_state() == plugin_state::registered)
            return fail(error_kind::invalid_argument, "cannot reload " + p.record()->label() + ": it is not loaded");
        const std::string version = next.version().to_string();
        auto ready = [&]() -> result<prepared> {
            auto chosen = backend_for(next);
            if (!chosen) return chosen.error();
            if (auto ok = admit(*chosen, next); !ok) return ok.error();
            if (auto ok = check_dependencies(next, "reload"); !ok) return ok.error();
            if (auto ok = check_dependants(p, next); !ok) return ok.error();
            return prepare(p, std::make_shared<const plugin_record>(next), *chosen, nullptr);
        }();
        if (!ready) return refuse_reload(p, version, ready.error());
        box_variant replaced;
        std::optional<error> refused;
        std::string from;
        {
            auto lifecycle = own(p);
            auto old = p.current();
            from = old.record->version().to_string();
            if (p.current_state() == plugin_state::registered) refused = fail(error_kind::invalid_argument, p.id + " was unloaded");
            else if (auto fits = check_exports(p, next, exports_of(ready->box)); !fits) refused = fits.error();
            else if (auto handed = hand_over_state(p, p.box, ready->box); !handed) refused = handed.error();
            else replaced = swap_in(p, std::move(*ready), std::move(old), true);
        }
        replaced = box_variant{};  // the old instance goes outside the lock
        if (refused) return refuse_reload(p, version, *refused);
        pending_events events;
        events.recoveries.push_back(
            recovery(p, version, recovery_action::reload, recovery_outcome::done, "requested by the host", from + " -> " + version));
        dispatch(events);
        return {};
    }

    /// Brings back the version the last reload replaced, started afresh from the bytes verified
    /// when it was loaded (the manager does this itself when a version on probation fails).
    result<void> rollback(std::string_view id) {
        auto s = find(id);
        if (!s) return s.error();
        return roll_back(**s, "requested by the host");
    }

    // ---- calls --------------------------------------------------------------------------------

    /// Calls an export of an active plugin: mgr.call<int32_t(int32_t)>("greeter", "greet", 1).
    template <class Sig, class... Args> auto call(std::string_view id, std::string_view function, Args&&... args) {
        using R = typename host::signature_traits<Sig>::ret;
        static const bound_use how{bound_use::kind::typed, host::signature_of<Sig>(), {}};
        return run<R>(id, function, how, [&](auto& box) { return box.template call<Sig>(function, args...); });
    }

    /// A call whose signature is known only at run time, for plugins whose backend offers it
    /// (wasm); others answer invalid_argument.
    result<std::vector<value>> call_values(std::string_view id, std::string_view function, std::span<const value> args)
        requires(detail::offers_call_values<sandbox_type<Backends>> || ...)
    {
        bound_use how{bound_use::kind::values, {}, {}};
        for (const auto& a : args) how.sig.params.push_back(a.type);
        return run<std::vector<value>>(id, function, how, [&]<class Box>(Box& box) -> result<std::vector<value>> {
            if constexpr (detail::offers_call_values<Box>) return box.call_values(function, args);
            else
                return fail(error_kind::invalid_argument, "the " + std::string(Box::backend_type::name) +
                                                              " backend takes no calls with run-time signatures; use call or call_bytes");
        });
    }

    /// The bytes-in/bytes-out convention, through the same bookkeeping as call().
    result<std::vector<std::byte>> call_bytes(std::string_view id, std::string_view function, std::span<const std::byte> input) {
        return run<std::vector<std::byte>>(id, function, bytes_use(), [&](auto& box) { return box.call_bytes(function, input); });
    }

    /// Publishes an event from the host to every active plugin that subscribes to `topic` (the
    /// host may emit any topic). Fails with output_limit when a subscriber's queue is full (the
    /// others still get the event).
    result<void> emit(std::string_view topic, std::span<const std::byte> data) { return publish(nullptr, topic, data); }

    /// Stops the plugin's running call from another thread.
    result<void> cancel(std::string_view id) {
        return with_box(id, [](auto& box) -> result<void> {
            box.cancel();
            return {};
        });
    }

    // ---- runtime policy, inside the ceiling ---------------------------------------------------

    result<void> grant(std::string_view id, std::string_view permission) {
        return with_box(id, [&](auto& box) { return box.grant(permission); });
    }
    result<void> revoke(std::string_view id, std::string_view permission_name) {
        return with_box(id, [&](auto& box) { return box.revoke(permission_name); });
    }
    result<void> tighten(std::string_view id, limit::kind which, std::uint64_t value) {
        return with_box(id, [&](auto& box) { return box.tighten(which, value); });
    }
    result<std::vector<grant_entry>> grants(std::string_view id) {
        return with_box(id, [](auto& box) -> result<std::vector<grant_entry>> { return box.policy().grants(); });
    }
    result<limit_set> limits(std::string_view id) {
        return with_box(id, [](auto& box) -> result<limit_set> { return box.policy().limits(); });
    }
    result<cordon::telemetry> telemetry(std::string_view id) {
        return with_box(id, [](auto& box) -> result<cordon::telemetry> { return box.telemetry(); });
    }
    /// How the plugin's sandbox enforces each part of its policy (backend, mechanisms, levels).
    result<enforcement_report> enforcement(std::string_view id) {
        return with_box(id, [](auto& box) -> result<enforcement_report> { return box.enforcement(); });
    }

    /// Lets the plugin call the host function `name` again (or at all, when imports are
    /// denied by default).
    result<void> allow_import(std::string_view id, std::string_view name) { return edit_imports(id, name, true); }
    /// Stops the plugin calling the host function `name`; a call is then a violation.
    result<void> deny_import(std::string_view id, std::string_view name) { return edit_imports(id, name, false); }

    // ---- what happened ------------------------------------------------------------------------

    result<plugin_state> state(std::string_view id) const {
        auto s = find(id);
        if (!s) return s.error();
        return (*s)->current_state();
    }
    /// The version that runs (or will run, once loaded): its manifest, directory, checks.
    result<std::shared_ptr<const plugin_record>> record(std::string_view id) const {
        auto s = find(id);
        if (!s) return s.error();
        return (*s)->record();
    }
    result<plugin_status> status(std::string_view id) const {
        auto s = find(id);
        if (!s) return s.error();
        return (*s)->snapshot();
    }
    /// Every registered plugin, by id.
    [[nodiscard]] std::vector<plugin_status> statuses() const {
        std::vector<plugin_status> out;
        for (const auto& s : all_slots()) out.push_back(s->snapshot());
        return out;
    }
    /// The newest calls, oldest first (bounded by execution_log_capacity).
    [[nodiscard]] std::vector<execution_record> execution_log() const { return execution_log_.snapshot(); }
    /// What the manager did to keep plugins running, oldest first (bounded by
    /// recovery_history_capacity).
    [[nodiscard]] std::vector<recovery_record> recovery_history() const { return recovery_history_.snapshot(); }
    /// The plugin's newest failures, oldest first (bounded by error_history_capacity).
    result<std::vector<error_record>> errors(std::string_view id) const {
        auto s = find(id);
        if (!s) return s.error();
        return (*s)->errors.snapshot();
    }

private:
    struct slot;

    /// What a plugin's bus calls reach: the manager, knowing who is calling.
    class bus_endpoint final : public host::bus {
    public:
        bus_endpoint(manager& owner, slot& caller) noexcept : owner_{&owner}, caller_{&caller} {}
        result<std::vector<std::byte>> call(std::string_view target, std::span<const std::byte> input) override {
            return owner_->bus_call(*caller_, target, input);
        }
        result<void> emit(std::string_view topic, std::span<const std::byte> data) override {
            return owner_->publish(caller_, topic, data);
        }

    private:
        manager* owner_;
        slot* caller_;
    };

    struct bus_event {
        std::string function;
        std::vector<std::byte> data;
        std::string from;  // the emitting plugin; empty: the host
    };

    using box_variant = std::variant<std::monostate, std::unique_ptr<sandbox_type<Backends>>...>;

    /// A version as the manager runs it: the record, the backend chosen, the verified entry.
    struct version_source {
        std::shared_ptr<const plugin_record> record;
        std::size_t backend = 0;
        std::shared_ptr<const std::vector<unsigned char>> entry;  // empty until loaded
    };

    /// A version built beside the one running, ready to be swapped in.
    struct prepared {
        version_source source;
        box_variant box;
    };

    /// An export the host or another plugin called through the manager: a reload must keep it.
    struct bound_use {
        enum class kind : std::uint8_t { typed, bytes, values } how = kind::bytes;
        host::signature sig{};  // typed: the whole signature; values: the parameters
        std::string by;         // who called it first: "the host" or a plugin's id
    };

    struct probation {
        std::uint64_t successes = 0, failures = 0;
    };

    struct slot {
        slot(const plugin_record& r, std::size_t backend_index, const manager_options& options, manager& owner)
            : id{r.id()}, imports{std::make_shared<detail::import_allow_list>(options.imports_allowed_by_default)},
              errors{options.error_history_capacity}, endpoint{owner, *this},
              current_{std::make_shared<const plugin_record>(r), backend_index, nullptr} {}

        plugin_state current_state() const {
            std::lock_guard lock(info);
            return state;
        }
        plugin_status snapshot() const {
            const auto r = record();
            const auto b = backend();
            std::lock_guard lock(info);
            return {id, r->version().to_string(), std::string(backend_names[b]), state, calls, failures, consecutive_failures,
                    violations, last_error};
        }

        /// The version that runs (or will, once loaded); a reload replaces it.
        std::shared_ptr<const plugin_record> record() const {
            std::lock_guard lock(version_mutex);
            return current_.record;
        }
        std::size_t backend() const {
            std::lock_guard lock(version_mutex);
            return current_.backend;
        }
        version_source current() const {
            std::lock_guard lock(version_mutex);
            return current_;
        }
        std::optional<version_source> previous() const {
            std::lock_guard lock(version_mutex);
            return previous_;
        }
        /// Makes `next` the version that runs; `previous`: what a rollback would bring back.
        void set_version(version_source next, std::optional<version_source> previous) {
            std::lock_guard lock(version_mutex);
            current_ = std::move(next);
            previous_ = std::move(previous);
        }

        const std::string id;
        std::mutex turnstile;            // passed before the lifecycle, so that load, unload and
                                         // reload get it exclusively under a stream of calls
        std::shared_mutex lifecycle;     // exclusive: create, swap or destroy the sandbox; shared: use it
        detail::call_gate gate;          // one call at a time into the sandbox
        box_variant box;                 // loaded: of current().backend
        std::shared_ptr<detail::import_allow_list> imports;
        detail::bounded_log<error_record> errors;
        bus_endpoint endpoint;           // the sandbox's host::bus
        std::mutex queue_mutex;          // guards the events waiting for the plugin
        std::deque<bus_event> queue;

        mutable std::mutex info;         // guards what follows
        plugin_state state = plugin_state::registered;
        std::uint64_t calls = 0, failures = 0, consecutive_failures = 0, violations = 0;
        std::optional<error> last_error;
        std::map<std::string, std::vector<bound_use>, std::less<>> bound;  // by export name
        std::optional<probation> on_probation;  // since the last reload
        std::uint64_t crashes_in_a_row = 0;
        std::chrono::steady_clock::time_point restart_at{};  // no call before (after a crash)

    private:
        mutable std::mutex version_mutex;
        version_source current_;
        std::optional<version_source> previous_;
    };

    /// Notifications gathered under locks and delivered after they are released.
    struct pending_events {
        std::vector<std::tuple<std::string, plugin_state, plugin_state>> states;
        std::vector<std::pair<std::string, error>> errors, violations, disables;
        std::vector<recovery_record> recoveries;
        std::optional<std::string> roll_back;  // the cause, when a version on probation failed too often
    };

    void dispatch(const pending_events& events) {
        for (const auto& r : events.recoveries) recovery_history_.push(r);
        for (const auto& [id, from, to] : events.states) state_observers_.notify(id, from, to);
        for (const auto& [id, e] : events.errors) error_observers_.notify(id, e);
        for (const auto& [id, e] : events.violations) violation_observers_.notify(id, e);
        for (const auto& [id, e] : events.disables) disable_observers_.notify(id, e);
        for (const auto& r : events.recoveries) recovery_observers_.notify(r);
    }

    static recovery_record recovery(const slot& p, std::string version, recovery_action action, recovery_outcome outcome,
                                    std::string cause, std::string detail = {}) {
        return {std::chrono::system_clock::now(), p.id, std::move(version), action, outcome, std::move(cause), std::move(detail)};
    }

    /// The plugin's lifecycle lock, shared (to use the sandbox) or exclusive (to change it), taken
    /// through the turnstile so that a waiting exclusive taker holds new users back. A thread
    /// already inside the plugin's call holds it shared and takes it again directly.
    static std::shared_lock<std::shared_mutex> use(slot& p) {
        if (on_call_chain(p)) return std::shared_lock(p.lifecycle);
        std::lock_guard pass(p.turnstile);
        return std::shared_lock(p.lifecycle);
    }
    static std::unique_lock<std::shared_mutex> own(slot& p) {
        std::lock_guard pass(p.turnstile);
        return std::unique_lock(p.lifecycle);
    }

    static void change_state(slot& p, plugin_state to, pending_events& events) {
        std::lock_guard lock(p.info);
        change_state_locked(p, to, events);
    }
    static void change_state_locked(slot& p, plugin_state to, pending_events& events) {
        const auto from = p.state;
        if (from == to) return;
        p.state = to;
        if (from == plugin_state::active) {  // events wait only for an active plugin
            std::lock_guard queue(p.queue_mutex);
            p.queue.clear();
        }
        if (to == plugin_state::active || to == plugin_state::registered) p.consecutive_failures = 0;
        events.states.emplace_back(p.id, from, to);
    }

    static result<void> expect_state(const slot& p, std::initializer_list<plugin_state> allowed, std::string_view action) {
        const auto state = p.current_state();
        for (auto s : allowed)
            if (s == state) return {};
        return fail(error_kind::invalid_argument, "cannot " + std::string(action) + " " + p.record()->label() + ": it is " +
                                                      std::string(to_string(state)));
    }

    result<void> transition(std::string_view id, std::initializer_list<plugin_state> from, plugin_state to,
                            std::string_view action) {
        auto s = find(id);
        if (!s) return s.error();
        slot& p = **s;
        pending_events events;
        {
            auto lifecycle = use(p);  // the sandbox stays while the state changes
            std::lock_guard lock(p.info);
            if (std::find(from.begin(), from.end(), p.state) == from.end())
                return fail(error_kind::invalid_argument, "cannot " + std::string(action) + " " + p.record()->label() +
                                                              ": it is " + std::string(to_string(p.state)));
            change_state_locked(p, to, events);
        }
        dispatch(events);
        return {};
    }

    /// The plugins whose calls are running on this thread, outermost first (a call nests in
    /// another through a host function or the bus).
    static std::vector<const slot*>& call_chain() {
        thread_local std::vector<const slot*> chain;
        return chain;
    }
    static bool on_call_chain(const slot& p) {
        const auto& chain = call_chain();
        return std::find(chain.begin(), chain.end(), &p) != chain.end();
    }
    /// Puts a plugin on this thread's call chain while its code runs.
    struct on_chain {
        explicit on_chain(const slot& s) { call_chain().push_back(&s); }
        ~on_chain() { call_chain().pop_back(); }
        on_chain(const on_chain&) = delete;
        on_chain& operator=(const on_chain&) = delete;
    };

    /// Runs one call with the bookkeeping every call gets: state check, timing, the
    /// execution log, failure counting, quarantine and observers.
    template <class R, class Body> result<R> run(std::string_view id, std::string_view function, const bound_use& how, Body&& body) {
        auto s = find(id);
        if (!s) return s.error();
        return run_in<R>(**s, function, how, std::forward<Body>(body), std::nullopt);
    }

    /// run() on a slot; `wait`: how long to wait for a call running on another thread (none:
    /// as long as it takes). A call into a plugin already on this thread's call chain would
    /// wait for itself: it is refused.
    template <class R, class Body>
    result<R> run_in(slot& p, std::string_view function, const bound_use& how, Body&& body,
                     std::optional<std::chrono::milliseconds> wait) {
        if (on_call_chain(p))
            return fail(error_kind::denied, "the call chain loops back into " + p.record()->label() + ", which is busy");
        pending_events events;
        std::optional<result<R>> outcome;
        {
            auto lifecycle = use(p);
            if (auto ok = callable(p); !ok) return ok.error();
            detail::call_gate::entry one_call{p.gate, wait};
            if (!one_call)
                return fail(error_kind::timeout, p.record()->label() + " stayed busy for " + std::to_string(wait->count()) +
                                                     " ms, the bus's wait");
            const auto& chain = call_chain();
            outcome.emplace(run_locked<R>(p, function, how, body, events, chain.empty() ? std::string() : chain.back()->id));
        }
        dispatch(events);
        if (events.roll_back) (void)roll_back(p, *events.roll_back);
        deliver_events(p);
        return std::move(*outcome);
    }

    /// The call itself, with the lifecycle shared and the call lock held; `caller`: the plugin it
    /// runs for (empty: the host), for the execution log.
    template <class R, class Body>
    result<R> run_locked(slot& p, std::string_view function, const bound_use& how, Body& body, pending_events& events,
                         std::string caller) {
        const auto started = std::chrono::system_clock::now();
        const auto clock_start = std::chrono::steady_clock::now();
        std::optional<error> violation;
        result<R> outcome = visit_box(p, [&](auto& box) -> result<R> {
            // A count, not last_call: a call refused before it starts (an unknown export) leaves
            // last_call describing the previous call.
            const auto before = box.violation_count();
            result<R> answer = [&] {
                const on_chain entered{p};
                return body(box);
            }();
            if (box.violation_count() > before) violation = box.last_violation();
            return answer;
        });
        const auto duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - clock_start);
        std::optional<error> failure;
        if (!outcome) failure = outcome.error();
        if (!violation && failure && failure->kind() == error_kind::violation) violation = failure;
        account(p, function, started, failure, violation, how, caller, events);
        execution_log_.push({p.id, std::string(function), started, duration, failure, std::move(caller)});
        return outcome;
    }

    // ---- the bus ------------------------------------------------------------------------------

    static error message_too_large(std::string_view what, std::size_t size, std::size_t cap) {
        return fail(error_kind::output_limit, std::string(what) + " of " + std::to_string(size) +
                                                  " bytes is larger than the bus carries (" + std::to_string(cap) + ")");
    }

    /// `caller`'s call of "PLUGIN/FUNCTION".
    result<std::vector<std::byte>> bus_call(slot& caller, std::string_view target, std::span<const std::byte> input) {
        const auto slash = target.find('/');
        if (slash == std::string_view::npos || slash == 0 || slash + 1 == target.size())
            return fail(error_kind::invalid_argument, "bus target \"" + std::string(target.substr(0, 128)) +
                                                          "\" is not PLUGIN/FUNCTION");
        const std::string_view id = target.substr(0, slash), function = target.substr(slash + 1);
        const std::string shown(target.substr(0, 256));  // in errors
        if (input.size() > options_.bus_max_message_bytes)
            return message_too_large("a bus call's input", input.size(), options_.bus_max_message_bytes);
        auto s = find(id);
        if (!s) return s.error();
        slot& callee = **s;
        if (!callee.record()->definition.bus.admits_call(caller.id, function))
            return fail(error_kind::violation, caller.id + " may not call " + shown + " (not in that plugin's bus.callers)");
        auto answer = run_in<std::vector<std::byte>>(
            callee, function, bytes_use(), [&](auto& box) { return box.call_bytes(function, input); }, options_.bus_wait);
        if (!answer) {
            // The target's own violation is its own (recorded and counted there); to the caller
            // it is a refusal, not one of its own.
            const error& e = answer.error();
            const error_kind kind = e.kind() == error_kind::violation ? error_kind::denied : e.kind();
            return error{kind, e.info()}.with_context("bus call to " + shown);
        }
        if (answer->size() > options_.bus_max_message_bytes)
            return message_too_large("the answer of " + shown, answer->size(), options_.bus_max_message_bytes);
        return answer;
    }

    /// An event from `from` (the host when null) to the topic's subscribers.
    result<void> publish(const slot* from, std::string_view topic, std::span<const std::byte> data) {
        if (from && !from->record()->definition.bus.may_emit(topic))
            return fail(error_kind::violation, from->id + " may not emit \"" + std::string(topic.substr(0, 128)) +
                                                   "\" (not in its bus.emits)");
        if (data.size() > options_.bus_max_message_bytes)
            return message_too_large("an event", data.size(), options_.bus_max_message_bytes);
        std::vector<std::shared_ptr<slot>> reached;
        std::string full;
        for (const auto& s : all_slots()) {
            const auto& subscribes = s->record()->definition.bus.subscribes;
            const auto it = subscribes.find(topic);
            if (it == subscribes.end() || s->current_state() != plugin_state::active) continue;
            std::lock_guard lock(s->queue_mutex);
            if (s->queue.size() >= options_.bus_queue_depth) {
                full += (full.empty() ? "" : ", ") + s->id;
                continue;
            }
            s->queue.push_back({it->second, std::vector<std::byte>(data.begin(), data.end()), from ? from->id : std::string()});
            reached.push_back(s);
        }
        for (const auto& s : reached) deliver_events(*s);
        if (!full.empty())
            return fail(error_kind::output_limit, "the event queue of " + full + " is full (" +
                                                      std::to_string(options_.bus_queue_depth) + " events waiting)");
        return {};
    }

    /// Runs the events waiting for `p` when it is idle: the ones queued when this began, so that
    /// plugins answering each other's events cannot keep one host call going for ever. When `p`
    /// is busy, its running call delivers them as it ends (every call ends here).
    void deliver_events(slot& p) {
        if (on_call_chain(p)) return;
        std::size_t budget = 0;
        {
            std::lock_guard lock(p.queue_mutex);
            budget = p.queue.size();
        }
        for (; budget > 0; --budget) {
            pending_events events;
            {
                auto lifecycle = use(p);
                detail::call_gate::entry one_call{p.gate, std::chrono::milliseconds{0}};
                if (!one_call) return;
                // Not active: leaving active cleared the queue. Held back after a crash: the
                // events wait for the next delivery.
                if (!callable(p)) return;
                std::optional<bus_event> event;
                {
                    std::lock_guard lock(p.queue_mutex);
                    if (p.queue.empty()) return;
                    event.emplace(std::move(p.queue.front()));
                    p.queue.pop_front();
                }
                auto handler = [&](auto& box) { return box.call_bytes(event->function, event->data); };
                (void)run_locked<std::vector<std::byte>>(p, event->function, bytes_use(), handler, events, std::move(event->from));
            }
            dispatch(events);
            if (events.roll_back) (void)roll_back(p, *events.roll_back);
        }
    }

    result<void> callable(const slot& p) const {
        std::lock_guard lock(p.info);
        switch (p.state) {
        case plugin_state::active: {
            if (p.crashes_in_a_row == 0) return {};
            const auto now = std::chrono::steady_clock::now();
            if (now >= p.restart_at) return {};
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(p.restart_at - now).count();
            return fail(error_kind::crash, p.record()->label() + " crashed " + std::to_string(p.crashes_in_a_row) +
                                               " time(s) in a row; it starts again in " + std::to_string(wait) + " ms");
        }
        case plugin_state::disabled:
            return fail(error_kind::denied, p.record()->label() + " is disabled after " + std::to_string(p.consecutive_failures) +
                                                " consecutive failures (last: " +
                                                (p.last_error ? p.last_error->message() : std::string("unknown")) +
                                                "); the host must enable it again");
        case plugin_state::quarantined:
            return fail(error_kind::denied, p.record()->label() + " is quarantined after a violation (" +
                                                (p.last_error ? p.last_error->message() : std::string("unknown")) +
                                                "); the host must release it");
        default:
            return fail(error_kind::invalid_argument, p.record()->label() + " is " + std::string(to_string(p.state)) +
                                                          ", not active; activate it first");
        }
    }

    static bound_use bytes_use() { return {bound_use::kind::bytes, {}, {}}; }

    /// After one call: counts, the exports called, probation, crash backoff, quarantine and
    /// disabling, with what they did in the recovery history.
    void account(slot& p, std::string_view function, std::chrono::system_clock::time_point when,
                 const std::optional<error>& failure, const std::optional<error>& violation, const bound_use& how,
                 const std::string& caller, pending_events& events) {
        if (!failure && !violation) {
            std::lock_guard lock(p.info);
            ++p.calls;
            p.consecutive_failures = 0;
            p.crashes_in_a_row = 0;
            note_bound(p, function, how, caller);
            if (p.on_probation && ++p.on_probation->successes >= options_.probation_calls) p.on_probation.reset();
            return;
        }
        const std::string version = p.record()->version().to_string();
        std::lock_guard lock(p.info);
        ++p.calls;
        const error& reported = failure ? *failure : *violation;
        p.last_error = reported;
        if (failure) {
            ++p.failures;
            p.errors.push({std::string(function), when, *failure});
            events.errors.emplace_back(p.id, *failure);
            // A wrong export name or signature is the host's mistake, not the plugin's.
            if (failure->kind() != error_kind::invalid_argument) ++p.consecutive_failures;
            if (failure->kind() == error_kind::crash) {
                const auto backoff = restart_backoff(++p.crashes_in_a_row);
                p.restart_at = std::chrono::steady_clock::now() + backoff;
                events.recoveries.push_back(recovery(p, version, recovery_action::restart, recovery_outcome::done, failure->message(),
                                                     "the next call after " + std::to_string(backoff.count()) +
                                                         " ms starts it again"));
            }
            if (p.on_probation && failure->kind() != error_kind::invalid_argument && options_.rollback_after_failures > 0 &&
                ++p.on_probation->failures >= options_.rollback_after_failures && !violation) {
                // The rollback answers the failures: disabling would stop the old version too.
                events.roll_back = std::to_string(p.on_probation->failures) + " failed calls of " + version +
                                   " since it was loaded (last: " + failure->message() + ")";
                p.on_probation.reset();
                return;
            }
        }
        if (violation) {
            ++p.violations;
            events.violations.emplace_back(p.id, *violation);
            if (options_.quarantine_on_violation && p.state == plugin_state::active) {
                change_state_locked(p, plugin_state::quarantined, events);
                events.recoveries.push_back(
                    recovery(p, version, recovery_action::quarantine, recovery_outcome::done, violation->message()));
                return;
            }
        }
        if (options_.max_consecutive_failures > 0 && p.consecutive_failures >= options_.max_consecutive_failures &&
            p.state == plugin_state::active) {
            events.disables.emplace_back(p.id, reported);
            change_state_locked(p, plugin_state::disabled, events);
            events.recoveries.push_back(recovery(p, version, recovery_action::disable, recovery_outcome::done, reported.message(),
                                                 std::to_string(p.consecutive_failures) + " consecutive failures"));
        }
    }

    std::chrono::milliseconds restart_backoff(std::uint64_t crashes) const {
        auto wait = options_.restart_backoff;
        for (std::uint64_t i = 1; i < crashes && wait < options_.restart_backoff_max; ++i) wait *= 2;
        return std::min(wait, options_.restart_backoff_max);
    }

    /// Remembers that `function` was called this way, so that a reload keeps it; p.info held.
    static void note_bound(slot& p, std::string_view function, const bound_use& use, const std::string& caller) {
        auto it = p.bound.find(function);
        if (it == p.bound.end()) it = p.bound.emplace(std::string(function), std::vector<bound_use>{}).first;
        auto& uses = it->second;
        const bool known = std::any_of(uses.begin(), uses.end(), [&](const bound_use& u) {
            return u.how == use.how && (u.how == bound_use::kind::bytes || u.sig == use.sig);
        });
        if (known) return;
        uses.push_back(use);
        uses.back().by = caller.empty() ? "the host" : caller;
    }

    template <std::size_t I> using backend_at = std::tuple_element_t<I, std::tuple<Backends...>>;

    /// The result of `f` on the first backend's sandbox: every backend's must be the same.
    template <class F> using box_result = std::invoke_result_t<F&, sandbox_type<backend_at<0>>&>;

    /// `f` on the plugin's sandbox, whichever backend it is of; the lifecycle must be held.
    template <class F> static box_result<F> visit_box(slot& p, F&& f) {
        return std::visit(
            [&]<class Held>(Held& held) -> box_result<F> {
                if constexpr (std::is_same_v<Held, std::monostate>)
                    return fail(error_kind::invalid_argument, p.record()->label() + " is not loaded");
                else return f(*held);
            },
            p.box);
    }

    template <class F> box_result<F> with_box(std::string_view id, F&& f) {
        auto s = find(id);
        if (!s) return s.error();
        slot& p = **s;
        auto lifecycle = use(p);
        return visit_box(p, std::forward<F>(f));
    }

    // ---- backends -----------------------------------------------------------------------------

    /// The first backend that runs the record (see runs_on).
    static result<std::size_t> backend_for(const plugin_record& record) {
        if (auto ok = check_built_for(record, backend_names); !ok) return ok.error();
        std::size_t index = 0;
        while (!runs_on(record, backend_names[index])) ++index;
        return index;
    }

    /// The admission checks for the chosen backend.
    static result<void> admit(std::size_t backend, const plugin_record& record) {
        return on_backend(backend, [&]<std::size_t I>() { return check_admission<backend_at<I>, Policy>(record); });
    }

    /// `f.template operator()<I>()` for the backend index I == `backend`.
    template <class F> static result<void> on_backend(std::size_t backend, F&& f) {
        result<void> out = fail(error_kind::internal, "no backend " + std::to_string(backend));
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (void)((backend == I && (out = f.template operator()<I>(), true)) || ...);
        }(std::index_sequence_for<Backends...>{});
        return out;
    }

    /// Builds a version beside the running one: reads its entry (checking its SHA-256 on the
    /// bytes that will run) unless `entry` holds bytes verified before (a rollback), builds the
    /// payload with the backend's loader and creates the sandbox. No lock of the slot is needed:
    /// loaders may run on any thread.
    result<prepared> prepare(slot& p, std::shared_ptr<const plugin_record> record, std::size_t backend,
                             std::shared_ptr<const std::vector<unsigned char>> entry) {
        if (!entry) {
            auto bytes = read_verified_entry(record->definition, record->directory, options_.max_entry_bytes);
            if (!bytes) return bytes.error();
            entry = std::make_shared<const std::vector<unsigned char>>(std::move(*bytes));
        }
        prepared out{{record, backend, entry}, {}};
        auto made = on_backend(backend, [&]<std::size_t I>() -> result<void> {
            using chosen = backend_at<I>;
            const auto& loader = std::get<I>(loaders_);
            if (!loader)
                return fail(error_kind::invalid_argument, "this manager has no loader for the " + std::string(chosen::name) + " backend");
            auto payload = loader(*record, *entry);
            if (!payload) return payload.error();
            auto box = sandbox_type<chosen>::create(*payload, sandbox_options_for(p, *record));
            if (!box) return box.error();
            out.box.template emplace<I + 1>(std::make_unique<sandbox_type<chosen>>(std::move(*box)));
            return {};
        });
        if (!made) return made.error();
        return out;
    }

    /// Every dependency of `record` is loaded, in a version its constraint admits.
    result<void> check_dependencies(const plugin_record& record, std::string_view action) const {
        const std::string doing = "cannot " + std::string(action) + " " + record.label();
        for (const auto& dep : record.definition.dependencies) {
            auto other = find(dep.id);
            if (!other) return other.error().with_context(doing + ", which depends on it");
            const auto theirs = (*other)->record();
            if ((*other)->current_state() == plugin_state::registered)
                return fail(error_kind::invalid_argument, doing + ": its dependency " + theirs->label() + " is not loaded");
            if (!dep.constraint.satisfied_by(theirs->version()))
                return fail(error_kind::load_error, doing + ": it requires " + dep.id + " " + dep.constraint.source() + ", but " +
                                                        theirs->label() + " is registered");
        }
        return {};
    }

    /// Every loaded plugin that depends on `p` still accepts `next`.
    result<void> check_dependants(const slot& p, const plugin_record& next) const {
        for (const auto& other : all_slots()) {
            if (other.get() == &p || other->current_state() == plugin_state::registered) continue;
            const auto theirs = other->record();
            for (const auto& dep : theirs->definition.dependencies)
                if (dep.id == p.id && !dep.constraint.satisfied_by(next.version()))
                    return fail(error_kind::load_error, theirs->label() + " requires " + p.id + " " + dep.constraint.source() +
                                                            ", which " + next.label() + " does not satisfy");
        }
        return {};
    }

    /// Every export called through the manager is still offered by `offered`, taking the same
    /// calls; nothing to check when the backend cannot list them (a native plugin).
    static result<void> check_exports(const slot& p, const plugin_record& next,
                                      const std::optional<std::vector<host::export_description>>& offered) {
        if (!offered) return {};
        std::lock_guard lock(p.info);
        for (const auto& entry : p.bound) {
            const std::string& name = entry.first;  // not a structured binding: lambdas below use it
            const auto& uses = entry.second;
            const auto it = std::find_if(offered->begin(), offered->end(), [&](const auto& d) { return d.name == name; });
            for (const auto& use : uses) {
                const auto refused = [&](const std::string& why) {
                    return fail(error_kind::load_error, next.label() + " " + why + ", but " + use.by + " calls it");
                };
                if (it == offered->end()) return refused("no longer offers " + name);
                const std::string now = it->sig ? host::to_string(*it->sig) : std::string("bytes");
                switch (use.how) {
                case bound_use::kind::bytes:
                    if (!it->bytes) return refused("offers " + name + " as " + now + ", not taking bytes");
                    break;
                case bound_use::kind::typed:
                    if (!it->sig || *it->sig != use.sig) return refused("offers " + name + " as " + now + ", not " + host::to_string(use.sig));
                    break;
                case bound_use::kind::values:
                    if (!it->sig || it->sig->params != use.sig.params)
                        return refused("offers " + name + " as " + now + ", not taking the arguments " +
                                       host::to_string(host::signature{use.sig.params, {}}));
                    break;
                }
            }
        }
        return {};
    }

    static std::optional<std::vector<host::export_description>> exports_of(const box_variant& box) {
        return std::visit(
            []<class Held>(const Held& held) -> std::optional<std::vector<host::export_description>> {
                if constexpr (std::is_same_v<Held, std::monostate>) return std::nullopt;
                else return held->exports();
            },
            box);
    }

    /// cordon_export_state of the old version into cordon_import_state of the new one, when the
    /// old offers the first and the new the second (both bytes-in/bytes-out); both boxes idle.
    /// The plugin is on the call chain meanwhile: a bus call looping back into it is refused.
    static result<void> hand_over_state(const slot& p, box_variant& old_box, box_variant& new_box) {
        const auto offers = [](const auto& list, std::string_view name) {
            return list && std::any_of(list->begin(), list->end(), [&](const auto& d) { return d.name == name && d.bytes; });
        };
        if (!offers(exports_of(old_box), "cordon_export_state") || !offers(exports_of(new_box), "cordon_import_state")) return {};
        const auto call = [](box_variant& box, std::string_view name, std::span<const std::byte> input) {
            return std::visit(
                [&]<class Held>(Held& held) -> result<std::vector<std::byte>> {
                    if constexpr (std::is_same_v<Held, std::monostate>) return fail(error_kind::internal, "no sandbox");
                    else return held->call_bytes(name, input);
                },
                box);
        };
        const on_chain entered{p};
        auto state = call(old_box, "cordon_export_state", {});
        if (!state) return state.error().with_context("handing the state over: the old version's cordon_export_state");
        if (auto taken = call(new_box, "cordon_import_state", *state); !taken)
            return taken.error().with_context("handing the state over: the new version's cordon_import_state");
        return {};
    }

    /// A reload that did not happen: in the history, to the observers, to the caller.
    error refuse_reload(const slot& p, const std::string& version, error why) {
        pending_events events;
        events.recoveries.push_back(recovery(p, version, recovery_action::reload, recovery_outcome::refused,
                                             "requested by the host", why.message()));
        dispatch(events);
        return why.with_context("reload of " + p.id + " refused; " + p.record()->label() + " keeps serving");
    }

    /// Swaps `next` in between calls: waits for the running call (it finishes on the old
    /// instance) and holds new ones back; `previous`: what a rollback would bring back. The old
    /// instance is returned so that it goes after the lock is released.
    box_variant swap_in(slot& p, prepared next, std::optional<version_source> previous, bool probation_starts) {
        box_variant replaced = std::exchange(p.box, std::move(next.box));
        p.set_version(std::move(next.source), std::move(previous));
        std::lock_guard lock(p.info);
        // The state stays: a disabled or quarantined plugin waits for the host as before, and
        // its message keeps counting what disabled it.
        if (p.state != plugin_state::disabled) p.consecutive_failures = 0;
        p.crashes_in_a_row = 0;
        p.restart_at = {};
        if (probation_starts) p.on_probation.emplace();
        else p.on_probation.reset();
        return replaced;
    }

    result<void> roll_back(slot& p, const std::string& cause) {
        if (on_call_chain(p))
            return fail(error_kind::invalid_argument, "cannot roll " + p.id + " back from inside its own call");
        auto previous = p.previous();
        if (!previous) return fail(error_kind::invalid_argument, "cannot roll " + p.id + " back: no reload replaced a version of it");
        const std::string version = previous->record->version().to_string();
        const auto failing = p.record();
        pending_events events;
        auto ready = prepare(p, previous->record, previous->backend, previous->entry);
        box_variant replaced;
        std::optional<error> failed;
        std::string from;
        if (ready) {
            auto lifecycle = own(p);
            from = p.record()->version().to_string();
            if (p.current_state() == plugin_state::registered) failed = fail(error_kind::invalid_argument, p.id + " is not loaded");
            else if (p.record() != failing) failed = fail(error_kind::invalid_argument, "another reload of " + p.id + " came first");
            else replaced = swap_in(p, std::move(*ready), std::nullopt, false);
        } else {
            failed = ready.error();
        }
        replaced = box_variant{};
        if (failed) {
            events.recoveries.push_back(recovery(p, version, recovery_action::rollback, recovery_outcome::failed, cause, failed->message()));
            dispatch(events);
            return *failed;
        }
        events.recoveries.push_back(recovery(p, version, recovery_action::rollback, recovery_outcome::done, cause, from + " -> " + version));
        dispatch(events);
        return {};
    }

    result<void> edit_imports(std::string_view id, std::string_view name, bool allow) {
        auto s = find(id);
        if (!s) return s.error();
        const bool offered = std::any_of(functions_.begin(), functions_.end(), [&](const auto& f) { return f.name == name; });
        if (!offered) return fail(error_kind::invalid_argument, "no host function named \"" + std::string(name) + "\" is offered");
        if (allow) (*s)->imports->allow(std::string(name));
        else (*s)->imports->deny(std::string(name));
        return {};
    }

    result<std::shared_ptr<slot>> find(std::string_view id) const {
        std::shared_lock lock(slots_mutex_);
        auto it = slots_.find(id);
        if (it == slots_.end()) return fail(error_kind::invalid_argument, "no plugin \"" + std::string(id) + "\" is registered");
        return it->second;
    }
    std::vector<std::shared_ptr<slot>> all_slots() const {
        std::shared_lock lock(slots_mutex_);
        std::vector<std::shared_ptr<slot>> out;
        for (const auto& [id, s] : slots_) out.push_back(s);
        return out;
    }

    sandbox_options sandbox_options_for(slot& p, const plugin_record& record) {
        sandbox_options out = admitted_options(record, Policy::spec());
        out.on_violation = options_.on_violation;
        out.bus = &p.endpoint;
        for (auto f : functions_) {
            f.call = [inner = std::move(f.call), imports = p.imports, name = f.name](
                         host::context& ctx, std::span<const cordon::value> in, std::span<cordon::value> out_values) -> result<void> {
                if (!imports->allows(name)) {
                    error_info info{"host function \"" + name + "\" is not allowed for this plugin"};
                    info.function = name;
                    return ctx.record_violation(error{error_kind::violation, std::move(info)}, name);
                }
                return inner(ctx, in, out_values);
            };
            out.functions.push_back(std::move(f));
        }
        return out;
    }

    std::tuple<payload_loader<Backends>...> loaders_;
    manager_options options_;
    host::functions functions_;
    detail::bounded_log<execution_record> execution_log_;
    detail::bounded_log<recovery_record> recovery_history_;
    mutable std::shared_mutex slots_mutex_;
    std::map<std::string, std::shared_ptr<slot>, std::less<>> slots_;
    detail::observer_list<const std::string&, const error&> error_observers_, violation_observers_, disable_observers_;
    detail::observer_list<const std::string&, plugin_state, plugin_state> state_observers_;
    detail::observer_list<const recovery_record&> recovery_observers_;
};

} // namespace cordon::plugin
