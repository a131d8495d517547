// A native .so plugin in the process backend: loaded with dlopen only after the child is
// confined (seccomp, landlock, namespaces, rlimits), so even its constructors run sandboxed.
// It follows cordon.h: input, output and logs go through the host, its files through the kernel.
#include <cordon/format.hpp>
#include <cordon/process.hpp>

#include <fmt/core.h>

#include <string>

using plugin_policy = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::fs_read::under<"/usr/share">>>;

namespace {
std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span{s.data(), s.size()}); }
std::string text(const std::vector<std::byte>& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
} // namespace

int main(int argc, char** argv) {
    if (auto z = cordon::process::zygote::start(); !z) {
        fmt::print(stderr, "{}\n", z.error());
        return 1;
    }
    const std::string so = argc > 1 ? argv[1] : CORDON_EXAMPLE_NATIVE_PLUGIN;
    cordon::sandbox<cordon::process::backend, plugin_policy> box{cordon::process::native_plugin{so}};
    if (!box.ok()) {
        fmt::print(stderr, "{}\n", box.status().error());
        return 1;
    }
    auto loud = box.call_bytes("shout", bytes("hello from a native plugin"));
    fmt::print("shout: {}\n", loud ? text(*loud) : fmt::format("{}", loud.error()));
    fmt::print("its log: {}", box.take_logs());

    auto allowed = box.call_bytes("peek", bytes("/usr/share/common-licenses/GPL-3"));
    fmt::print("peek inside the grant: {}\n",
               allowed ? fmt::format("read {} bytes", allowed->size()) : fmt::format("{}", allowed.error()));
    auto escape = box.call_bytes("peek", bytes("/etc/shadow"));
    fmt::print("peek at /etc/shadow:   {}\n", escape ? "READ (this must not happen)" : fmt::format("{}", escape.error()));
    fmt::print("{}\n{}\n", box.telemetry(), box.enforcement());
    return escape ? 1 : 0;
}
