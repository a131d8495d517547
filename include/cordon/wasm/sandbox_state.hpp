// Per-sandbox host-side state shared by the host API, WASI and every engine: the view of the
// host context, the limits and scopes derived from it, meter, usage and the guest's handles.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/errors.hpp>
#include <cordon/host/policy_view.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/runtime.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
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

/// One wasm sandbox's host side. Grants, scopes, limits, output and violations live in the host
/// context; this holds what the engine derives from them (its limits in engine units, the
/// preopened directories) and what only a wasm guest has (handles, call input and output).
struct sandbox_state {
    sandbox_state(host::context& context, engine_options engine) : policy{context}, options{std::move(engine)} {
        for (const auto& [key, value] : context.environment) environment.push_back(key + "=" + value);
    }

    host::policy_view policy;
    engine_options options;
    std::vector<std::string> environment;  // "KEY=VALUE", visible only with env granted
    fuel_meter meter;
    usage current;     // the call in progress
    usage total;       // every finished call
    std::vector<std::uint8_t> call_output;  // bytes-out of the current call
    std::vector<std::uint8_t> call_input;   // bytes-in, readable through cordon.input
    handle_table handles;
    std::optional<int> exit_code;    // set by proc_exit
    std::optional<error> pending;    // the error a host function trapped with, kept with its kind
    std::optional<error> limit_hit;  // a limit the guest ran into without being stopped (open files)

    /// The limits in force, in engine units, and the directories the guest reaches (one per
    /// directory scope of fs.read / fs.write): derived from the context, never set.
    [[nodiscard]] const engine_limits& limits() const noexcept { return limits_; }
    [[nodiscard]] const std::vector<preopen>& preopens() const noexcept { return preopens_; }

    /// Brings limits and directory scopes up to date with the host context. New or revoked
    /// scopes take effect while the guest holds no open files; until then the old set stays, so
    /// a handle never outlives the directory it came from. A scope that cannot be opened is a
    /// setup error at the first refresh and keeps the old set later.
    result<void> refresh() {
        const std::uint64_t now = policy.generation();
        if (now == generation_ && !waiting_scopes_) return {};
        const bool first = generation_ == never;
        if (now != generation_) {
            generation_ = now;
            limits_ = engine_limits::from(policy.limits());
            waiting_scopes_ = scopes_of(policy.grants());
            if (!first && *waiting_scopes_ == preopens_) waiting_scopes_.reset();
        }
        if (!waiting_scopes_ || (!first && handles.opened() != 0)) return {};
        std::vector<preopen> before = std::exchange(preopens_, *std::exchange(waiting_scopes_, std::nullopt));
        auto opened = open_preopens();
        if (opened || first) return opened;
        preopens_ = std::move(before);
        return open_preopens();
    }

    /// Records a refused use of a permission (see host::policy_view::violation).
    void record_violation(perm::id permission, std::string_view what) { (void)policy.violation(permission, what); }

    /// Is an output of `bytes` more within the output cap? (The host context caps stdout, stderr
    /// and logs itself; this bounds a call's bytes-out, which the host receives as its result.)
    result<void> charge_call_output(std::uint64_t bytes) const {
        const std::uint64_t cap = policy.output_cap();
        if (bytes > cap - std::min<std::uint64_t>(cap, call_output.size()))
            return limit_exceeded(limit::kind::output_bytes, cap, call_output.size() + bytes);
        return {};
    }

private:
    static constexpr std::uint64_t never = ~std::uint64_t{0};
    std::uint64_t generation_ = never;
    engine_limits limits_{};
    std::vector<preopen> preopens_{};
    std::optional<std::vector<preopen>> waiting_scopes_{};  // changed scopes, waiting for the guest to close its files

    static std::vector<preopen> scopes_of(const std::vector<grant_entry>& grants) {
        std::vector<preopen> out;
        for (const grant_entry& grant : grants) {
            if (!grant.scope || (grant.name != "fs.read" && grant.name != "fs.write")) continue;
            const bool writable = grant.name == "fs.write";
            auto same = std::find_if(out.begin(), out.end(), [&](const preopen& p) { return p.guest_path == *grant.scope; });
            if (same != out.end()) same->writable |= writable;
            else out.push_back({*grant.scope, *grant.scope, writable});
        }
        return out;
    }

    /// Opens the preopened directories; a scope that does not exist is a setup error.
    result<void> open_preopens() {
        handles.clear();
        for (std::size_t i = 0; i < preopens_.size(); ++i) {
            const auto& p = preopens_[i];
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
