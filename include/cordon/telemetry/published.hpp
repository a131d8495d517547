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
        const auto values = scalars(call);
        for (std::size_t i = 0; i < count; ++i) {
            last_[i].store(values[i], std::memory_order_release);
            const std::uint64_t before = total_[i].load(std::memory_order_relaxed);
            total_[i].store(i == peak ? (before > values[i] ? before : values[i]) : before + values[i],
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
        t.last_call = from_scalars(last);
        t.total = from_scalars(total);
        t.restarts = restarts_.load(std::memory_order_relaxed);
        return t;
    }

private:
    static constexpr std::size_t count = 8;
    static constexpr std::size_t peak = 4;  // the index of peak_memory_bytes: a maximum, not a sum

    static std::array<std::uint64_t, count> scalars(const usage& u) noexcept {
        return {u.calls, u.wall_ns, u.cpu_ns, u.fuel, u.peak_memory_bytes, u.host_calls, u.violations, u.errors};
    }
    static usage from_scalars(const std::array<std::uint64_t, count>& v) {
        usage u;
        u.calls = v[0];
        u.wall_ns = v[1];
        u.cpu_ns = v[2];
        u.fuel = v[3];
        u.peak_memory_bytes = v[peak];
        u.host_calls = v[5];
        u.violations = v[6];
        u.errors = v[7];
        return u;
    }

    std::atomic<std::uint64_t> sequence_{0};
    std::array<std::atomic<std::uint64_t>, count> last_{}, total_{};
    std::atomic<std::uint64_t> restarts_{0};
};

} // namespace cordon::detail
