// A host-specific permission, a host function that needs it, and a custom isolation preset:
// the guest may show dialogs only once the host grants `ui`, and never touch the network.
#include <cordon/cordon.hpp>

#include <fmt/core.h>

namespace {

// 1. A capability only this application has.
struct ui : cordon::perm::custom<"ui"> {};

// 2. A preset of our own: the standard level's mechanisms, a narrow ceiling, small defaults.
struct kiosk : cordon::isolation::standard {
    static constexpr std::string_view name = "kiosk";
    using ceiling = cordon::perm::set<cordon::perm::clock, ui>;
    using default_grants = cordon::perm::set<cordon::perm::clock>;
    static constexpr cordon::limit_set default_limits =
        cordon::limit_set{}.with(cordon::limit::kind::wall_time_ms, 250).with(cordon::limit::kind::output_bytes, 4096);
};

using kiosk_policy = cordon::policy<kiosk>;
static_assert(kiosk_policy::allows<ui>);
static_assert(!kiosk_policy::allows<cordon::perm::net>, "the network is outside the kiosk's ceiling");

// 3. The "plugin": with the none backend it is C++ that reaches the host only through the API.
cordon::none::program plugin() {
    cordon::none::program p;
    p.export_function("greet", [](cordon::none::guest& g, std::int32_t id) -> cordon::result<std::int32_t> {
        return g.call_host<std::int32_t(std::int32_t)>("show_dialog", id);
    });
    return p;
}

} // namespace

int main() {
    cordon::sandbox_options options;
    options.functions.push_back(cordon::host::function<ui>("show_dialog", [](std::int32_t id) {
        fmt::print("  [host] dialog #{} shown\n", id);
        return id;
    }));
    cordon::sandbox<cordon::none::backend, kiosk_policy> box{plugin(), std::move(options)};
    fmt::print("{}\n", kiosk_policy{});

    auto first = box.call<std::int32_t(std::int32_t)>("greet", 1);
    fmt::print("before granting ui: {}\n", first ? "ok" : fmt::format("{}", first.error()));

    if (auto g = box.grant(ui{}); !g) return 1;
    auto second = box.call<std::int32_t(std::int32_t)>("greet", 2);
    fmt::print("after granting ui:  {}\n", second ? fmt::format("ok ({})", *second) : fmt::format("{}", second.error()));

    auto widen = box.grant("net=example.org:443");
    fmt::print("granting net at run time: {}\n", widen ? "ok" : fmt::format("{}", widen.error()));
    auto loosen = box.tighten(cordon::limit::kind::wall_time_ms, 10'000);
    fmt::print("raising the wall limit:  {}\n", loosen ? "ok" : fmt::format("{}", loosen.error()));
    fmt::print("{}\n", box.telemetry());
    return second ? 0 : 1;
}
