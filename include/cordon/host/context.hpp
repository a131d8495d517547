// The host side of one sandbox: its runtime policy, what its guest wrote (capped), its telemetry,
// its violations and its cancel flag. Every backend hands guest requests to this one object.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/host/bus.hpp>
#include <cordon/policy/runtime.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/published.hpp>
#include <cordon/telemetry/usage.hpp>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon {

/// What happens when a guest asks for something its grants forbid.
enum class violation_action : std::uint8_t {
    fail_call,  // the guest gets an error code and may clean up; the call then ends as `violation`
    trap,       // the guest is stopped at once; the call ends as `violation`
    record,     // the guest gets an error code; the call's result is unaffected (telemetry counts it)
};

/// How much a sandbox measures per call. Reading clocks costs more than a small guest call
/// (about 8 ns for the coarse monotonic clock, 40 ns for the precise one and 400 ns for the
/// thread CPU clock on a typical VM).
enum class telemetry_detail : std::uint8_t {
    timed,    // wall time per call from the coarse clock (see clocks::wall_ns); CPU time where a
              // cpu limit needs it or the backend reads it for free, else the wall time
    counted,  // no clock reads on the call path: calls, fuel, host calls, violations and errors only
};

enum class log_level : std::uint8_t { debug, info, warn, error };

constexpr std::string_view to_string(log_level l) noexcept {
    switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    }
    return "info";
}

namespace host {

/// Streams a guest can write to; both count against limit::output_bytes together with logs.
enum class stream : std::uint8_t { out, err };

class context {
public:
    explicit context(const policy_spec& spec) : policy_{spec} {}
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    [[nodiscard]] runtime_policy& policy() noexcept { return policy_; }
    [[nodiscard]] const runtime_policy& policy() const noexcept { return policy_; }

    // ---- settings the host chooses -------------------------------------------------------------
    violation_action on_violation = violation_action::fail_call;
    telemetry_detail detail = telemetry_detail::timed;
    /// Where guest logs go besides the captured buffer; called on the guest's thread.
    std::function<void(log_level, std::string_view)> log_sink{};
    /// Key/value configuration the guest may read (no permission needed: the host chose to share it).
    std::map<std::string, std::string, std::less<>> config{};
    /// Environment the guest may read with perm::env (never the host's own environment).
    std::map<std::string, std::string, std::less<>> environment{};
    /// The plugin bus the guest's bus calls reach (with perm::plugin); none: they answer
    /// unsupported. Not owned: it outlives the sandbox.
    host::bus* bus = nullptr;

    // ---- per call ------------------------------------------------------------------------------

    /// Starts a call: resets the per-call usage and the pending error. Calls into one sandbox
    /// happen on one thread at a time, so the per-call state needs no lock, and the totals are
    /// published to other threads through a sequence lock (telemetry/published.hpp).
    void begin_call() noexcept {
        current_.calls = 1;
        current_.wall_ns = current_.cpu_ns = current_.fuel = current_.peak_memory_bytes = 0;
        current_.host_calls = current_.violations = current_.errors = 0;
        if (!current_.host_calls_by_name.empty()) current_.host_calls_by_name.clear();
        has_pending_.store(false, std::memory_order_relaxed);
        cancel_.store(false, std::memory_order_relaxed);
    }
    /// Ends a call: folds its usage into the totals. `failed` says the backend's own result was an
    /// error; otherwise the result is the error the guest earned while running (a violation, an
    /// output flood), or success. Takes no lock unless the call (or the one before it) counted
    /// host calls by name, or left an error.
    result<void> end_call(const usage& measured, bool failed = false) {
        current_.wall_ns = measured.wall_ns;
        current_.cpu_ns = measured.cpu_ns;
        current_.fuel = measured.fuel;
        current_.peak_memory_bytes = measured.peak_memory_bytes;
        const bool pending = has_pending_.load(std::memory_order_relaxed);
        current_.errors = (failed || pending) ? 1 : 0;
        const bool named = !current_.host_calls_by_name.empty();
        if (named || last_call_named_) {
            // The maps change with the counters, under the lock telemetry() reads them with.
            std::lock_guard lock(mutex_);
            published_.publish(current_);
            last_call_by_name_ = current_.host_calls_by_name;
            for (const auto& [name, times] : current_.host_calls_by_name) total_by_name_[name] += times;
            last_call_named_ = named;
        } else {
            published_.publish(current_);
        }
        if (pending && !failed) {
            std::lock_guard lock(mutex_);
            return *pending_;
        }
        return {};
    }
    void count_restart() noexcept { published_.add_restart(); }

    /// Counts host calls by name (a backend that tallies calls itself reports them in one go).
    void count_host_call(std::string_view name, std::uint64_t times = 1) {
        current_.host_calls += times;
        auto it = current_.host_calls_by_name.find(name);
        if (it == current_.host_calls_by_name.end()) current_.host_calls_by_name.emplace(std::string(name), times);
        else it->second += times;
    }

    /// Checks a permission for a host call; on refusal records the violation per on_violation.
    /// Returns the violation so the backend can hand the guest an error code (or trap).
    result<void> require(std::string_view permission, std::string_view function) {
        auto r = policy_.check(permission);
        if (!r) return record_violation(r.error(), function);
        return {};
    }
    result<void> require(perm::id permission, std::string_view function) {
        if (policy_.granted(permission)) return {};
        return record_violation(policy_.check(permission).error(), function);
    }
    result<void> require(std::string_view permission, std::string_view scope, std::string_view function) {
        auto r = policy_.check(permission, scope);
        if (!r) return record_violation(r.error(), function);
        return {};
    }

    /// Records a violation found by a backend (a denied syscall, a denied host call).
    error record_violation(const error& e, std::string_view function = {}) {
        ++current_.violations;
        error tagged = function.empty() ? e : e.with_context(std::string(function));
        std::lock_guard lock(mutex_);
        ++violations_recorded_;
        violations_.push_back(tagged);
        if (violations_.size() > max_kept_violations) violations_.erase(violations_.begin());
        if (on_violation != violation_action::record) set_pending_locked(tagged);
        return tagged;
    }

    /// Appends guest output, enforcing limit::output_bytes across stdout, stderr and logs.
    /// Past the limit the output is cut, and the call ends as output_limit.
    result<void> write(stream s, std::string_view bytes) {
        std::lock_guard lock(mutex_);
        return append_capped(s == stream::out ? stdout_ : stderr_, {bytes});
    }
    result<void> log(log_level level, std::string_view message) {
        {
            std::lock_guard lock(mutex_);
            auto r = append_capped(logs_, {to_string(level), ": ", message, "\n"});
            if (!r) return r;
        }
        if (log_sink) log_sink(level, message);
        return {};
    }
    /// Sets the call's error if none is set (used by backends for conditions found mid-call).
    void set_pending(error e) {
        std::lock_guard lock(mutex_);
        set_pending_locked(std::move(e));
    }

    [[nodiscard]] std::string take_stdout() { return take(stdout_); }
    [[nodiscard]] std::string take_stderr() { return take(stderr_); }
    [[nodiscard]] std::string take_logs() { return take(logs_); }

    [[nodiscard]] cordon::telemetry telemetry() const {
        std::lock_guard lock(mutex_);
        cordon::telemetry t = published_.read();
        t.last_call.host_calls_by_name = last_call_by_name_;
        t.total.host_calls_by_name = total_by_name_;
        return t;
    }
    [[nodiscard]] std::vector<error> violations() const {
        std::lock_guard lock(mutex_);
        return violations_;
    }
    /// How many violations were ever recorded here (violations() keeps only the newest).
    [[nodiscard]] std::uint64_t violations_recorded() const {
        std::lock_guard lock(mutex_);
        return violations_recorded_;
    }
    /// The newest violation recorded, if any.
    [[nodiscard]] std::optional<error> last_violation() const {
        std::lock_guard lock(mutex_);
        if (violations_.empty()) return std::nullopt;
        return violations_.back();
    }

    /// Asks the running call to stop; backends poll it (fuel slices) or signal the child.
    void cancel() noexcept { cancel_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool cancelled() const noexcept { return cancel_.load(std::memory_order_relaxed); }

    static constexpr std::size_t max_kept_violations = 64;

    /// The most output the host holds for the guest at once: limit::output_bytes, or a default.
    [[nodiscard]] std::uint64_t output_cap() const {
        return policy_.limit(limit::kind::output_bytes).value_or(default_output_cap);
    }

private:
    /// Appends the pieces of one write (a log line's level, message and newline are pieces, so
    /// nothing is built before the cap is known) up to the cap.
    result<void> append_capped(std::string& buffer, std::initializer_list<std::string_view> pieces) {
        const auto cap = output_cap();
        std::uint64_t wanted = 0, taken = 0;
        for (const std::string_view piece : pieces) {
            wanted += piece.size();
            const auto room = written_ >= cap ? 0 : cap - written_;
            const auto take_n = piece.size() < room ? piece.size() : room;
            buffer.append(piece.substr(0, take_n));
            written_ += take_n;
            taken += take_n;
        }
        if (taken == wanted) return {};
        // A guest that ignores the refusal and keeps writing gets the same error again, not one
        // built anew each time: a refused write must cost no more than an accepted one.
        if (!refusal_ || refusal_->info().limit->limit != cap)
            refusal_ = limit_exceeded(limit::kind::output_bytes, cap, written_ + (wanted - taken));
        set_pending_locked(*refusal_);
        return *refusal_;
    }
    void set_pending_locked(error e) {
        if (has_pending_.load(std::memory_order_relaxed)) return;
        pending_ = std::move(e);
        has_pending_.store(true, std::memory_order_relaxed);
    }
    std::string take(std::string& buffer) {
        std::lock_guard lock(mutex_);
        std::string out;
        out.swap(buffer);
        written_ -= out.size();  // the cap bounds what the host holds; taking output frees room
        if (!out.empty()) refusal_.reset();
        return out;
    }

    /// Without limit::output_bytes, a guest still cannot make the host buffer without bound.
    static constexpr std::uint64_t default_output_cap = 16 * 1024 * 1024;

    runtime_policy policy_;
    mutable std::mutex mutex_;
    usage current_{};                   // the running call's, on the call thread only
    bool last_call_named_ = false;      // the last call counted host calls by name (call thread)
    detail::published_telemetry published_{};
    std::map<std::string, std::uint64_t, std::less<>> last_call_by_name_{}, total_by_name_{};  // under mutex_
    std::optional<error> pending_{};     // valid while has_pending_
    std::atomic<bool> has_pending_{false};
    std::vector<error> violations_{};
    std::uint64_t violations_recorded_ = 0;
    std::string stdout_, stderr_, logs_;
    std::uint64_t written_ = 0;
    std::optional<error> refusal_{};     // the output limit's error while the buffers are full
    std::atomic<bool> cancel_{false};
};

/// A context that owns its policy, for driving a backend's engine without the facade (tools,
/// benchmarks, engine tests) under a policy written at run time (policy_spec::grant). Both live
/// behind stable pointers, so an engine may keep a reference while this object moves.
class owned_context {
public:
    explicit owned_context(policy_spec spec)
        : spec_{std::make_unique<policy_spec>(std::move(spec))}, context_{std::make_unique<context>(*spec_)} {}

    [[nodiscard]] context& get() const noexcept { return *context_; }
    context& operator*() const noexcept { return *context_; }
    context* operator->() const noexcept { return context_.get(); }
    operator context&() const noexcept { return *context_; }

private:
    std::unique_ptr<policy_spec> spec_;
    std::unique_ptr<context> context_;
};

} // namespace host
} // namespace cordon
