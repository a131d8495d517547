// How a sandboxed child's end becomes a status: its exit record, what the supervisor stopped
// it for, what it reported (violation, set-up error), turned into cordon errors and telemetry.
#pragma once

#include <cordon/errors.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/limits.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/process/seccomp.hpp>
#include <cordon/result.hpp>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace cordon::process {

/// What one sandbox used, cumulatively over its children.
struct telemetry {
    std::uint64_t wall_ns = 0;            // spent waiting on calls or runs
    std::uint64_t cpu_user_us = 0;        // of children that have exited
    std::uint64_t cpu_system_us = 0;
    std::uint64_t cpu_ns = 0;             // the cgroup's total where there is one
    std::uint64_t peak_memory_bytes = 0;
    std::uint64_t calls = 0;
    std::uint64_t children_started = 0;
    std::uint64_t children_replaced = 0;  // started because the previous one died
    std::uint64_t violations = 0;
};

/// Why the supervisor itself stopped a child, if it did.
enum class stop_reason : std::uint8_t { none, cpu_time, wall_time, output };

/// What the child said on its control socket before it ended.
struct child_reports {
    std::optional<violation_record> violation{};
    std::optional<error> setup_error{};
    std::optional<int> payload_wait_status{};  // from the init of a pid namespace
};

namespace detail {

inline std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

} // namespace detail

/// Folds an exit record into telemetry.
inline void account(telemetry& t, const exit_record& record) {
    t.cpu_user_us += static_cast<std::uint64_t>(record.user_us);
    t.cpu_system_us += static_cast<std::uint64_t>(record.system_us);
    t.cpu_ns += record.usage.cpu_ns;
    const auto peak = record.usage.peak_memory_bytes != 0 ? record.usage.peak_memory_bytes
                                                          : static_cast<std::uint64_t>(record.max_rss_kib) * 1024;
    t.peak_memory_bytes = std::max(t.peak_memory_bytes, peak);
}

/// The error for a child that ended, or nullopt when it simply exited (an executable's normal
/// end, whatever its exit code). `expected_to_live` marks persistent children, for which any
/// exit is a crash.
inline std::optional<error> classify_end(const exit_record& record, stop_reason stopped, const child_reports& reports,
                                         const resource_limits& limits, bool expected_to_live,
                                         std::uint64_t cpu_used_ns = 0, std::uint64_t wall_used_ns = 0) {
    if (reports.setup_error) return *reports.setup_error;
    if (reports.violation) {
        const auto& v = *reports.violation;
        error_info info{"seccomp denied system call " + describe_violation(v)};
        const auto name = syscall_name(v.number);
        info.syscall = v.arch == AUDIT_ARCH_X86_64 && !name.empty() ? std::string(name) : describe_violation(v);
        info.syscall_number = v.number;
        return error{error_kind::violation, std::move(info)};
    }
    const int status = reports.payload_wait_status.value_or(record.wait_status);
    const bool abnormal = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0) || expected_to_live ||
                          stopped != stop_reason::none;
    // A fork bomb that hit pids.max usually spins on until a time limit stops it: the process
    // limit is the cause worth reporting.
    if (abnormal && record.usage.process_limit_hit)
        return limit_exceeded(limit::kind::processes, limits.processes, std::nullopt);
    // A child at its memory limit spends its CPU in reclaim and page faults until the OOM
    // killer picks it, and the CPU check can come first (a soak saw 2 of 426 memory bombs end
    // as cpu_limit). The group's evidence of a failed charge names the cause.
    const bool memory_failed = abnormal && record.usage.memory_limit_hit;
    const auto memory_error = [&] {
        return limit_exceeded(limit::kind::memory, limits.memory_bytes, record.usage.peak_memory_bytes);
    };
    if (memory_failed && stopped == stop_reason::cpu_time) return memory_error();
    switch (stopped) {
    case stop_reason::cpu_time:
        return limit_exceeded(limit::kind::cpu_time_ms, limits.cpu_time_ms, cpu_used_ns / 1000000);
    case stop_reason::wall_time:
        return limit_exceeded(limit::kind::wall_time_ms, limits.wall_time_ms, wall_used_ns / 1000000);
    case stop_reason::output:
        return limit_exceeded(limit::kind::output_bytes, limits.output_bytes, std::nullopt);
    case stop_reason::none: break;
    }
    if (memory_failed) return memory_error();
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        if (sig == SIGXCPU)
            return limit_exceeded(limit::kind::cpu_time_ms, limits.cpu_time_ms, std::nullopt, "(RLIMIT_CPU backstop)");
        if (sig == SIGXFSZ)
            return limit_exceeded(error_kind::file_limit, "file_size", "bytes", limits.file_size_bytes, std::nullopt);
        if (sig == SIGSYS) {
            error_info info{"killed by SIGSYS: a denied system call whose number was not reported"};
            info.signal = sig;
            return error{error_kind::violation, std::move(info)};
        }
        error_info info{"the sandboxed process died of " + detail::signal_name(sig)};
        info.signal = sig;
        return error{error_kind::crash, std::move(info)};
    }
    if (expected_to_live)
        return error{error_kind::crash, "the sandboxed process exited with code " +
                                            std::to_string(WEXITSTATUS(status)) + " in the middle of its work"};
    return std::nullopt;
}

/// Interprets one control message from a child into `reports`. Returns true for "ready".
/// Descriptors that came with it (the seccomp listener) are handed to `on_listener`.
template <class OnListener>
bool read_control_message(received_message& message, child_reports& reports, OnListener&& on_listener) {
    using namespace detail::protocol;
    if (message.bytes.size() == sizeof(violation_record)) {
        violation_record record;
        std::memcpy(&record, message.bytes.data(), sizeof record);
        if (record.magic == violation_record::expected_magic) {
            reports.violation = record;
            return false;
        }
    }
    wire_reader reader{message.bytes};
    const auto tag = reader.get<std::uint32_t>();
    const auto kind = reader.get<error_kind>();
    auto text = reader.get_string();
    if (!tag || !kind || !text) return false;
    if (*tag == tag_ready) return true;
    if (*tag == tag_error) {
        // Set-up errors come from the child before it runs guest code, but it is still a child:
        // only the kinds set-up can produce are believed, and the message is capped.
        const bool plausible = *kind == error_kind::load_error || *kind == error_kind::unsupported ||
                               *kind == error_kind::invalid_argument;
        if (text->size() > 4096) text->resize(4096);
        reports.setup_error = error{plausible ? *kind : error_kind::internal, std::move(*text)};
    }
    if (*tag == tag_listener && !message.fds.empty()) on_listener(std::move(message.fds.front()));
    if (*tag == tag_exit) {
        // Sent by the namespace's init, which runs no guest code; the payload holds the same
        // socket, but a forged status can only misreport the payload's own end.
        int status = 0;
        const auto* end = text->data() + text->size();
        if (std::from_chars(text->data(), end, status).ptr == end) reports.payload_wait_status = status;
    }
    return false;
}

} // namespace cordon::process
