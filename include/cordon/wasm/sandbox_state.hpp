// Per-sandbox host-side state shared by the host API, WASI and every engine: configuration,
// meter, usage, captured output, and the handle table through which the guest reaches files.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/runtime.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cordon::wasm {

/// One guest-visible handle: a preopened directory or a file/directory opened beneath one.
struct handle_entry {
    cordon::detail::unique_fd fd;  // closed when the entry goes
    bool is_directory = false;
    bool writable = false;         // beneath an fs_write scope
    std::optional<std::size_t> preopen_index{};  // set for the preopened directories themselves
    std::string guest_path;        // for messages
    std::uint64_t dir_cookie = 0;  // fd_readdir position
};

/// Handles 0-2 are stdio; preopens follow from 3; files opened by the guest after them.
/// Only files the guest opened count against the open_files limit.
class handle_table {
public:
    static constexpr std::uint32_t first_handle = 3;

    [[nodiscard]] handle_entry* find(std::uint32_t handle) {
        if (handle < first_handle || handle - first_handle >= entries_.size()) return nullptr;
        auto& slot = entries_[handle - first_handle];
        return slot ? &*slot : nullptr;
    }
    [[nodiscard]] std::uint32_t opened() const noexcept { return opened_; }

    std::uint32_t add_preopen(handle_entry entry) {
        entries_.emplace_back(std::move(entry));
        return first_handle + static_cast<std::uint32_t>(entries_.size() - 1);
    }
    result<std::uint32_t> add(handle_entry entry, std::uint32_t limit) {
        if (opened_ >= limit) {
            return limit_exceeded(limit::kind::open_files, limit, opened_ + 1);
        }
        ++opened_;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (!entries_[i]) {
                entries_[i].emplace(std::move(entry));
                return first_handle + static_cast<std::uint32_t>(i);
            }
        }
        entries_.emplace_back(std::move(entry));
        return first_handle + static_cast<std::uint32_t>(entries_.size() - 1);
    }
    /// Closes a guest-opened handle; preopens cannot be closed (wasi-libc never tries).
    bool close(std::uint32_t handle) {
        handle_entry* entry = find(handle);
        if (!entry || entry->preopen_index) return false;
        entries_[handle - first_handle].reset();
        --opened_;
        return true;
    }
    void clear() {
        entries_.clear();
        opened_ = 0;
    }

private:
    std::vector<std::optional<handle_entry>> entries_;
    std::uint32_t opened_ = 0;
};

/// Hooks the plugin bus installs; without them the bus imports answer "not supported".
struct bus_hooks {
    /// call(target, input) -> output bytes
    std::function<result<std::vector<std::uint8_t>>(std::string_view, std::span<const std::uint8_t>)> call;
    std::function<result<void>(std::string_view, std::span<const std::uint8_t>)> emit;
};

struct sandbox_state {
    sandbox_config config;
    fuel_meter meter;
    usage current;     // the call in progress
    usage total;       // every finished call
    std::string stdout_text;
    std::string stderr_text;
    std::uint64_t output_used = 0;   // stdout + stderr + log + output(), against output_bytes
    std::vector<std::uint8_t> call_output;  // bytes-out of the current call
    std::vector<std::uint8_t> call_input;   // bytes-in, readable through cordon.input
    handle_table handles;
    bus_hooks bus;
    /// Where cordon.log goes when set (the backend routes it to the host context's log, with
    /// its sink and cap); otherwise into stderr_text.
    std::function<result<void>(std::int32_t level, std::string_view text)> log;
    std::optional<int> exit_code;    // set by proc_exit
    std::optional<error> pending;    // the error a host function trapped with, kept with its kind
    std::optional<error> limit_hit;  // a limit the guest ran into without being stopped (open files)

    /// Opens the preopened directories; a scope that does not exist is a setup error.
    result<void> open_preopens() {
        handles.clear();
        for (std::size_t i = 0; i < config.preopens.size(); ++i) {
            const auto& p = config.preopens[i];
            const int fd = ::open(p.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return fail(error_kind::invalid_argument,
                            "cannot open scope directory " + p.host_path.string() + ": " + std::strerror(errno));
            handle_entry entry;
            entry.fd = cordon::detail::unique_fd{fd};
            entry.is_directory = true;
            entry.writable = p.writable;
            entry.preopen_index = i;
            entry.guest_path = p.guest_path;
            handles.add_preopen(std::move(entry));
        }
        return {};
    }

    /// Counts output against the cap; the error stops the guest.
    result<void> charge_output(std::uint64_t bytes) {
        if (bytes > config.output_bytes - std::min(config.output_bytes, output_used)) {
            return limit_exceeded(limit::kind::output_bytes, config.output_bytes, output_used + bytes);
        }
        output_used += bytes;
        return {};
    }

    void record_violation(std::string_view permission, std::string_view what) {
        error_info info{std::string(permission) + ": " + std::string(what)};
        info.permission = std::string(permission);
        current.violations.emplace_back(error_kind::violation, std::move(info));
    }
};

namespace detail {

/// Opens `path` beneath the directory `dir_fd`; the kernel refuses absolute paths, `..` that
/// climbs out and symlinks that lead out (RESOLVE_BENEATH), so no scope can be escaped.
inline int open_beneath(int dir_fd, const std::string& path, int flags, mode_t mode) {
    open_how how{};
    // openat2 refuses flags that do not apply to O_PATH descriptors, O_NOCTTY among them.
    // O_NONBLOCK: a FIFO or device beneath a scope must not park the host thread in open() or
    // read(), where no fuel slice runs out and no deadline or cancel() can reach it.
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY | O_NONBLOCK));
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how);
    return static_cast<int>(fd);
}

} // namespace detail
} // namespace cordon::wasm
