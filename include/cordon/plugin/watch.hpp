// The opt-in directory watch of a plugin manager: inotify on the directories of the loaded
// plugins, and a reload of a plugin once its directory has been quiet for a moment after a change.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/plugin/events.hpp>
#include <cordon/result.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cordon::plugin {

struct watch_options {
    /// How long a changed directory must stay quiet before the reload: an editor or a copy
    /// writes a plugin's files one after another, and the reload should see them all.
    std::chrono::milliseconds settle{200};
    /// How often the watch looks for plugins loaded (or unloaded) since it last looked.
    std::chrono::milliseconds rescan{500};
};

/// Watches the directories of a manager's loaded plugins and calls manager.reload(id) for a
/// plugin whose directory changed (a file written, moved in, removed), once it has settled. A
/// reload that does not fit is refused as any reload is (the old version keeps serving; the
/// recovery history says why). One thread; stopped and joined when the watch is destroyed,
/// which must happen before the manager goes.
template <class Manager> class directory_watch {
public:
    static result<std::unique_ptr<directory_watch>> start(Manager& plugins, watch_options options = {}) {
        cordon::detail::unique_fd notify{::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)};
        if (!notify.valid()) return system_error("inotify_init1");
        cordon::detail::unique_fd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
        if (!wake.valid()) return system_error("eventfd");
        return std::unique_ptr<directory_watch>(new directory_watch(plugins, options, std::move(notify), std::move(wake)));
    }

    ~directory_watch() {
        const std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
        if (thread_.joinable()) thread_.join();
    }
    directory_watch(const directory_watch&) = delete;
    directory_watch& operator=(const directory_watch&) = delete;

private:
    using clock = std::chrono::steady_clock;

    directory_watch(Manager& plugins, watch_options options, cordon::detail::unique_fd notify, cordon::detail::unique_fd wake)
        : plugins_{&plugins}, options_{options}, notify_{std::move(notify)}, wake_{std::move(wake)} {
        rescan();  // before start() returns: a change made after it is seen
        thread_ = std::thread([this] { run(); });
    }

    static error system_error(const char* what) {
        return fail(error_kind::unsupported, std::string("cannot watch plugin directories: ") + what + ": " + std::strerror(errno));
    }

    struct watched {
        std::vector<std::string> ids;              // the loaded plugins in this directory
        std::optional<clock::time_point> changed;  // the last change not reloaded yet
    };

    void run() {
        auto next_scan = clock::now() + options_.rescan;
        for (;;) {
            const auto now = clock::now();
            if (now >= next_scan) {
                rescan();
                next_scan = now + options_.rescan;
            }
            auto wake_at = next_scan;
            for (const auto& [wd, w] : watches_)
                if (w.changed) wake_at = std::min(wake_at, *w.changed + options_.settle);
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(std::max(wake_at - clock::now(), clock::duration::zero()));
            std::array<pollfd, 2> fds{pollfd{notify_.get(), POLLIN, 0}, pollfd{wake_.get(), POLLIN, 0}};
            if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) < 0 && errno != EINTR) return;
            if (fds[1].revents != 0) return;
            if (fds[0].revents != 0) drain();
            reload_settled();
        }
    }

    /// Watches the directory of every loaded plugin, and forgets those no longer loaded.
    void rescan() {
        std::map<int, watched> kept;
        for (const auto& status : plugins_->statuses()) {
            if (status.state == plugin_state::registered) continue;
            auto record = plugins_->record(status.id);
            if (!record) continue;
            const auto& directory = (*record)->directory;
            const int wd = ::inotify_add_watch(notify_.get(), directory.c_str(),
                                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB);
            if (wd < 0) continue;  // gone, or not ours to watch: nothing to reload from
            auto& w = kept[wd];
            if (auto old = watches_.find(wd); old != watches_.end()) w.changed = old->second.changed;
            w.ids.push_back(status.id);
        }
        for (const auto& [wd, w] : watches_)
            if (!kept.contains(wd)) ::inotify_rm_watch(notify_.get(), wd);
        watches_ = std::move(kept);
    }

    void drain() {
        alignas(inotify_event) std::array<char, 4096> buffer{};
        for (;;) {
            const auto n = ::read(notify_.get(), buffer.data(), buffer.size());
            if (n <= 0) return;
            for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
                const auto* e = reinterpret_cast<const inotify_event*>(buffer.data() + at);
                if (auto it = watches_.find(e->wd); it != watches_.end()) it->second.changed = clock::now();
                at += sizeof(inotify_event) + e->len;
            }
        }
    }

    void reload_settled() {
        const auto now = clock::now();
        for (auto& [wd, w] : watches_) {
            if (!w.changed || now < *w.changed + options_.settle) continue;
            w.changed.reset();
            for (const auto& id : w.ids) (void)plugins_->reload(id);  // a refusal is in the recovery history
        }
    }

    Manager* plugins_;
    watch_options options_;
    cordon::detail::unique_fd notify_, wake_;
    std::map<int, watched> watches_;  // by inotify watch descriptor; only the thread touches it
    std::thread thread_;
};

} // namespace cordon::plugin
