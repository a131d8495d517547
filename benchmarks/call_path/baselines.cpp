// The baselines of the call-path benchmarks, and the one place they reach below the facade: the
// engines' own calls (cordon::wasm::compiled_instance, interpreter_instance, without per-call
// clocks), raw WABT Func::Call, and the module translated by plain wasm2c. When the engines'
// internal API changes, this file is what follows it; call_path*.cpp use only the facade.
#include "call_path.hpp"
#include "raw_wabt.hpp"

#include <cordon/wasm.hpp>
#include <cordon/wasm/compiled.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "raw_host_loop.h"

extern "C" {
// The host function of the plain translation of host_loop: what wasm2c's own users write.
struct Z_app_instance_t {
    int unused;
};
u32 Z_appZ_tick(struct Z_app_instance_t*, u32 v) { return v & 1; }
}

namespace {
using namespace cordon::wasm;

constexpr std::int32_t loop_count = cordon_bench::guest_loop_iterations;

/// The policy the baselines run under: `bench` granted for the host function; one sandbox runs
/// at a time, so they share the context.
cordon::host::context& bench_context() {
    static cordon::host::owned_context context{cordon::policy_spec{}.grant("bench")};
    return context;
}

/// The engine's options without per-call clocks, as a host making many tiny calls sets them.
engine_options no_clocks() {
    engine_options config;
    config.measure_cpu = false;
    config.measure_wall = false;
    return config;
}

/// app.tick without a permission: the engine's host call without the grant check.
std::vector<host_function> tick() {
    return {host_function::make<std::int32_t(std::int32_t)>("app", "tick", std::nullopt, [](std::int32_t v) { return v & 1; })};
}

const module& compiled_host_loop() {
    static const module m = compiled_module("host_loop").value();
    return m;
}
const module& interpreted_host_loop() {
    static const module m = module::from_file(std::string(CORDON_BENCH_MODULES) + "/host_loop.wasm").value();
    return m;
}

struct raw_host_loop {
    Z_raw_host_loop_instance_t instance{};
    Z_app_instance_t app{};
    raw_host_loop() {
        static const bool initialised = (Z_raw_host_loop_init_module(), true);
        (void)initialised;
        Z_raw_host_loop_instantiate(&instance, &app);
    }
    raw_host_loop(const raw_host_loop&) = delete;
    raw_host_loop& operator=(const raw_host_loop&) = delete;
    ~raw_host_loop() { Z_raw_host_loop_free(&instance); }
};

// ---- compiled engine ---------------------------------------------------------------------------

void raw_wasm2c_call(benchmark::State& state) {
    raw_host_loop raw;
    for (auto _ : state) benchmark::DoNotOptimize(Z_raw_host_loopZ_add(&raw.instance, 1, 2));
}
BENCHMARK(raw_wasm2c_call);

void compiled_engine_bound(benchmark::State& state) {
    auto box = compiled_instance::create(compiled_host_loop(), bench_context(), no_clocks(), tick()).value();
    auto add = box->function<std::int32_t(std::int32_t, std::int32_t)>("add").value();
    for (auto _ : state) benchmark::DoNotOptimize(add(1, 2));
}
BENCHMARK(compiled_engine_bound);

void compiled_engine_by_name(benchmark::State& state) {
    auto box = compiled_instance::create(compiled_host_loop(), bench_context(), no_clocks(), tick()).value();
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(compiled_engine_by_name);

void raw_wasm2c_guest_loop(benchmark::State& state) {
    raw_host_loop raw;
    for (auto _ : state) benchmark::DoNotOptimize(Z_raw_host_loopZ_loop_n(&raw.instance, loop_count));
    state.SetItemsProcessed(state.iterations() * loop_count);
}
BENCHMARK(raw_wasm2c_guest_loop);

void raw_wasm2c_guest_to_host(benchmark::State& state) {
    raw_host_loop raw;
    for (auto _ : state) benchmark::DoNotOptimize(Z_raw_host_loopZ_call_host_n(&raw.instance, loop_count));
    state.SetItemsProcessed(state.iterations() * loop_count);
}
BENCHMARK(raw_wasm2c_guest_to_host);

void compiled_engine_guest_loop(benchmark::State& state, const char* loop) {
    auto box = compiled_instance::create(compiled_host_loop(), bench_context(), no_clocks(), tick()).value();
    auto f = box->function<std::int32_t(std::int32_t)>(loop).value();
    for (auto _ : state) benchmark::DoNotOptimize(f(loop_count));
    state.SetItemsProcessed(state.iterations() * loop_count);
}
BENCHMARK_CAPTURE(compiled_engine_guest_loop, loop_alone, "loop_n")->Name("compiled_engine_guest_loop");
BENCHMARK_CAPTURE(compiled_engine_guest_loop, host_call, "call_host_n")->Name("compiled_engine_guest_to_host");

// ---- interpreter engine ------------------------------------------------------------------------

void raw_wabt_call(benchmark::State& state) {
    cordon_bench::raw_wabt raw{interpreted_host_loop(), /*host_import=*/true};
    auto add = raw.find("add");
    wabt::interp::Values params{wabt::interp::Value::Make(std::int32_t{1}), wabt::interp::Value::Make(std::int32_t{2})}, results;
    for (auto _ : state) {
        wabt::interp::Trap::Ptr trap;
        add->Call(raw.thread, params, results, &trap);
        benchmark::DoNotOptimize(results);
    }
}
BENCHMARK(raw_wabt_call);

void interpreter_engine_by_name(benchmark::State& state) {
    auto box = interpreter_instance::create(interpreted_host_loop(), bench_context(), no_clocks(), tick()).value();
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(interpreter_engine_by_name);

} // namespace
