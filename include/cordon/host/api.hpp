// The host API, written once: the table of functions every backend offers a guest (name,
// permission, who answers it), the kinds their parameters come in, and the work of those the host
// answers. wasm/host_api.hpp makes the `cordon` imports from the table, process/broker.hpp the
// host's answers to a child, process/guest_table.hpp the child's side of cordon.h; the none
// backend's guest calls the checked functions at the end of this file.
#pragma once

#include <cordon/host/bus.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/host/guest_status.hpp>
#include <cordon/host/policy_view.hpp>
#include <cordon/policy/permission.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cordon::host::api {

// ---- the kinds of parameter ---------------------------------------------------------------------
// Each backend knows how each kind crosses its boundary (a wasm guest's pointer and length, a
// field of a channel message); a function's parameters are these, so marshalling is written once
// per kind and backend, not once per function.

/// Longest text (a key, a target, a topic, a path) a guest may pass; a longer one is answered
/// guest_status::invalid on every backend.
inline constexpr std::size_t max_text = 4096;

/// A guest string of at most max_text bytes, copied into the host before the function sees it.
struct text {
    std::string_view value;
};

/// Guest bytes, not copied: a view of the guest's memory (wasm) or of the message (process),
/// valid until guest code runs again. A function that may run guest code (the bus) copies first.
struct bytes {
    std::span<const std::byte> value;
    [[nodiscard]] std::string_view as_text() const noexcept {
        return {reinterpret_cast<const char*>(value.data()), value.size()};
    }
};

/// Room the guest gave for an answer: its capacity, and where the bytes go, found only when the
/// answer is written (after a bus call the guest's memory may have moved).
class out_buffer {
public:
    /// Room for `n` bytes (n <= capacity) at the start of the guest's buffer, bounds checked.
    using locate = result<std::span<std::byte>> (*)(void* where, std::size_t n);

    out_buffer(std::size_t capacity, void* where, locate room) noexcept
        : capacity_{capacity}, where_{where}, room_{room} {}

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// How many bytes the answer wrote.
    [[nodiscard]] std::size_t written() const noexcept { return written_; }

    /// The first `n` bytes of the buffer, to be filled; counts them as written.
    result<std::span<std::byte>> room(std::size_t n) {
        n = std::min(n, capacity_);
        auto span = room_(where_, n);
        if (span) written_ = n;
        return span;
    }
    /// Writes all of `answer` if it fits, else nothing: false when it does not fit.
    result<bool> put(std::span<const std::byte> answer) {
        if (answer.size() > capacity_) return false;
        if (auto copied = put_prefix(answer); !copied) return copied.error();
        return true;
    }
    /// Writes as much of `answer` as fits; how much.
    result<std::size_t> put_prefix(std::span<const std::byte> answer) {
        auto span = room(answer.size());
        if (!span) return span.error();
        if (!span->empty()) std::copy_n(answer.data(), span->size(), span->data());
        return span->size();
    }

private:
    std::size_t capacity_;
    void* where_;
    locate room_;
    std::size_t written_ = 0;
};

/// An out_buffer over host memory the caller owns.
inline out_buffer over(std::span<std::byte> memory) noexcept {
    static constexpr out_buffer::locate at = [](void* where, std::size_t n) -> result<std::span<std::byte>> {
        return std::span<std::byte>{static_cast<std::byte*>(where), n};
    };
    return out_buffer{memory.size(), memory.data(), at};
}

/// An out_buffer that grows a vector to the answer's size (at most `capacity`): what the host
/// sends back to a child.
inline out_buffer growing(std::vector<std::byte>& into, std::size_t capacity) noexcept {
    static constexpr out_buffer::locate at = [](void* where, std::size_t n) -> result<std::span<std::byte>> {
        auto& v = *static_cast<std::vector<std::byte>*>(where);
        v.resize(n);
        return std::span<std::byte>{v};
    };
    return out_buffer{capacity, &into, at};
}

// ---- the table ------------------------------------------------------------------------------------

/// Every function of the host API, numbered as the process channel numbers its host calls.
enum class fn : std::uint32_t {
    log = 1, clock_now, random_fill, fs_open, fs_read, fs_write, fs_close, config_get,
    input_size, input_read, output_write, bus_call, bus_emit, call_host,
    write, env_get, system_info,
};

/// Who answers a function.
enum class server : std::uint8_t {
    host,        // the host, with the sandbox's policy (over the channel for a process guest)
    call,        // whoever holds the call's input and output: the wasm host, or the child itself
    files,       // a wasm sandbox's handle table; a process guest opens files itself, confined
                 // by the kernel, and is answered unsupported
    registered,  // the host functions the embedding program registered (a wasm guest imports
                 // each as its own function; a native plugin calls them by name through call_host)
    in_process,  // only a guest that is C++ code in the host (the none backend); a wasm guest
                 // reaches these through WASI (fd_write, environ_get) and a process guest through
                 // its own confined system calls, so neither imports nor brokers them
};

struct entry {
    fn id;
    /// Its name: the import's in wasm module "cordon", cordon_<name> in cordon/guest/cordon.h,
    /// and what telemetry counts it as.
    std::string_view name;
    /// What it needs granted (nothing for most). fs_open needs fs.read, and fs.write to write.
    std::optional<perm::id> permission;
    server served_by;
};

inline constexpr entry functions[] = {
    {fn::log, "log", std::nullopt, server::host},
    {fn::clock_now, "clock_now", perm::id::clock, server::host},
    {fn::random_fill, "random_fill", perm::id::random, server::host},
    {fn::fs_open, "fs_open", perm::id::fs_read, server::files},
    {fn::fs_read, "fs_read", perm::id::fs_read, server::files},
    {fn::fs_write, "fs_write", perm::id::fs_write, server::files},
    {fn::fs_close, "fs_close", std::nullopt, server::files},
    {fn::config_get, "config_get", std::nullopt, server::host},
    {fn::input_size, "input_size", std::nullopt, server::call},
    {fn::input_read, "input_read", std::nullopt, server::call},
    {fn::output_write, "output_write", std::nullopt, server::call},
    {fn::bus_call, "bus_call", perm::id::plugin, server::host},
    {fn::bus_emit, "bus_emit", perm::id::plugin, server::host},
    {fn::call_host, "call_host", std::nullopt, server::registered},  // each function names its own
    {fn::write, "write", std::nullopt, server::in_process},
    {fn::env_get, "env_get", perm::id::env, server::in_process},
    {fn::system_info, "system_info", perm::id::system, server::in_process},
};

constexpr bool numbered_in_order() {
    for (std::size_t i = 0; i < std::size(functions); ++i)
        if (static_cast<std::size_t>(functions[i].id) != i + 1) return false;
    return true;
}
static_assert(numbered_in_order(), "functions[] lists every fn in its order, from 1");

constexpr const entry& entry_of(fn f) noexcept { return functions[static_cast<std::size_t>(f) - 1]; }

/// The function a channel message names, if it names one.
constexpr const entry* find(std::uint32_t number) noexcept {
    if (number < 1 || number > std::size(functions)) return nullptr;
    return &functions[number - 1];
}

/// Whether a wasm guest imports the function from module "cordon" (a registered function is an
/// import of its own module; an in-process one is reached through WASI or not at all).
constexpr bool imported_by_wasm(const entry& e) noexcept {
    return e.served_by != server::registered && e.served_by != server::in_process;
}

/// The permission's name, for messages and for the linker ("" for none).
constexpr std::string_view permission_name(const entry& e) noexcept {
    return e.permission ? perm::builtin_name(*e.permission) : std::string_view{};
}

/// The violation of a call without its grant, recorded in the sandbox ("clock: cordon.clock_now
/// called without the grant"): the wording of every backend, for these and registered functions.
inline error refused(const policy_view& policy, perm::id permission, std::string_view qualified_name) {
    return policy.violation(permission, std::string(qualified_name) + " called without the grant");
}
inline error refused(const policy_view& policy, std::string_view permission, std::string_view qualified_name) {
    return policy.violation(permission, std::string(qualified_name) + " called without the grant");
}

/// Checks the grant of a host function the embedding program registered, on every backend
/// that answers such calls itself (none, the process broker; the wasm linker numbers its own).
inline result<void> check_registered(context& ctx, const function_entry& f, std::string_view qualified_name) {
    if (f.permission.empty()) return {};
    // An entry the sandbox has not numbered (a broker driven directly) is numbered here.
    const auto id = f.permission_id ? f.permission_id : ctx.policy().intern(f.permission);
    if (id && ctx.policy().granted(*id)) return {};
    const policy_view policy{ctx};
    return id ? refused(policy, *id, qualified_name) : refused(policy, std::string_view{f.permission}, qualified_name);
}

// ---- the work itself ------------------------------------------------------------------------------

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

/// A length as a guest's i32 status: lengths past what a status holds are cut to its largest.
constexpr std::int32_t length_status(std::size_t n) noexcept {
    return static_cast<std::int32_t>(std::min<std::size_t>(n, 0x7fff'ffff));
}

/// The functions the host answers, as every backend calls them once it has counted the call,
/// checked the grant and taken the parameters across its boundary. An error stops the guest;
/// what the guest can handle is a status.
namespace work {

/// To the sandbox's log (its sink, and the output cap: past it, the error stops the guest).
inline result<void> log(const policy_view& policy, std::int32_t level, bytes message) {
    return policy.log(guest_log_level(level), message.as_text());
}

/// Nanoseconds; clock 1 is the monotonic clock, anything else the wall clock.
inline result<std::int64_t> clock_now(const policy_view&, std::int32_t clock) {
    return static_cast<std::int64_t>(now_ns(clock == 1 ? clock_id::monotonic : clock_id::realtime));
}

/// Fills the whole buffer.
inline result<std::int32_t> random_fill(const policy_view&, out_buffer& out) {
    auto room = out.room(out.capacity());
    if (!room) return room.error();
    if (auto filled = fill_random(*room); !filled) return filled.error();
    return guest_status::ok;
}

/// The value's length; its bytes only when they fit (a length above the capacity means "too
/// small, nothing written").
inline result<std::int32_t> config_get(const policy_view& policy, text key, out_buffer& out) {
    const auto value = find_config(policy.config(), key.value);
    if (!value) return guest_status::not_found;
    if (auto put = out.put(std::as_bytes(std::span{value->data(), value->size()})); !put) return put.error();
    return length_status(value->size());
}

/// A bus refusal: one the bus calls a violation (the target's or the caller's manifest forbids
/// it) is recorded as the caller's, like any refused host call; the rest are only answers.
inline error bus_refusal(const policy_view& policy, const error& e) {
    if (e.kind() != error_kind::violation) return e;
    return policy.violation(perm::id::plugin, e.message());
}

/// The target's answer's length, its bytes when they fit, as config_get.
inline result<std::int32_t> bus_call(const policy_view& policy, text target, bytes input, out_buffer& out) {
    const std::vector<std::byte> copy(input.value.begin(), input.value.end());  // the target may re-enter the guest
    auto answer = api::bus_call(policy.bus(), target.value, copy);
    if (!answer) return bus_status(bus_refusal(policy, answer.error()));
    if (auto put = out.put(*answer); !put) return put.error();
    return length_status(answer->size());
}

inline result<std::int32_t> bus_emit(const policy_view& policy, text topic, bytes data) {
    const std::vector<std::byte> copy(data.value.begin(), data.value.end());
    auto sent = api::bus_emit(policy.bus(), topic.value, copy);
    return sent ? guest_status::ok : bus_status(bus_refusal(policy, sent.error()));
}

} // namespace work

/// The work of each function the host answers, by its number: what the backends' generated
/// adapters call.
template <fn F> struct host_work;
template <> struct host_work<fn::log> { static constexpr auto run = &work::log; };
template <> struct host_work<fn::clock_now> { static constexpr auto run = &work::clock_now; };
template <> struct host_work<fn::random_fill> { static constexpr auto run = &work::random_fill; };
template <> struct host_work<fn::config_get> { static constexpr auto run = &work::config_get; };
template <> struct host_work<fn::bus_call> { static constexpr auto run = &work::bus_call; };
template <> struct host_work<fn::bus_emit> { static constexpr auto run = &work::bus_emit; };

// ---- the checked functions, for a guest that is C++ code (the none backend) ----------------------
// Counted and checked by the table's entry, then the same work. The in-process rows (write,
// env_get, system_info) are this guest's alone.

/// Counts a call of `f` and checks its grant.
inline result<void> admit_call(context& ctx, fn f) {
    const entry& e = entry_of(f);
    ctx.count_host_call(e.name);
    if (!e.permission || ctx.policy().granted(*e.permission)) return {};
    return refused(policy_view{ctx}, *e.permission, "cordon." + std::string(e.name));
}

inline result<void> log(context& ctx, log_level level, std::string_view message) {
    if (auto r = admit_call(ctx, fn::log); !r) return r;
    return ctx.log(level, message);
}

inline result<void> write(context& ctx, stream s, std::string_view bytes) {
    if (auto r = admit_call(ctx, fn::write); !r) return r;
    return ctx.write(s, bytes);
}

/// Nanoseconds on the wall clock (since the epoch) or the monotonic clock. Needs perm::clock.
inline result<std::uint64_t> clock_ns(context& ctx, clock_id which) {
    if (auto r = admit_call(ctx, fn::clock_now); !r) return r.error();
    return now_ns(which);
}

/// Fills a buffer with cryptographically secure random bytes. Needs perm::random.
inline result<void> random(context& ctx, std::span<std::byte> out) {
    if (auto r = admit_call(ctx, fn::random_fill); !r) return r;
    return fill_random(out);
}

/// A variable from the environment the host chose to pass (never the host's own). Needs perm::env.
inline result<std::optional<std::string>> env_get(context& ctx, std::string_view name) {
    if (auto r = admit_call(ctx, fn::env_get); !r) return r.error();
    auto it = ctx.environment.find(name);
    if (it == ctx.environment.end()) return std::optional<std::string>{};
    return std::optional<std::string>{it->second};
}

/// Calls a function of another plugin through the bus attached to the sandbox: `target` is
/// "PLUGIN/FUNCTION" (see host::bus). Needs perm::plugin.
inline result<std::vector<std::byte>> bus_call(context& ctx, std::string_view target, std::span<const std::byte> input) {
    if (auto r = admit_call(ctx, fn::bus_call); !r) return r.error();
    auto answer = bus_call(ctx.bus, target, input);
    if (!answer) return work::bus_refusal(policy_view{ctx}, answer.error());
    return answer;
}

/// Publishes an event on the bus attached to the sandbox. Needs perm::plugin.
inline result<void> bus_emit(context& ctx, std::string_view topic, std::span<const std::byte> data) {
    if (auto r = admit_call(ctx, fn::bus_emit); !r) return r;
    auto sent = bus_emit(ctx.bus, topic, data);
    if (!sent) return work::bus_refusal(policy_view{ctx}, sent.error());
    return {};
}

/// A configuration value the host set for this sandbox. Needs no permission; a key past
/// max_text is invalid, as for every guest.
inline result<std::optional<std::string>> config_get(context& ctx, std::string_view key) {
    if (auto r = admit_call(ctx, fn::config_get); !r) return r.error();
    if (key.size() > max_text)
        return fail(error_kind::invalid_argument, "a key of " + std::to_string(key.size()) + " bytes is longer than " +
                                                      std::to_string(max_text));
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
    if (auto r = admit_call(ctx, fn::system_info); !r) return r.error();
    system_info out;
    out.cpus = static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
    struct sysinfo si {};
    if (::sysinfo(&si) == 0) out.memory_bytes = static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
    struct utsname u {};
    if (::uname(&u) == 0) out.os = std::string(u.sysname) + " " + u.release;
    return out;
}

} // namespace cordon::host::api
