// The messages between host, zygote and child: spawn requests and replies, the child's
// control messages (ready, set-up error, notification listener) and the zygote's exit record.
#pragma once

#include <cordon/process/cgroup.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/confinement_wire.hpp>
#include <cordon/process/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace cordon::process {

// On the wire, 0 is "no error" (a control message that reports none).
template <> struct wire_enum_range<error_kind> {
    static constexpr auto first = error_kind{}, last = error_kind::internal;
};

/// How to start the payload once the child is confined.
struct payload_spec {
    payload_kind kind = payload_kind::function;
    std::string path{};                  // shared object (dlopen) or executable (for messages)
    std::vector<std::string> argv{};     // executable only
    std::vector<std::string> envp{};     // executable only
};

/// What the zygote writes on a child's status pipe once it has reaped it. Fixed size and
/// smaller than PIPE_BUF, so it arrives whole.
struct exit_record {
    int wait_status = 0;
    std::int64_t user_us = 0;
    std::int64_t system_us = 0;
    std::int64_t max_rss_kib = 0;
    cgroup_usage usage{};
};

/// An exit record from its bytes, refused if a flag is neither 0 nor 1.
inline std::optional<exit_record> decode_exit_record(std::span<const std::byte, sizeof(exit_record)> bytes) {
    constexpr std::size_t flags[] = {offsetof(exit_record, usage) + offsetof(cgroup_usage, memory_limit_hit),
                                     offsetof(exit_record, usage) + offsetof(cgroup_usage, process_limit_hit)};
    for (const std::size_t at : flags)
        if (std::to_integer<unsigned>(bytes[at]) > 1) return std::nullopt;
    exit_record record;
    std::memcpy(&record, bytes.data(), sizeof record);
    return record;
}

namespace detail::protocol {

inline constexpr std::size_t max_message_bytes = 256 * 1024;

// Tags of the child's control messages; the SIGSYS record has its own magic.
inline constexpr std::uint32_t tag_ready = 0x21594452;     // "RDY!"
inline constexpr std::uint32_t tag_error = 0x21525245;     // "ERR!"
inline constexpr std::uint32_t tag_listener = 0x214e534c;  // "LSN!"
inline constexpr std::uint32_t tag_exit = 0x21545845;      // "EXT!": the payload's wait status, from its init

// Descriptor positions in a spawn request.
// The last is the channel memfd, or the program for an executable payload.
enum spawn_fd : int { fd_control, fd_stdin, fd_stdout, fd_stderr, fd_payload, fd_count };

inline std::vector<std::byte> encode_spawn(const confinement& c, const payload_spec& payload) {
    wire_writer w;
    w.put_bytes(encode(c));
    w.put(payload.kind);
    w.put_string(payload.path);
    w.put_strings(payload.argv);
    w.put_strings(payload.envp);
    return std::move(w).bytes();
}

struct spawn_message {
    confinement setup;
    payload_spec payload;
};

inline std::optional<spawn_message> decode_spawn(std::span<const std::byte> bytes) {
    wire_reader r{bytes};
    const auto setup_bytes = r.get_bytes();
    if (!setup_bytes) return std::nullopt;
    auto setup = decode_confinement(*setup_bytes);
    spawn_message message;
    message.payload.kind = r.get<payload_kind>().value_or(payload_kind::function);
    message.payload.path = r.get_string().value_or("");
    message.payload.argv = r.get_strings().value_or(std::vector<std::string>{});
    message.payload.envp = r.get_strings().value_or(std::vector<std::string>{});
    if (!setup || !r.ok() || !r.at_end()) return std::nullopt;
    message.setup = std::move(*setup);
    return message;
}

struct spawn_reply {
    bool ok = false;
    std::string error{};
    pid_t pid = -1;
    std::string cpu_accounting{};  // a file with the group's CPU nanoseconds, if any
};

inline std::vector<std::byte> encode_reply(const spawn_reply& reply) {
    wire_writer w;
    w.put(reply.ok);
    w.put_string(reply.error);
    w.put(reply.pid);
    w.put_string(reply.cpu_accounting);
    return std::move(w).bytes();
}

inline std::optional<spawn_reply> decode_reply(std::span<const std::byte> bytes) {
    wire_reader r{bytes};
    spawn_reply reply;
    reply.ok = r.get<bool>().value_or(false);
    reply.error = r.get_string().value_or("");
    reply.pid = r.get<pid_t>().value_or(-1);
    reply.cpu_accounting = r.get_string().value_or("");
    if (!r.ok()) return std::nullopt;
    return reply;
}

// A control message: its tag, an error kind (0 unless an error) and a text.
inline std::vector<std::byte> tagged(std::uint32_t tag, std::string_view text = {}, error_kind kind = {}) {
    wire_writer w;
    w.put(tag);
    w.put(kind);
    w.put_string(text);
    return std::move(w).bytes();
}

} // namespace detail::protocol

} // namespace cordon::process
