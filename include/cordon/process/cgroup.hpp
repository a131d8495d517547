// Per-sandbox control groups for memory, process count and CPU accounting: cgroup v2 where
// its controllers are enabled, else the v1 hierarchies, nested under the host's own groups.
#pragma once

#include <cordon/result.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cordon::process {

/// Which cgroup mechanism a machine offers for each resource, for the enforcement report.
struct cgroup_support {
    enum class version : std::uint8_t { none, v1, v2 };
    version memory = version::none;
    version pids = version::none;
    version cpu = version::none;
};

/// What a sandbox's groups observed, read after its processes are gone.
struct cgroup_usage {
    std::uint64_t peak_memory_bytes = 0;
    std::uint64_t cpu_ns = 0;
    bool memory_limit_hit = false;   // the OOM killer ran, or an allocation hit the limit
    bool process_limit_hit = false;  // a fork failed on pids.max
};

namespace detail::cgroups {

inline std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline bool write_file(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.flush();
    return static_cast<bool>(out);
}

inline std::uint64_t read_number(const std::string& path) {
    const auto text = read_file(path);
    if (!text) return 0;
    return std::strtoull(text->c_str(), nullptr, 10);
}

// The value after `key ` in a flat keyed file (memory.events, pids.events, memory.oom_control).
inline std::uint64_t read_key(const std::string& path, std::string_view key) {
    const auto text = read_file(path);
    if (!text) return 0;
    std::istringstream lines(*text);
    std::string name;
    std::uint64_t value = 0;
    while (lines >> name >> value)
        if (name == key) return value;
    return 0;
}

// The host process's own group in a hierarchy ("" for v2), from /proc/self/cgroup.
inline std::optional<std::string> own_group(std::string_view controller) {
    const auto text = read_file("/proc/self/cgroup");
    if (!text) return std::nullopt;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        std::istringstream names(controllers);
        std::string name;
        while (std::getline(names, name, ','))
            if (name == controller) return line.substr(second + 1);
        if (controller.empty() && controllers.empty()) return line.substr(second + 1);
    }
    return std::nullopt;
}

inline bool writable_dir(const std::string& path) { return ::access(path.c_str(), W_OK) == 0; }

// Where a v2 hierarchy with the memory and pids controllers is mounted, if anywhere.
inline std::optional<std::string> find_v2_base() {
    const auto group = own_group("");
    if (!group) return std::nullopt;
    for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        const std::string dir = std::string(mount) + *group;
        const auto controllers = read_file(dir + "/cgroup.subtree_control");
        if (controllers && controllers->find("memory") != std::string::npos &&
            controllers->find("pids") != std::string::npos && writable_dir(dir))
            return dir;
    }
    return std::nullopt;
}

inline std::optional<std::string> find_v1_base(std::string_view controller) {
    const auto group = own_group(controller);
    if (!group) return std::nullopt;
    const std::string dir = "/sys/fs/cgroup/" + std::string(controller) + (*group == "/" ? "" : *group);
    if (!writable_dir(dir)) return std::nullopt;
    return dir;
}

// The bases are looked up once per process: every sandbox used to read /proc/self/cgroup and
// probe the hierarchies again, three to five file reads on the path of each spawn. A process's
// own groups do not change under cordon, and a forked zygote shares its parent's.
inline std::optional<std::string> v2_base() {
    static const std::optional<std::string> base = find_v2_base();
    return base;
}

inline std::optional<std::string> v1_base(std::string_view controller) {
    static std::mutex mutex;
    static std::map<std::string, std::optional<std::string>, std::less<>> bases;
    std::lock_guard lock{mutex};
    auto found = bases.find(controller);
    if (found == bases.end()) found = bases.emplace(std::string(controller), find_v1_base(controller)).first;
    return found->second;
}

inline std::string unique_name() {
    static std::atomic<std::uint64_t> counter{0};
    return "cordon-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

} // namespace detail::cgroups

/// CPU nanoseconds from a file named by cgroup_set::cpu_accounting_file() (v1 or v2 format).
inline std::uint64_t cgroup_cpu_ns(const std::string& file) {
    if (file.empty()) return 0;
    if (file.ends_with("cpu.stat")) return detail::cgroups::read_key(file, "usage_usec") * 1000;
    return detail::cgroups::read_number(file);
}

/// The groups of one sandbox: created with limits before its first process is added, killed
/// and removed by destroy() (or the destructor).
class cgroup_set {
public:
    cgroup_set() = default;
    cgroup_set(const cgroup_set&) = delete;
    cgroup_set& operator=(const cgroup_set&) = delete;
    cgroup_set(cgroup_set&& other) noexcept { *this = std::move(other); }
    cgroup_set& operator=(cgroup_set&& other) noexcept {
        if (this != &other) {
            destroy();
            v2_ = std::move(other.v2_);
            memory_ = std::move(other.memory_);
            pids_ = std::move(other.pids_);
            cpu_ = std::move(other.cpu_);
            other.v2_.clear(), other.memory_.clear(), other.pids_.clear(), other.cpu_.clear();
        }
        return *this;
    }
    ~cgroup_set() { destroy(); }

    /// What this machine offers to the calling process.
    static cgroup_support probe() {
        using detail::cgroups::v1_base;
        cgroup_support support;
        if (detail::cgroups::v2_base()) {
            support.memory = support.pids = support.cpu = cgroup_support::version::v2;
            return support;
        }
        if (v1_base("memory")) support.memory = cgroup_support::version::v1;
        if (v1_base("pids")) support.pids = cgroup_support::version::v1;
        if (v1_base("cpuacct")) support.cpu = cgroup_support::version::v1;
        return support;
    }

    /// Creates the groups that the machine supports and writes the limits (0: none). Only the
    /// groups asked for are made: on cgroup v1 each one costs the child a migration, which
    /// waits for an RCU grace period (milliseconds on a busy machine).
    static result<cgroup_set> create(std::uint64_t memory_bytes, std::uint64_t max_processes, bool account_cpu) {
        using namespace detail::cgroups;
        cgroup_set set;
        const std::string name = unique_name();
        const auto make = [&](const std::string& base) -> result<std::string> {
            const std::string dir = base + "/" + name;
            if (::mkdir(dir.c_str(), 0700) != 0)
                return fail(error_kind::internal, "cannot create cgroup " + dir + ": " + std::strerror(errno));
            return dir;
        };
        if (auto base = v2_base()) {
            auto dir = make(*base);
            if (!dir) return dir.error();
            set.v2_ = *dir;
            if (memory_bytes != 0 && !(write_file(set.v2_ + "/memory.max", std::to_string(memory_bytes)) &&
                                      write_file(set.v2_ + "/memory.swap.max", "0")))
                return fail(error_kind::internal, "cannot set memory.max in " + set.v2_);
            if (max_processes != 0 && !write_file(set.v2_ + "/pids.max", std::to_string(max_processes)))
                return fail(error_kind::internal, "cannot set pids.max in " + set.v2_);
            return set;
        }
        if (memory_bytes != 0) {
            if (auto base = v1_base("memory")) {
                auto dir = make(*base);
                if (!dir) return dir.error();
                set.memory_ = *dir;
                const auto limit = std::to_string(memory_bytes);
                // memsw bounds memory plus swap; it must be set after the plain limit.
                if (!write_file(set.memory_ + "/memory.limit_in_bytes", limit))
                    return fail(error_kind::internal, "cannot set memory.limit_in_bytes in " + set.memory_);
                if (::access((set.memory_ + "/memory.memsw.limit_in_bytes").c_str(), W_OK) == 0)
                    write_file(set.memory_ + "/memory.memsw.limit_in_bytes", limit);
            }
        }
        if (max_processes != 0) {
            if (auto base = v1_base("pids")) {
                auto dir = make(*base);
                if (!dir) return dir.error();
                set.pids_ = *dir;
                if (!write_file(set.pids_ + "/pids.max", std::to_string(max_processes)))
                    return fail(error_kind::internal, "cannot set pids.max in " + set.pids_);
            }
        }
        if (auto base = account_cpu ? v1_base("cpuacct") : std::nullopt) {
            auto dir = make(*base);
            if (!dir) return dir.error();
            set.cpu_ = *dir;
        }
        return set;
    }

    [[nodiscard]] bool limits_memory() const { return !v2_.empty() || !memory_.empty(); }
    [[nodiscard]] bool limits_processes() const { return !v2_.empty() || !pids_.empty(); }
    [[nodiscard]] bool accounts_cpu() const { return !v2_.empty() || !cpu_.empty(); }

    /// Moves a process (with its future children) into every group.
    [[nodiscard]] result<void> add(pid_t pid) const {
        for (const auto* dir : {&v2_, &memory_, &pids_, &cpu_}) {
            if (dir->empty()) continue;
            if (!detail::cgroups::write_file(*dir + "/cgroup.procs", std::to_string(pid)))
                return fail(error_kind::internal, "cannot add a process to " + *dir);
        }
        return {};
    }

    /// The file holding the groups' CPU time, for cgroup_cpu_ns(); empty without accounting.
    [[nodiscard]] std::string cpu_accounting_file() const {
        if (!v2_.empty()) return v2_ + "/cpu.stat";
        if (!cpu_.empty()) return cpu_ + "/cpuacct.usage";
        return {};
    }

    /// CPU time (user + system) of everything in the groups so far, in nanoseconds.
    [[nodiscard]] std::uint64_t cpu_ns() const { return cgroup_cpu_ns(cpu_accounting_file()); }

    [[nodiscard]] cgroup_usage usage() const {
        using namespace detail::cgroups;
        cgroup_usage use;
        use.cpu_ns = cpu_ns();
        if (!v2_.empty()) {
            use.peak_memory_bytes = read_number(v2_ + "/memory.peak");
            use.memory_limit_hit = read_key(v2_ + "/memory.events", "oom_kill") > 0 ||
                                   read_key(v2_ + "/memory.events", "max") > 0;
            use.process_limit_hit = read_key(v2_ + "/pids.events", "max") > 0;
        }
        if (!memory_.empty()) {
            use.peak_memory_bytes = read_number(memory_ + "/memory.max_usage_in_bytes");
            use.memory_limit_hit = read_key(memory_ + "/memory.oom_control", "oom_kill") > 0 ||
                                   read_number(memory_ + "/memory.failcnt") > 0;
        }
        if (!pids_.empty()) use.process_limit_hit = read_key(pids_ + "/pids.events", "max") > 0;
        return use;
    }

    /// SIGKILLs every process still in the groups (the whole tree, however it forked).
    void kill_all() const {
        for (const auto* dir : {&v2_, &memory_, &pids_, &cpu_}) {
            if (dir->empty()) continue;
            if (*dir == v2_ && detail::cgroups::write_file(v2_ + "/cgroup.kill", "1")) return;
            const auto procs = detail::cgroups::read_file(*dir + "/cgroup.procs");
            if (!procs) continue;
            std::istringstream pids(*procs);
            pid_t pid = 0;
            while (pids >> pid) ::kill(pid, SIGKILL);
        }
    }

    /// Drops the paths without touching the groups: for a forked copy of the owner, which must
    /// never kill or remove what its parent still uses.
    void forget() noexcept { v2_.clear(), memory_.clear(), pids_.clear(), cpu_.clear(); }

    /// Kills what is left and removes the groups; a group still busy after a short wait is left
    /// for the kernel to empty (rmdir fails while a killed process is being reaped).
    void destroy() noexcept {
        for (auto* dir : {&v2_, &memory_, &pids_, &cpu_}) {
            if (dir->empty()) continue;
            for (int attempt = 0; attempt < 200 && ::rmdir(dir->c_str()) != 0 && errno == EBUSY; ++attempt) {
                kill_all();
                std::this_thread::sleep_for(std::chrono::microseconds(250));
            }
            dir->clear();
        }
    }

private:
    std::string v2_, memory_, pids_, cpu_;
};

} // namespace cordon::process
