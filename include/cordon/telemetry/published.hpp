// A sandbox's telemetry counters as its call thread publishes them and any thread reads them.
// Ending a call takes no lock: the counters sit under a sequence lock (the writer makes the
// sequence odd, stores, makes it even again; a reader retries until it copied them between two
// equal even readings). Host calls by name are maps, which the owner keeps under its own lock.
#pragma once

#include <cordon/telemetry/usage.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>

namespace cordon::detail {

class published_telemetry {
public:
    /// Makes `call` the last call and adds it to the total. One writer at a time: the sandbox's
    /// calls are serialised, and this is their end.
    void publish(const usage& call) noexcept {
        const std::uint64_t s = sequence_.load(std::memory_order_relaxed);
        sequence_.store(s + 1, std::memory_order_relaxed);
        // Release stores: a reader that sees any of them also sees the odd sequence before them.
        for (std::size_t i = 0; i < count; ++i) {
            const usage_counter& c = usage_counters[i];
            last_[i].store(call.*c.member, std::memory_order_release);
            total_[i].store(c.combine(total_[i].load(std::memory_order_relaxed), call.*c.member),
                            std::memory_order_release);
        }
        sequence_.store(s + 2, std::memory_order_release);
    }
    void add_restart() noexcept { restarts_.fetch_add(1, std::memory_order_relaxed); }

    /// A consistent copy of the counters (the maps by name are left empty).
    [[nodiscard]] telemetry read() const {
        std::array<std::uint64_t, count> last{}, total{};
        for (;;) {
            const std::uint64_t s = sequence_.load(std::memory_order_acquire);
            if (s & 1) {
                std::this_thread::yield();
                continue;
            }
            // Acquire loads keep the second reading of the sequence after them.
            for (std::size_t i = 0; i < count; ++i) {
                last[i] = last_[i].load(std::memory_order_acquire);
                total[i] = total_[i].load(std::memory_order_acquire);
            }
            if (sequence_.load(std::memory_order_relaxed) == s) break;
        }
        telemetry t;
        for (std::size_t i = 0; i < count; ++i) {
            t.last_call.*usage_counters[i].member = last[i];
            t.total.*usage_counters[i].member = total[i];
        }
        t.restarts = restarts_.load(std::memory_order_relaxed);
        return t;
    }

private:
    static constexpr std::size_t count = usage_counters.size();

    std::atomic<std::uint64_t> sequence_{0};
    std::array<std::atomic<std::uint64_t>, count> last_{}, total_{};
    std::atomic<std::uint64_t> restarts_{0};
};

} // namespace cordon::detail
