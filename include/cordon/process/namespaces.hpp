// Linux namespaces of a process sandbox: which ones a child is cloned into, its uid/gid map,
// and the minimal read-only root that strict and maximum sandboxes see.
#pragma once

#include <cordon/result.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace cordon::process {

/// The namespaces a sandboxed child gets; each is a fresh, empty one.
struct namespace_set {
    bool user = false;
    bool pid = false;
    bool net = false;
    bool mount = false;
    bool ipc = false;
    bool uts = false;

    [[nodiscard]] int clone_flags() const {
        return (user ? CLONE_NEWUSER : 0) | (pid ? CLONE_NEWPID : 0) | (net ? CLONE_NEWNET : 0) |
               (mount ? CLONE_NEWNS : 0) | (ipc ? CLONE_NEWIPC : 0) | (uts ? CLONE_NEWUTS : 0);
    }
    [[nodiscard]] bool any() const { return clone_flags() != 0; }
};

/// A path visible inside the minimal root, bound from the same path outside.
struct root_binding {
    std::string path;
    bool writable = false;
};

namespace detail::ns {

inline error errno_error(const std::string& what) {
    return fail(error_kind::internal, what + ": " + std::strerror(errno));
}

inline bool write_all(const std::string& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

inline void make_parents(const std::string& path) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
        ::mkdir(path.substr(0, slash).c_str(), 0755);
}

// Flags a user namespace must keep on a bind remount: the kernel locks them.
inline unsigned long locked_flags(const std::string& path) {
    struct statvfs info {};
    if (::statvfs(path.c_str(), &info) != 0) return 0;
    unsigned long flags = 0;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    return flags;
}

inline result<void> bind_into_new_root(const std::string& old_root, const root_binding& binding) {
    const std::string source = old_root + binding.path;
    const std::string target = binding.path;
    struct stat st {};
    if (::lstat(source.c_str(), &st) != 0) return {};  // absent on this machine: nothing to show
    make_parents(target);
    if (S_ISLNK(st.st_mode)) {
        // Merged-/usr systems link /lib and /bin into /usr: copy the link, bind its target separately.
        char link[4096];
        const auto n = ::readlink(source.c_str(), link, sizeof link - 1);
        if (n < 0) return errno_error("readlink " + source);
        link[n] = '\0';
        if (::symlink(link, target.c_str()) != 0 && errno != EEXIST) return errno_error("symlink " + target);
        return {};
    }
    if (S_ISDIR(st.st_mode)) {
        ::mkdir(target.c_str(), 0755);
    } else {
        const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) ::close(fd);
    }
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return errno_error("bind " + binding.path);
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | locked_flags(source);
    if (!binding.writable) flags |= MS_RDONLY;
    if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) != 0)
        return errno_error("remount " + binding.path);
    return {};
}

} // namespace detail::ns

/// Maps uid and gid 0 inside the child's user namespace to the given ids outside. Called by
/// the parent after clone and before letting the child run.
inline result<void> write_id_maps(pid_t child, uid_t outside_uid, gid_t outside_gid) {
    const std::string proc = "/proc/" + std::to_string(child);
    if (!detail::ns::write_all(proc + "/setgroups", "deny"))
        return detail::ns::errno_error("setgroups deny");
    if (!detail::ns::write_all(proc + "/uid_map", "0 " + std::to_string(outside_uid) + " 1\n"))
        return detail::ns::errno_error("uid_map");
    if (!detail::ns::write_all(proc + "/gid_map", "0 " + std::to_string(outside_gid) + " 1\n"))
        return detail::ns::errno_error("gid_map");
    return {};
}

/// Replaces the child's root with an empty read-only tmpfs holding only the bindings. Needs a
/// private mount namespace. `scratch` is any existing directory, hidden afterwards.
inline result<void> enter_minimal_root(const std::vector<root_binding>& bindings, const char* scratch = "/tmp") {
    using detail::ns::errno_error;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno_error("make / private");
    if (::mount("cordon-root", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0)
        return errno_error("mount tmpfs root");
    if (::chdir(scratch) != 0) return errno_error("chdir new root");
    if (::mkdir("old-root", 0700) != 0) return errno_error("mkdir old-root");
    if (::syscall(SYS_pivot_root, ".", "old-root") != 0) return errno_error("pivot_root");
    if (::chdir("/") != 0) return errno_error("chdir /");
    for (const auto& binding : bindings)
        if (auto bound = detail::ns::bind_into_new_root("/old-root", binding); !bound) return bound;
    if (::umount2("/old-root", MNT_DETACH) != 0) return errno_error("detach old root");
    ::rmdir("/old-root");
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
        return errno_error("remount root read-only");
    return {};
}

/// Names the child's UTS namespace, so the host's name does not leak into it.
inline void set_sandbox_hostname() {
    static constexpr char name[] = "cordon";
    ::sethostname(name, sizeof name - 1);
}

} // namespace cordon::process
