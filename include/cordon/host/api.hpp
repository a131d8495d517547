// The built-in host API, written once: log, clock, random, env, config, system info. Each function
// names the permission it needs and checks the runtime grant; backends only marshal arguments.
#pragma once

#include <cordon/host/context.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <cerrno>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cordon::host::api {

/// The guest-visible name of each built-in function and the permission it needs ("" for none).
struct builtin {
    std::string_view name;
    std::string_view permission;
};
inline constexpr builtin builtins[] = {
    {"log", ""},           {"write", ""},       {"clock_ns", "clock"}, {"random", "random"},
    {"env_get", "env"},    {"config_get", ""},  {"system_info", "system"},
};

/// The permission a built-in needs, or nothing when there is no built-in of that name.
constexpr std::optional<std::string_view> permission_of(std::string_view name) noexcept {
    for (const auto& b : builtins)
        if (b.name == name) return b.permission;
    return std::nullopt;
}

inline result<void> log(context& ctx, log_level level, std::string_view message) {
    ctx.count_host_call("log");
    return ctx.log(level, message);
}

inline result<void> write(context& ctx, stream s, std::string_view bytes) {
    ctx.count_host_call("write");
    return ctx.write(s, bytes);
}

enum class clock_id : std::uint8_t { realtime = 0, monotonic = 1 };

/// Nanoseconds on the wall clock (since the epoch) or the monotonic clock. Needs perm::clock.
inline result<std::uint64_t> clock_ns(context& ctx, clock_id which) {
    ctx.count_host_call("clock_ns");
    if (auto r = ctx.require("clock", "clock_ns"); !r) return r.error();
    auto since = [](auto now) {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
    };
    return which == clock_id::realtime ? since(std::chrono::system_clock::now()) : since(std::chrono::steady_clock::now());
}

/// Fills a buffer with cryptographically secure random bytes. Needs perm::random.
inline result<void> random(context& ctx, std::span<std::byte> out) {
    ctx.count_host_call("random");
    if (auto r = ctx.require("random", "random"); !r) return r;
    std::size_t done = 0;
    while (done < out.size()) {
        const auto n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(error_kind::internal, "getrandom failed");
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

/// A variable from the environment the host chose to pass (never the host's own). Needs perm::env.
inline result<std::optional<std::string>> env_get(context& ctx, std::string_view name) {
    ctx.count_host_call("env_get");
    if (auto r = ctx.require("env", "env_get"); !r) return r.error();
    auto it = ctx.environment.find(name);
    if (it == ctx.environment.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
}

/// A configuration value the host set for this sandbox. Needs no permission.
inline result<std::optional<std::string>> config_get(context& ctx, std::string_view key) {
    ctx.count_host_call("config_get");
    auto it = ctx.config.find(key);
    if (it == ctx.config.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
}

struct system_info {
    std::uint32_t cpus = 0;
    std::uint64_t memory_bytes = 0;
    std::string os;  // "Linux 6.1.0"
};

/// Host information. Needs perm::system.
inline result<system_info> system(context& ctx) {
    ctx.count_host_call("system_info");
    if (auto r = ctx.require("system", "system_info"); !r) return r.error();
    system_info out;
    out.cpus = static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
    struct sysinfo si {};
    if (::sysinfo(&si) == 0) out.memory_bytes = static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
    struct utsname u {};
    if (::uname(&u) == 0) out.os = std::string(u.sysname) + " " + u.release;
    return out;
}

} // namespace cordon::host::api
