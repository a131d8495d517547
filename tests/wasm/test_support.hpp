// Helpers shared by the wasm tests: where the test modules were built, and reading them.
#pragma once

#include "../common/spec_files.hpp"

#include <cordon/wasm/module.hpp>
#include <cordon/host/context.hpp>
#include <cordon/policy/spec.hpp>
#include <cordon/wasm/host_function.hpp>
#include <cordon/wasm/runtime.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm::testing {

inline std::string module_path(const std::string& name) { return std::string(CORDON_TEST_MODULES) + "/" + name + ".wasm"; }

inline std::vector<std::uint8_t> module_bytes(const std::string& name) {
    return cordon::testing::read_file_bytes(module_path(name));
}

inline module load(const std::string& name) {
    auto loaded = module::from_file(module_path(name));
    if (!loaded) ADD_FAILURE() << loaded.error().message();
    return loaded.value();
}

/// A field of /proc/self/status in KiB ("VmRSS", "VmSize"), 0 when absent.
inline long process_status_kib(std::string_view field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':')
            return std::stol(line.substr(field.size() + 1));
    return 0;
}

using namespace std::chrono_literals;

/// A sandbox's policy as an engine test writes it (a run-time policy_spec: the kinds the ceiling
/// admits, the grants with their directory scopes, the limits), what the guest may read, and how
/// the engine runs. The engine reads it through a host context, as under the facade.
struct test_policy {
    policy_spec spec;
    engine_options options;
    std::map<std::string, std::string, std::less<>> config{};
    std::map<std::string, std::string, std::less<>> environment{};
    violation_action on_violation = violation_action::fail_call;

    test_policy& allow(std::initializer_list<const char*> kinds) {
        for (const char* k : kinds) spec.grant(k);
        return *this;
    }
    /// In the ceiling, not granted.
    test_policy& admit(const char* kind) {
        spec.admit(kind);
        return *this;
    }
    /// fs.read or fs.write beneath a directory (the guest sees it under its host path).
    test_policy& scope(const char* kind, const std::filesystem::path& dir) {
        spec.grant(kind, dir.string());
        return *this;
    }
    test_policy& limit(limit::kind k, std::uint64_t value) {
        spec.limits.set(k, value);
        return *this;
    }
    /// Takes a kind's grants away; it stays in the ceiling.
    test_policy& revoke(std::string_view kind) {
        std::erase_if(spec.grants, [&](const grant_entry& g) { return g.name == kind; });
        return *this;
    }
};

inline test_policy strict_config() {
    test_policy config;
    config.limit(limit::kind::memory, 16u << 20).limit(limit::kind::wall_time_ms, 5000);
    return config;
}

inline test_policy allowing(std::initializer_list<const char*> permissions, test_policy config = strict_config()) {
    config.allow(permissions);
    return config;
}

/// An engine instance with the host context it reads, kept alive together; `->` reaches the engine.
template <class Instance> class test_sandbox {
public:
    test_sandbox(std::unique_ptr<host::owned_context> context, std::unique_ptr<Instance> engine)
        : context_{std::move(context)}, engine_{std::move(engine)} {}

    Instance* operator->() const noexcept { return engine_.get(); }
    Instance& operator*() const noexcept { return *engine_; }
    explicit operator bool() const noexcept { return engine_ != nullptr; }
    [[nodiscard]] host::context& context() const noexcept { return context_->get(); }

    /// What the guest wrote so far (the context hands output over once; this keeps it).
    const std::string& out() { return out_ += context().take_stdout(); }
    const std::string& err() { return err_ += context().take_stderr(); }
    const std::string& logs() { return logs_ += context().take_logs(); }

private:
    std::unique_ptr<host::owned_context> context_;
    std::unique_ptr<Instance> engine_;
    std::string out_, err_, logs_;
};

/// Instance::create under a test policy.
template <class Instance, class... EngineOptions>
result<test_sandbox<Instance>> make_sandbox(const module& source, test_policy policy,
                                            std::vector<host_function> functions = {}, EngineOptions&&... engine) {
    auto context = std::make_unique<host::owned_context>(std::move(policy.spec));
    (*context)->config = std::move(policy.config);
    (*context)->environment = std::move(policy.environment);
    (*context)->on_violation = policy.on_violation;
    auto created = Instance::create(source, context->get(), std::move(policy.options), std::move(functions),
                                    std::forward<EngineOptions>(engine)...);
    if (!created) return created.error();
    return test_sandbox<Instance>{std::move(context), std::move(*created)};
}

/// A scratch directory tree for the filesystem tests: root/allowed/{data.txt, sub/}, root/secret.txt,
/// and a symlink allowed/escape -> ../secret.txt.
class scratch_tree {
public:
    scratch_tree() {
        root_ = std::filesystem::temp_directory_path() / ("cordon-wasm-" + std::to_string(::getpid()) + "-" +
                                                          std::to_string(counter()++));
        std::filesystem::create_directories(root_ / "allowed" / "sub");
        std::ofstream(root_ / "allowed" / "data.txt") << "inside the scope\n";
        std::ofstream(root_ / "secret.txt") << "outside the scope\n";
        std::filesystem::create_symlink("../secret.txt", root_ / "allowed" / "escape");
    }
    ~scratch_tree() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    [[nodiscard]] std::filesystem::path allowed() const { return root_ / "allowed"; }
    [[nodiscard]] std::filesystem::path root() const { return root_; }
    /// A path the guest names: beneath the scope's directory, where the guest sees it.
    [[nodiscard]] std::string in(std::string_view rest) const { return allowed().string() + std::string(rest); }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::filesystem::path root_;
};

inline std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

} // namespace cordon::wasm::testing
