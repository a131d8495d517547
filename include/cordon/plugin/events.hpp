// What the plugin manager tells its host: plugin states, per-call execution records, error
// records, and thread-safe observer lists and bounded logs that hold them.
#pragma once

#include <cordon/result.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::plugin {

/// The life of a plugin in a manager:
///   registered -load-> loaded -activate-> active -deactivate-> loaded -unload-> registered
///   active -N consecutive failures-> disabled -enable-> active
///   loaded/active -violation-> quarantined -release-> loaded
/// Only an active plugin can be called.
enum class plugin_state : std::uint8_t { registered, loaded, active, disabled, quarantined };

constexpr std::string_view to_string(plugin_state state) noexcept {
    switch (state) {
    case plugin_state::registered: return "registered";
    case plugin_state::loaded: return "loaded";
    case plugin_state::active: return "active";
    case plugin_state::disabled: return "disabled";
    case plugin_state::quarantined: return "quarantined";
    }
    return "unknown";
}

/// One call through the manager, as the execution log keeps it.
struct execution_record {
    std::string plugin;
    std::string function;
    std::chrono::system_clock::time_point started;
    std::chrono::nanoseconds duration{0};
    std::optional<error> failure{};  // nothing when the call succeeded
    /// The plugin this call ran for: the caller of a bus call, the emitter of an event, the
    /// plugin whose host function made the call. Empty: the host.
    std::string caller{};
};

/// What the manager did to keep a plugin running, or was asked to do.
enum class recovery_action : std::uint8_t {
    reload,      // a new version swapped in (or refused, the old one kept)
    rollback,    // back to the version a reload replaced
    restart,     // a crashed instance started again, after a backoff
    quarantine,  // stopped after a violation until the host releases it
    disable,     // stopped after consecutive failures until the host enables it
};
enum class recovery_outcome : std::uint8_t { done, refused, failed };

constexpr std::string_view to_string(recovery_action a) noexcept {
    switch (a) {
    case recovery_action::reload: return "reload";
    case recovery_action::rollback: return "rollback";
    case recovery_action::restart: return "restart";
    case recovery_action::quarantine: return "quarantine";
    case recovery_action::disable: return "disable";
    }
    return "unknown";
}
constexpr std::string_view to_string(recovery_outcome o) noexcept {
    switch (o) {
    case recovery_outcome::done: return "done";
    case recovery_outcome::refused: return "refused";
    case recovery_outcome::failed: return "failed";
    }
    return "unknown";
}

/// One entry of the recovery history.
struct recovery_record {
    std::chrono::system_clock::time_point when;
    std::string plugin;
    std::string version;  // the version acted on: the new one of a reload, the one rolled back to
    recovery_action action = recovery_action::reload;
    recovery_outcome outcome = recovery_outcome::done;
    std::string cause;    // why: "requested by the host", the error that led to it
    std::string detail{}; // what happened: "1.0.0 -> 1.1.0", the reason of a refusal
};

/// One failure of a plugin, with the error's details (backtrace included when the backend
/// could give one).
struct error_record {
    std::string function;
    std::chrono::system_clock::time_point when;
    error failure;
};

/// A plugin's current state and counters.
struct plugin_status {
    std::string id;
    std::string version;
    std::string backend;  // the name of the backend its sandbox is of
    plugin_state state = plugin_state::registered;
    std::uint64_t calls = 0;
    std::uint64_t failures = 0;
    std::uint64_t consecutive_failures = 0;
    std::uint64_t violations = 0;
    std::optional<error> last_error{};
};

namespace detail {

/// A list of callbacks that may be added to from any thread. Notification copies the list
/// first, so a callback may add observers or call back into the manager without deadlock.
template <class... Args> class observer_list {
public:
    using callback = std::function<void(Args...)>;

    void add(callback f) {
        std::lock_guard lock(mutex_);
        callbacks_.push_back(std::make_shared<callback>(std::move(f)));
    }
    void notify(const Args&... args) const {
        std::vector<std::shared_ptr<callback>> copy;
        {
            std::lock_guard lock(mutex_);
            copy = callbacks_;
        }
        for (const auto& f : copy) (*f)(args...);
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<callback>> callbacks_;
};

/// Keeps the newest `capacity` items: a host that never reads its logs still uses bounded memory.
template <class T> class bounded_log {
public:
    explicit bounded_log(std::size_t capacity) : capacity_{capacity} {}

    void push(T item) {
        std::lock_guard lock(mutex_);
        if (capacity_ == 0) return;
        if (items_.size() == capacity_) items_.pop_front();
        items_.push_back(std::move(item));
    }
    [[nodiscard]] std::vector<T> snapshot() const {
        std::lock_guard lock(mutex_);
        return {items_.begin(), items_.end()};
    }
    void clear() {
        std::lock_guard lock(mutex_);
        items_.clear();
    }

private:
    mutable std::mutex mutex_;
    std::size_t capacity_;
    std::deque<T> items_;
};

} // namespace detail
} // namespace cordon::plugin
