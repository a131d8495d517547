// The conformance suite on the none backend: each behaviour as a C++ callable seeing the host
// API through none::guest.
#include <cordon/none/backend.hpp>

#include "suite.hpp"

namespace cordon::conformance {
namespace {

using bytes = std::vector<std::byte>;

result<bytes> answer(std::string_view text) { return bytes_of(text); }

std::int32_t fib(std::int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

none::program behaviours() {
    none::program p;
    p.export_function("add", [](std::int32_t a, std::int32_t b) { return a + b; })
        .export_function("add64", [](std::int64_t a, std::int64_t b) { return a + b; })
        .export_function("scale", [](double x, float by) { return x * static_cast<double>(by); })
        .export_function("fib", [](std::int32_t n) { return fib(n); })
        .export_function("nothing", [] {})
        .export_function("use_mix",
                         [](none::guest& g, std::int32_t a) -> result<std::int64_t> {
                             return g.call_host<std::int64_t(std::int32_t, std::int64_t)>("mix", a, std::int64_t{10});
                         })
        .export_function("use_beep",
                         [](none::guest& g) -> result<std::int32_t> { return g.call_host<std::int32_t()>("beep"); });
    p.export_bytes("reverse", [](none::guest&, std::span<const std::byte> in) -> result<bytes> {
        return bytes(in.rbegin(), in.rend());
    });
    // A C++ guest cannot be interrupted: it spins until the host cancels (or for 20 s at most).
    p.export_bytes("spin", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        const auto end = std::chrono::steady_clock::now() + 20s;
        while (!g.context().cancelled() && std::chrono::steady_clock::now() < end) {
        }
        return answer("ok");
    });
    auto probe_clock = [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        auto r = g.clock_ns();
        (void)g.log(log_level::info, "carried on");
        return answer(r && *r > 0 ? "ok" : "denied");
    };
    p.export_bytes("probe_clock", probe_clock).export_bytes("violate", probe_clock);
    p.export_bytes("probe_random", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        std::byte b[32];
        return answer(g.random(b) ? "ok" : "denied");
    });
    p.export_bytes("probe_env", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        auto r = g.env("GREETING");
        if (!r) return answer("denied");
        return answer(r->value_or("(unset)"));
    });
    p.export_bytes("probe_config", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        auto r = g.config("greeting");
        if (!r) return answer("denied");
        return answer(r->value_or("(unset)"));
    });
    // As guests/bus.inc: the input to "echo/answer", its answer out and emitted under "seen".
    p.export_bytes("probe_bus", [](none::guest& g, std::span<const std::byte> input) -> result<bytes> {
        auto status = [](const error& e) -> result<bytes> {
            switch (host::api::bus_status(e)) {
            case host::guest_status::unsupported: return answer("unsupported");
            case host::guest_status::denied: return answer("denied");
            case host::guest_status::not_found: return answer("not found");
            case host::guest_status::limit: return answer("limit");
            default: return answer("error");
            }
        };
        auto reply = g.bus_call("echo/answer", input);
        if (!reply) return status(reply.error());
        if (auto sent = g.bus_emit("seen", *reply); !sent) return status(sent.error());
        return *reply;
    });
    p.export_bytes("probe_long_key", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        auto r = g.config(std::string(5000, 'k'));
        return answer(!r && r.error().kind() == error_kind::invalid_argument ? "invalid" : "other");
    });
    p.export_bytes("probe_log", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        (void)g.log(log_level::info, "hello from the guest");
        return answer("ok");
    });
    p.export_bytes("probe_system", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        return answer(host::api::system(g.context()) ? "ok" : "refused");
    });
    p.export_bytes("log_flood", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        const std::string chunk(4096, 'x');
        for (;;)
            if (auto r = g.log(log_level::info, chunk); !r) return r.error();
    });
    // The bytes convention's output is the callable's result; its stream is stdout.
    p.export_bytes("output_flood", [](none::guest& g, std::span<const std::byte>) -> result<bytes> {
        const std::string chunk(4096, 'x');
        for (;;)
            if (auto r = g.write(chunk); !r) return r.error();
    });
    return p;
}

} // namespace

struct none_functions : expressible {
    using backend = none::backend;
    static constexpr std::string_view name = "none";
    static none::program payload(part) { return behaviours(); }

    static constexpr capability interrupts =
        cannot("a C++ callable cannot be interrupted; time limits are checked after the call");
    static constexpr capability memory_limit = cannot("the guest shares the host's heap (compile-time rejection)");
    static constexpr capability fuel = cannot("C++ counts no instructions (compile-time rejection)");
    static constexpr capability open_files =
        cannot("none cannot count open files (a compile-time rejection, as concept.hpp promises)");
    static constexpr capability call_depth =
        cannot("native stacks are not instrumented (a compile-time rejection)");
    static constexpr capability processes = cannot("none cannot count processes (compile-time rejection)");
    static constexpr capability files = cannot("none::guest offers no file API: the guest is host C++");
    static constexpr capability trap_stops_guest =
        cannot("a C++ callable cannot be stopped inside a host call; it sees the refusal");
};

using kinds = ::testing::Types<none_functions>;
INSTANTIATE_TYPED_TEST_SUITE_P(None, Conformance, kinds);

} // namespace cordon::conformance
