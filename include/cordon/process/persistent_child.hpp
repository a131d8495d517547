// A persistent sandboxed child on the host's side: started from the zygote, it serves many
// calls over the shared-memory channel under wall and CPU supervision until it dies or is killed.
#pragma once

#include <cordon/process/broker.hpp>
#include <cordon/process/channel.hpp>
#include <cordon/process/descriptors.hpp>
#include <cordon/process/outcome.hpp>
#include <cordon/process/supervisor.hpp>
#include <cordon/process/zygote.hpp>
#include <cordon/result.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

namespace cordon::process {

/// Answers a host call a child's plugin made mid-call (see broker.hpp); the reply must fit the
/// channel. An error stops the guest: the child is killed and the call ends with the error.
using host_call_handler = std::function<result<std::vector<std::byte>>(std::span<const std::byte>)>;

/// One live child running a function payload or a native plugin.
class persistent_child {
public:
    /// Spawns and waits until the child is confined and serving (or reports why it is not).
    static result<persistent_child> start(const confinement& setup, const payload_spec& payload,
                                          std::uint32_t capacity = channel::default_capacity) {
        auto z = zygote::get();
        if (!z) return z.error();
        auto shared = channel::create(capacity);
        if (!shared) return shared.error();
        int control[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) != 0)
            return fail(error_kind::internal, std::string("socketpair: ") + std::strerror(errno));
        unique_fd host_end{control[0]}, child_end{control[1]};
        unique_fd null{::open("/dev/null", O_RDWR | O_CLOEXEC)};
        const int fds[] = {child_end.get(), null.get(), null.get(), null.get(), shared->fd()};
        auto spawned = (*z)->spawn(setup, payload, fds);
        if (!spawned) return spawned.error();
        // The mapping is all the host needs: one descriptor fewer per live sandbox.
        shared->close_fd();
        persistent_child child{std::move(*spawned), std::move(host_end), std::move(*shared), setup.limits};
        if (auto ready = child.await_ready(); !ready) return ready.error();
        // A payload that cannot fork is measured by its own CPU clock: exact, and a system call
        // instead of a cgroup file read (a hundred times dearer here).
        if (!setup.syscalls.process) child.child_.cpu_accounting.clear();
        child.cpu_baseline_ = detail::child_cpu_ns(child.child_);
        child.single_threaded_ = !setup.syscalls.threads && !setup.syscalls.process;
        return child;
    }

    persistent_child(persistent_child&&) noexcept = default;
    persistent_child& operator=(persistent_child&&) noexcept = default;
    ~persistent_child() { terminate(); }

    [[nodiscard]] bool alive() const { return !ended_; }
    /// True once the child has ended, including an end no call has seen yet (it was killed
    /// while idle): the zygote has then written its exit record.
    [[nodiscard]] bool has_exited() const {
        if (ended_) return true;
        pollfd watched{child_.status.get(), POLLIN, 0};
        return ::poll(&watched, 1, 0) != 0;
    }
    /// The host ended the child to stop its guest (a host call refused to go on): the next
    /// child is a replacement, not a recovery from a crash.
    [[nodiscard]] bool stopped_by_host() const { return stopped_by_host_; }
    [[nodiscard]] pid_t pid() const { return child_.pid; }
    [[nodiscard]] const telemetry& usage() const { return usage_; }
    [[nodiscard]] std::uint32_t capacity() const { return channel_.capacity(); }
    /// CPU time of the last completed call, where a cpu limit made the supervisor read it; else 0.
    [[nodiscard]] std::uint64_t last_call_cpu_ns() const { return last_call_cpu_ns_; }

    /// Calls an entry point with `request` under the limits in force; the response bytes are
    /// copied out of shared memory before anyone looks at them. Host calls the child makes
    /// meanwhile go to `broker` (without one they are answered CORDON_ERR_UNSUPPORTED); the
    /// call's limits keep running while the host answers them.
    result<std::vector<std::byte>> call(std::uint64_t entry, std::span<const std::byte> request,
                                        const host_call_handler& broker = {}) {
        if (ended_) return fail(error_kind::internal, "the sandboxed process has already ended");
        if (request.size() > channel_.capacity())
            return fail(error_kind::invalid_argument, "call arguments of " + std::to_string(request.size()) +
                                                          " bytes exceed the channel's " +
                                                          std::to_string(channel_.capacity()));
        auto& header = channel_.header();
        detail::copy_bytes(channel_.request_area().data(), request.data(), request.size());
        header.entry = entry;
        header.request_size = request.size();
        std::uint32_t seen = header.response_seq.load(std::memory_order_acquire);
        const std::uint64_t started = detail::now_ns();
        // Between calls the child sleeps on the futex, so its CPU clock as read at the end of
        // the last call is this call's start: one clock read per call, none while waiting.
        const std::uint64_t cpu_at_start = cpu_baseline_;
        ++usage_.calls;
        publish(header.request_seq);

        const std::uint64_t wall_limit_ns = limits_.wall_time_ms != 0 ? limits_.wall_time_ms * 1000000 : UINT64_MAX;
        const std::uint64_t cpu_limit_ns = limits_.cpu_time_ms != 0 ? limits_.cpu_time_ms * 1000000 : UINT64_MAX;
        std::uint64_t wall_used = 0, cpu_used = 0;
        for (;;) {
            const auto wait = detail::next_check(wall_limit_ns, wall_used, cpu_limit_ns, cpu_used);
            if (const auto now = wait_for_change(header.response_seq, seen, wait); now != seen) {
                if (header.peer_gone.load(std::memory_order_acquire) != 0)
                    return stop(stop_reason::none, cpu_used, wall_used, started);
                seen = now;
                if (header.response_status != detail::broker::host_call_status) {
                    usage_.wall_ns += detail::now_ns() - started;
                    last_call_cpu_ns_ = 0;
                    if (limits_.cpu_time_ms != 0) {
                        cpu_baseline_ = detail::child_cpu_ns(child_);
                        last_call_cpu_ns_ = cpu_baseline_ - cpu_at_start;
                        // The clock also counts the child's brief spin after its last answer,
                        // before it slept: a child that cannot run threads is never charged
                        // more CPU than the call's wall time.
                        if (single_threaded_)
                            last_call_cpu_ns_ = std::min(last_call_cpu_ns_, detail::now_ns() - started);
                    }
                    return take_response();
                }
                if (auto refused = answer_host_call(broker)) {
                    detail::kill_child(child_);
                    usage_.wall_ns += detail::now_ns() - started;
                    (void)end_with(stop_reason::none, cpu_used, wall_used);
                    stopped_by_host_ = true;
                    return *refused;
                }
            }
            wall_used = detail::now_ns() - started;
            if (limits_.cpu_time_ms != 0) cpu_used = detail::child_cpu_ns(child_) - cpu_at_start;
            if (cpu_used >= cpu_limit_ns) return stop(stop_reason::cpu_time, cpu_used, wall_used, started);
            if (wall_used >= wall_limit_ns) return stop(stop_reason::wall_time, cpu_used, wall_used, started);
        }
    }

    /// Stops a running call from another thread: the child is killed, the call ends with an
    /// error and the next call starts a new child.
    void cancel() noexcept {
        if (!ended_ && child_.pidfd.valid()) detail::kill_child(child_);
    }

    /// Kills the child (its whole tree) and collects its end; safe to call twice.
    void terminate() {
        if (ended_ || !child_.pidfd.valid()) return;
        detail::kill_child(child_);
        if (auto record = detail::read_exit_record(child_, detail::exit_record_timeout_ms)) account(usage_, *record);
        ended_ = true;
    }

private:
    persistent_child(spawned_child child, unique_fd control, channel shared, const resource_limits& limits)
        : child_{std::move(child)}, control_{std::move(control)}, channel_{std::move(shared)}, limits_{limits} {
        usage_.children_started = 1;
    }

    result<void> await_ready() {
        const std::uint64_t limit_ms = limits_.wall_time_ms != 0 ? std::max<std::uint64_t>(limits_.wall_time_ms, 5000) : 30000;
        pollfd watched[2] = {{control_.get(), POLLIN, 0}, {child_.status.get(), POLLIN, 0}};
        while (::poll(watched, 2, static_cast<int>(limit_ms)) > 0) {
            if (watched[0].revents & POLLIN) {
                auto message = receive_with_fds(control_.get(), 8192);
                if (message.ok && read_control_message(message, reports_, [](unique_fd) {})) return {};
                if (message.ok) continue;
            }
            // The child ended (or closed its control socket) before it was ready.
            detail::kill_child(child_);
            return *end_with(stop_reason::none, 0, 0);
        }
        detail::kill_child(child_);
        auto failure = end_with(stop_reason::none, 0, 0);
        return failure ? *failure : fail(error_kind::internal, "the sandboxed process did not start in time");
    }

    // Collects the end of a child that died or was stopped, and the reports it left.
    std::optional<error> end_with(stop_reason why, std::uint64_t cpu_used, std::uint64_t wall_used) {
        ended_ = true;
        auto record = detail::read_exit_record(child_, detail::exit_record_timeout_ms);
        for (;;) {  // whatever the child said before it died
            pollfd watched{control_.get(), POLLIN, 0};
            if (::poll(&watched, 1, 0) <= 0) break;
            auto message = receive_with_fds(control_.get(), 8192);
            if (!message.ok) break;
            read_control_message(message, reports_, [](unique_fd) {});
        }
        if (reports_.violation) ++usage_.violations;
        if (!record) return fail(error_kind::internal, "the zygote did not report the sandboxed process's end");
        account(usage_, *record);
        auto failure = classify_end(*record, why, reports_, limits_, true, cpu_used, wall_used);
        return failure;
    }

    error stop(stop_reason why, std::uint64_t cpu_used, std::uint64_t wall_used, std::uint64_t started) {
        // Killed even when it seems to have died: peer_gone lives in memory the child can write,
        // and a child that only pretends must not be left running.
        detail::kill_child(child_);
        usage_.wall_ns += detail::now_ns() - started;
        auto failure = end_with(why, cpu_used, wall_used);
        return failure ? *failure : fail(error_kind::crash, "the sandboxed process ended during the call");
    }

    // Answers the host call waiting in the response area, in the same area. An error when the
    // child claims a message larger than the channel, or the host says the guest must stop.
    std::optional<error> answer_host_call(const host_call_handler& broker) {
        auto& header = channel_.header();
        const std::uint64_t size = header.response_size;
        if (size > channel_.capacity())
            return error{error_kind::trap, "the sandboxed process sent a host call past its channel"};
        const auto area = channel_.response_area();
        // Copied before it is read: the child may still scribble on the shared page.
        const std::vector<std::byte> message(area.begin(), area.begin() + static_cast<std::ptrdiff_t>(size));
        auto answer = broker ? broker(message) : detail::broker::reply(host::guest_status::unsupported);
        if (!answer) return answer.error();
        if (answer->size() > channel_.capacity()) answer = detail::broker::reply(host::guest_status::limit);
        detail::copy_bytes(area.data(), answer->data(), answer->size());
        header.response_size = answer->size();
        publish(header.request_seq);
        return std::nullopt;
    }

    result<std::vector<std::byte>> take_response() {
        const auto& header = channel_.header();
        const std::uint64_t size = header.response_size;
        const std::uint32_t status = header.response_status;
        if (size > channel_.capacity()) return fail(error_kind::trap, "the sandboxed process answered past its channel");
        const auto area = channel_.response_area();
        std::vector<std::byte> bytes(area.begin(), area.begin() + static_cast<std::ptrdiff_t>(size));
        if (status == 0) return bytes;
        // An error from inside the sandbox: its kind is believed only if it is one a guest can
        // legitimately raise; its text is the guest's.
        // The status word is the child's: compared as a number, never cast before it is known.
        const auto is = [status](error_kind kind) { return status == static_cast<std::uint32_t>(kind); };
        const bool guest_kind =
            is(error_kind::trap) || is(error_kind::invalid_argument) || is(error_kind::denied) || is(error_kind::output_limit);
        const auto kind = guest_kind ? static_cast<error_kind>(status) : error_kind::trap;
        std::string message(reinterpret_cast<const char*>(bytes.data()), std::min<std::size_t>(bytes.size(), 4096));
        return error{kind, std::move(message)};
    }

    spawned_child child_;
    unique_fd control_;
    channel channel_;
    resource_limits limits_;
    child_reports reports_{};
    telemetry usage_{};
    std::uint64_t cpu_baseline_ = 0;
    std::uint64_t last_call_cpu_ns_ = 0;
    bool single_threaded_ = false;
    bool ended_ = false;
    bool stopped_by_host_ = false;
};

} // namespace cordon::process
