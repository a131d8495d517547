// The built-in host API, written once: log, clock, random, env, config, system info. Each function
// names the permission it needs and checks the runtime grant; backends only marshal arguments.
#pragma once

#include <cordon/host/context.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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

// ---- the work itself ---------------------------------------------------------------------------
// The checked functions below count the call and check the grant, then do this. A backend whose
// own call path already counts and checks (the wasm linker does, per import) calls these.

/// Fills a buffer with cryptographically secure random bytes (getrandom, retried on EINTR and
/// on short reads, which the kernel gives for large buffers).
inline result<void> fill_random(std::span<std::byte> out) {
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

enum class clock_id : std::uint8_t { realtime = 0, monotonic = 1 };

/// Nanoseconds on the wall clock (since the epoch) or the monotonic clock.
inline std::uint64_t now_ns(clock_id which) noexcept {
    auto since = [](auto now) {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
    };
    return which == clock_id::realtime ? since(std::chrono::system_clock::now()) : since(std::chrono::steady_clock::now());
}

/// The host's configuration value for `key`, if it set one.
inline std::optional<std::string_view> find_config(const std::map<std::string, std::string, std::less<>>& config,
                                                   std::string_view key) {
    auto it = config.find(key);
    if (it == config.end()) return std::nullopt;
    return std::string_view{it->second};
}

/// A log level as guests number it (CORDON_LOG_TRACE = 0 ... CORDON_LOG_ERROR = 4 in
/// cordon/guest/cordon.h); trace is kept as debug, numbers out of range are clamped.
constexpr log_level guest_log_level(std::int32_t level) noexcept {
    constexpr log_level levels[] = {log_level::debug, log_level::debug, log_level::info, log_level::warn, log_level::error};
    return levels[level < 0 ? 0 : level > 4 ? 4 : level];
}

// ---- the checked functions --------------------------------------------------------------------

inline result<void> log(context& ctx, log_level level, std::string_view message) {
    ctx.count_host_call("log");
    return ctx.log(level, message);
}

inline result<void> write(context& ctx, stream s, std::string_view bytes) {
    ctx.count_host_call("write");
    return ctx.write(s, bytes);
}

/// Nanoseconds on the wall clock (since the epoch) or the monotonic clock. Needs perm::clock.
inline result<std::uint64_t> clock_ns(context& ctx, clock_id which) {
    ctx.count_host_call("clock_ns");
    if (auto r = ctx.require(perm::id::clock, "clock_ns"); !r) return r.error();
    return now_ns(which);
}

/// Fills a buffer with cryptographically secure random bytes. Needs perm::random.
inline result<void> random(context& ctx, std::span<std::byte> out) {
    ctx.count_host_call("random");
    if (auto r = ctx.require(perm::id::random, "random"); !r) return r;
    return fill_random(out);
}

/// A variable from the environment the host chose to pass (never the host's own). Needs perm::env.
inline result<std::optional<std::string>> env_get(context& ctx, std::string_view name) {
    ctx.count_host_call("env_get");
    if (auto r = ctx.require(perm::id::env, "env_get"); !r) return r.error();
    auto it = ctx.environment.find(name);
    if (it == ctx.environment.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
}

/// A configuration value the host set for this sandbox. Needs no permission.
inline result<std::optional<std::string>> config_get(context& ctx, std::string_view key) {
    ctx.count_host_call("config_get");
    if (auto value = find_config(ctx.config, key)) return std::optional<std::string>{std::string(*value)};
    return std::optional<std::string>{};
}

struct system_info {
    std::uint32_t cpus = 0;
    std::uint64_t memory_bytes = 0;
    std::string os;  // "Linux 6.1.0"
};

/// Host information. Needs perm::system.
inline result<system_info> system(context& ctx) {
    ctx.count_host_call("system_info");
    if (auto r = ctx.require(perm::id::system, "system_info"); !r) return r.error();
    system_info out;
    out.cpus = static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
    struct sysinfo si {};
    if (::sysinfo(&si) == 0) out.memory_bytes = static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
    struct utsname u {};
    if (::uname(&u) == 0) out.os = std::string(u.sysname) + " " + u.release;
    return out;
}

} // namespace cordon::host::api
