// The README's quick start: a strict policy, a call, a refused widening, telemetry.
// (With the none backend the "plugin" is C++; the wasm and process backends run real guests.)
#include <cordon/cordon.hpp>
#include <fmt/core.h>

using plugin_policy = cordon::policy<
    cordon::isolation::strict,                        // preset: ceiling + default limits
    cordon::allow<cordon::perm::clock>,               // granted at start, inside strict's ceiling
    cordon::limit::wall_time_ms<1000>>;

int main() {
    cordon::none::program plugin;                     // the reference backend runs C++ callables
    plugin.export_function("fib", [](std::int32_t n) {
        std::int32_t a = 0, b = 1;
        while (n-- > 0) b = std::exchange(a, b) + b;
        return a;
    });
    cordon::sandbox<cordon::none::backend, plugin_policy> box{plugin};
    auto n = box.call<std::int32_t(std::int32_t)>("fib", 30);       // cordon::result<std::int32_t>
    if (!n) fmt::print(stderr, "{}\n", n.error());
    auto r = box.grant("net=example.org:443");                      // strict never admits net:
    fmt::print("{}\n{}\n", r.error(), box.telemetry());             // permission_outside_policy
}
