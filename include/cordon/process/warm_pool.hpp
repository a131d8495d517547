// An optional pool of warm children: confined, serving children started ahead of time, so that
// a new persistent sandbox (or the replacement of a crashed one) takes one instead of waiting.
#pragma once

#include <cordon/process/confinement.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/result.hpp>

#include <unistd.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace cordon::process {

/// Children warm for each set-up asked for: a child is only ever handed out for exactly the
/// confinement and payload it was started with (compared byte for byte as the zygote would
/// receive them), and only once, so nothing passes between sandboxes through the pool.
///
///   auto pool = process::warm_pool::enable(2);      // two warm children per set-up
///   pool->prepare(setup, payload);                   // optional: warm them now
///
/// Sandboxes of the process backend then take their children from it; a set-up first seen
/// when a sandbox starts cold is warmed for the next one.
class warm_pool {
public:
    enum class refill : std::uint8_t {
        in_background,  // a thread of the pool replaces every child taken
        on_request,     // only prepare() starts children
    };

    warm_pool(std::size_t per_setup, refill mode) : per_setup_{per_setup}, mode_{mode} {
        // The refill thread makes the host multithreaded: the zygote must exist before it.
        if (mode_ == refill::in_background) {
            (void)zygote::get();
            worker_ = std::thread([this] { run(); });
        }
    }
    warm_pool(const warm_pool&) = delete;
    warm_pool& operator=(const warm_pool&) = delete;
    ~warm_pool() {
        {
            std::lock_guard lock{mutex_};
            stopping_ = true;
        }
        wake_.notify_all();
        if (worker_.joinable()) worker_.join();
    }

    /// Makes a pool the one the process backend takes children from (nullptr: none).
    static std::shared_ptr<warm_pool> enable(std::size_t per_setup, refill mode = refill::in_background) {
        auto pool = per_setup == 0 ? nullptr : std::make_shared<warm_pool>(per_setup, mode);
        std::lock_guard lock{global_mutex()};
        global() = pool;
        return pool;
    }
    static void disable() { enable(0); }
    /// The pool in use, if any (never one inherited from the process this one forked from).
    static std::shared_ptr<warm_pool> current() {
        std::lock_guard lock{global_mutex()};
        if (global() && global()->owner_ != ::getpid()) global().reset();
        return global();
    }

    /// Starts children until `per_setup` are warm for this set-up.
    result<void> prepare(const confinement& setup, const payload_spec& payload) {
        const auto key = key_of(setup, payload);
        for (;;) {
            {
                std::lock_guard lock{mutex_};
                auto& shelf = shelves_[key];
                if (!shelf.setup) shelf.setup = std::make_unique<wanted>(wanted{setup, payload});
                drop_dead(shelf);
                if (shelf.children.size() >= per_setup_) return {};
            }
            auto child = persistent_child::start(setup, payload);
            if (!child) return child.error();
            std::lock_guard lock{mutex_};
            shelves_[key].children.push_back(std::move(*child));
        }
    }

    /// A warm child for exactly this set-up, or nothing. The set-up is remembered: with
    /// background refill it is (re)warmed for the next sandbox.
    std::optional<persistent_child> take(const confinement& setup, const payload_spec& payload) {
        if (owner_ != ::getpid()) return std::nullopt;
        const auto key = key_of(setup, payload);
        std::optional<persistent_child> taken;
        {
            std::lock_guard lock{mutex_};
            auto& shelf = shelves_[key];
            if (!shelf.setup) shelf.setup = std::make_unique<wanted>(wanted{setup, payload});
            drop_dead(shelf);
            if (!shelf.children.empty()) {
                taken.emplace(std::move(shelf.children.front()));
                shelf.children.pop_front();
                ++taken_;
            } else {
                ++missed_;
            }
            if (mode_ == refill::in_background) pending_.push_back(key);
        }
        if (mode_ == refill::in_background) wake_.notify_one();
        return taken;
    }

    /// Children warm for this set-up right now.
    [[nodiscard]] std::size_t warm(const confinement& setup, const payload_spec& payload) const {
        std::lock_guard lock{mutex_};
        const auto found = shelves_.find(key_of(setup, payload));
        return found == shelves_.end() ? 0 : found->second.children.size();
    }
    /// Sandboxes served from the pool, and those that found it empty for their set-up.
    [[nodiscard]] std::uint64_t taken() const {
        std::lock_guard lock{mutex_};
        return taken_;
    }
    [[nodiscard]] std::uint64_t missed() const {
        std::lock_guard lock{mutex_};
        return missed_;
    }

private:
    struct wanted {
        confinement setup;
        payload_spec payload;
    };
    struct shelf {
        std::unique_ptr<wanted> setup;
        std::deque<persistent_child> children;
    };

    static std::string key_of(const confinement& setup, const payload_spec& payload) {
        const auto bytes = detail::protocol::encode_spawn(setup, payload);
        return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
    }

    // A child killed while it waited (by the OOM killer, by hand) is not handed out.
    static void drop_dead(shelf& s) {
        std::erase_if(s.children, [](const persistent_child& child) { return child.has_exited(); });
    }

    void run() {
        std::unique_lock lock{mutex_};
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (stopping_) return;
            const auto key = std::move(pending_.front());
            pending_.pop_front();
            const wanted setup = *shelves_[key].setup;
            lock.unlock();
            // A set-up the zygote refuses is simply not warmed: the sandbox that asks for it
            // starts its child itself, and reports the refusal.
            (void)prepare(setup.setup, setup.payload);
            lock.lock();
        }
    }

    static std::mutex& global_mutex() {
        static std::mutex m;
        return m;
    }
    static std::shared_ptr<warm_pool>& global() {
        static std::shared_ptr<warm_pool> pool;
        return pool;
    }

    const std::size_t per_setup_;
    const refill mode_;
    const pid_t owner_ = ::getpid();
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, shelf> shelves_;
    std::deque<std::string> pending_;
    std::uint64_t taken_ = 0;
    std::uint64_t missed_ = 0;
    bool stopping_ = false;
    std::thread worker_;
};

} // namespace cordon::process
