// The call path through the facade on every in-process backend, each against a baseline in the
// same run, with the targets of DESIGN.md; also the facade's grant and scope checks. Only the
// public API is used here; the raw engine baselines are in baselines.cpp.
#include "call_path.hpp"

#include "ratio.hpp"

#include <cordon/cordon.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace {
using namespace cordon;

[[gnu::noinline]] std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }

none::program program() {
    none::program p;
    p.export_function("add", &add);
    return p;
}

void direct_call(benchmark::State& state) {
    std::int32_t x = 0;
    for (auto _ : state) {
        x = add(x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(direct_call);

/// A bound function through the facade with default options, or with telemetry_detail::counted.
void none_facade_bound(benchmark::State& state, telemetry_detail detail) {
    sandbox_options options;
    options.detail = detail;
    sandbox<none::backend, cordon_bench::call_policy> box{program(), std::move(options)};
    auto fn = *box.function<std::int32_t(std::int32_t, std::int32_t)>("add");
    std::int32_t x = 0;
    for (auto _ : state) {
        x = *fn(x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK_CAPTURE(none_facade_bound, timed, telemetry_detail::timed)->Name("none_facade_bound");
BENCHMARK_CAPTURE(none_facade_bound, counted, telemetry_detail::counted)->Name("none_facade_bound_counted");

void none_facade_by_name(benchmark::State& state) {
    sandbox<none::backend, cordon_bench::call_policy> box{program()};
    std::int32_t x = 0;
    for (auto _ : state) {
        x = *box.call<std::int32_t(std::int32_t, std::int32_t)>("add", x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(none_facade_by_name);

void none_sandbox_creation(benchmark::State& state) {
    const auto p = program();
    for (auto _ : state) {
        sandbox<none::backend, cordon_bench::call_policy> box{p};
        benchmark::DoNotOptimize(box.ok());
    }
}
BENCHMARK(none_sandbox_creation);

// ---- grant and scope checks, as a host function's call meets them --------------------------

sandbox<none::backend, cordon_bench::call_policy> checked_box() {
    sandbox<none::backend, cordon_bench::call_policy> box{program()};
    (void)box.grant("fs.read=/srv/data");
    return box;
}

void grant_check(benchmark::State& state) {
    auto box = checked_box();
    for (auto _ : state) benchmark::DoNotOptimize(box.policy().check("clock").has_value());
}
BENCHMARK(grant_check);

// What the backends do on each host call: the kind as an id, the grant as a bit.
void grant_check_by_id(benchmark::State& state) {
    auto box = checked_box();
    for (auto _ : state) benchmark::DoNotOptimize(box.policy().granted(perm::id::clock));
}
BENCHMARK(grant_check_by_id);

void scope_check(benchmark::State& state) {
    auto box = checked_box();
    for (auto _ : state) benchmark::DoNotOptimize(box.policy().check("fs.read", "/srv/data/images/a.png").has_value());
}
BENCHMARK(scope_check);

// The host side of a sandbox as a backend holds it (the facade hands out only a read-only view).
std::unique_ptr<host::context> checked_context() {
    auto ctx = std::make_unique<host::context>(cordon_bench::call_policy::spec());
    (void)ctx->policy().grant("fs.read", "/srv/data");
    return ctx;
}

void context_require(benchmark::State& state) {
    auto ctx = checked_context();
    for (auto _ : state) benchmark::DoNotOptimize(ctx->require("clock", "clock_now").has_value());
}
BENCHMARK(context_require);

void context_require_by_id(benchmark::State& state) {
    auto ctx = checked_context();
    for (auto _ : state) benchmark::DoNotOptimize(ctx->require(perm::id::clock, "clock_now").has_value());
}
BENCHMARK(context_require_by_id);

void context_require_scoped(benchmark::State& state) {
    auto ctx = checked_context();
    for (auto _ : state)
        benchmark::DoNotOptimize(ctx->require("fs.read", "/srv/data/images/a.png", "open").has_value());
}
BENCHMARK(context_require_scoped);

} // namespace

int main(int argc, char** argv) {
    using cordon_bench::measure;
    const double n = cordon_bench::guest_loop_iterations;
    return cordon_bench::run_with_ratios(
        argc, argv,
        {
            // The call-path targets (DESIGN.md, performance targets).
            {"compiled_facade_bound", "compiled_engine_bound", "compiled: facade bound call vs the engine's own (<= 2x, <= 25 ns)", 2, 25,
             "compiled, host to guest"},
            {measure{"compiled_facade_guest_to_host", "compiled_facade_guest_loop", n},
             measure{"raw_wasm2c_guest_to_host", "raw_wasm2c_guest_loop", n},
             "compiled: permission-checked host call from the guest, vs plain wasm2c (<= 20 ns)", 0, 20,
             "compiled, guest to host"},
            {"interpreter_facade_bound", "raw_wabt_call", "interpreter: facade bound call vs WABT Func::Call (<= 1.3x)", 1.3, 0,
             "interpreter, host to guest"},
            {"none_facade_bound", "direct_call", "none: facade bound call vs a noinline call (<= 10x)", 10, 0, "none, host to guest"},
            {"grant_check", "", "grant check: runtime_policy::check(\"clock\")", 0, 0, "grant check"},
            {"grant_check_by_id", "", "grant check by id: runtime_policy::granted(perm::id::clock)", 0, 0, "grant check by id"},
            {"scope_check", "", "scope check: fs.read of a 4-component path", 0, 0, "scope check"},
            {"context_require", "", "host::context::require, unscoped"},
            {"context_require_by_id", "", "host::context::require by id, unscoped"},
            {"context_require_scoped", "", "host::context::require, fs.read path"},
            // Where the time goes.
            {"compiled_facade_by_name", "compiled_engine_bound", "compiled: facade call by name vs the engine's bound call"},
            {"compiled_engine_bound", "raw_wasm2c_call", "compiled: the engine's bound call vs plain wasm2c"},
            {"compiled_engine_by_name", "raw_wasm2c_call", "compiled: the engine's call by name vs plain wasm2c"},
            {measure{"compiled_engine_guest_to_host", "compiled_engine_guest_loop", n},
             measure{"raw_wasm2c_guest_to_host", "raw_wasm2c_guest_loop", n},
             "compiled: unchecked host call, engine alone, vs plain wasm2c"},
            {measure{"compiled_facade_clock", "compiled_facade_guest_loop", n}, measure{"native_clock", "", n},
             "compiled: the guest's cordon clock_now vs clock_gettime in C++", 0, 0,
             "compiled, clock_now"},
            {"interpreter_facade_bound", "interpreter_engine_by_name", "interpreter: facade bound call vs the engine's call"},
            {"interpreter_engine_by_name", "raw_wabt_call", "interpreter: the engine's call (no clocks) vs WABT"},
            {"none_facade_bound_counted", "direct_call", "none: telemetry_detail::counted (no clock reads)"},
            {"none_facade_by_name", "direct_call", "none: call by name (lookup + bind each time)"},
            {"none_sandbox_creation", "", "none: a new sandbox"},
        },
        cordon_bench::time_basis::cpu);
}
