// Benchmarks of the compiled wasm engine, each against a baseline in the same run: the same C
// built natively by clang -O2, the module translated by plain wasm2c without metering, and the
// engine's own variants (fuel only, frames and depth). The modules are compiled into this program
// at build time (cordon_add_compiled_wasm_module) except where a variant or the cache is measured.
// Calls into and out of the guest are measured with the other engines in call_path/.
#include <cordon/cordon.hpp>
#include <cordon/wasm/compiled.hpp>

#include "ratio.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "raw_fib.h"
#include "raw_sha256.h"

extern "C" {
std::int32_t native_fib(std::int32_t n);
std::int64_t native_loop_sum(std::int32_t n);
std::uint32_t native_sha256_rounds(std::int32_t rounds);
}

namespace {

using namespace cordon::wasm;

const module& load(const std::string& name) {
    static std::map<std::string, module> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, compiled_module(name).value()).first;
    return it->second;
}

compiled_options variant(bool track_frames, bool track_depth) {
    compiled_options options;
    options.metering = metering_options{track_frames, track_depth};
    options.compile.cache_directory = CORDON_BENCH_CACHE;
    return options;
}

/// The policy the benchmarks run under (nothing granted, default limits); they run one sandbox
/// at a time, so they may share the context that holds it.
cordon::host::context& bench_context() {
    static cordon::host::owned_context context{cordon::policy_spec{}};
    return context;
}

/// Engine options without per-call clocks, as a host making millions of tiny calls sets them.
engine_options no_clocks() {
    engine_options config;
    config.measure_cpu = false;
    config.measure_wall = false;
    return config;
}

std::unique_ptr<compiled_instance> sandbox_for(const std::string& name, compiled_options options = {}) {
    return compiled_instance::create(load(name), bench_context(), no_clocks(), {}, std::move(options)).value();
}

/// A sandbox under a policy with one limit, and the context that holds that policy.
struct limited_sandbox {
    cordon::host::owned_context context;
    std::unique_ptr<compiled_instance> box;
    limited_sandbox(const std::string& name, cordon::limit::kind kind, std::uint64_t value)
        : context{[&] {
              cordon::policy_spec spec;
              spec.limits.set(kind, value);
              return spec;
          }()},
          box{compiled_instance::create(load(name), context, no_clocks()).value()} {}
};

/// Plain wasm2c instances, with no metering and no cordon in between.
struct raw_fib {
    Z_raw_fib_instance_t instance{};
    raw_fib() {
        static const bool initialised = (Z_raw_fib_init_module(), true);
        (void)initialised;
        Z_raw_fib_instantiate(&instance);
    }
    ~raw_fib() { Z_raw_fib_free(&instance); }
};
struct raw_sha256 {
    Z_raw_sha256_instance_t instance{};
    raw_sha256() {
        static const bool initialised = (Z_raw_sha256_init_module(), true);
        (void)initialised;
        Z_raw_sha256_instantiate(&instance);
    }
    ~raw_sha256() { Z_raw_sha256_free(&instance); }
};
// ---- instantiation from a loaded module ------------------------------------------------------

void BM_Instantiate_RawWasm2c(benchmark::State& state) {
    for (auto _ : state) {
        raw_fib raw;
        benchmark::DoNotOptimize(raw.instance);
    }
}
BENCHMARK(BM_Instantiate_RawWasm2c);

void BM_Instantiate_Compiled(benchmark::State& state) {
    const module& m = load("fib");
    for (auto _ : state) benchmark::DoNotOptimize(compiled_instance::create(m, bench_context()));
}
BENCHMARK(BM_Instantiate_Compiled);

// ---- compute: native vs compiled with metering vs plain wasm2c -----------------------------

template <class Fn> void compute(benchmark::State& state, Fn&& fn) {
    for (auto _ : state) benchmark::DoNotOptimize(fn(static_cast<std::int32_t>(state.range(0))));
}

void BM_Fib_Native(benchmark::State& state) { compute(state, native_fib); }
void BM_Fib_RawWasm2c(benchmark::State& state) {
    raw_fib raw;
    compute(state, [&](std::int32_t n) { return Z_raw_fibZ_fib(&raw.instance, static_cast<u32>(n)); });
}
void BM_Fib_Compiled(benchmark::State& state) {
    auto box = sandbox_for("fib");
    auto f = box->function<std::int32_t(std::int32_t)>("fib").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
void BM_Fib_CompiledFuelOnly(benchmark::State& state) {
    auto box = sandbox_for("fib", variant(false, false));
    auto f = box->function<std::int32_t(std::int32_t)>("fib").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
void BM_Fib_CompiledDepthLimit(benchmark::State& state) {
    // A policy with a call_depth limit: depth counted on every call, so the limit is exact.
    limited_sandbox limited{"fib", cordon::limit::kind::call_depth, 10'000};
    auto f = limited.box->function<std::int32_t(std::int32_t)>("fib").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
BENCHMARK(BM_Fib_Native)->Arg(27)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_RawWasm2c)->Arg(27)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_Compiled)->Arg(27)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_CompiledFuelOnly)->Arg(27)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_CompiledDepthLimit)->Arg(27)->Unit(benchmark::kMicrosecond);

void BM_Loop_Native(benchmark::State& state) { compute(state, native_loop_sum); }
void BM_Loop_RawWasm2c(benchmark::State& state) {
    raw_fib raw;
    compute(state, [&](std::int32_t n) { return Z_raw_fibZ_loop_sum(&raw.instance, static_cast<u32>(n)); });
}
void BM_Loop_Compiled(benchmark::State& state) {
    auto box = sandbox_for("fib");
    auto f = box->function<std::int64_t(std::int32_t)>("loop_sum").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
void BM_Loop_CompiledFuelOnly(benchmark::State& state) {
    auto box = sandbox_for("fib", variant(false, false));
    auto f = box->function<std::int64_t(std::int32_t)>("loop_sum").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
void BM_Loop_CompiledCpuLimit(benchmark::State& state) {
    // A cpu limit: the meter reads the steady clock at each slice's end and the thread CPU clock
    // (a system call) only when the rest of the limit could have been used up.
    limited_sandbox limited{"fib", cordon::limit::kind::cpu_time_ms, 60'000};
    auto f = limited.box->function<std::int64_t(std::int32_t)>("loop_sum").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
BENCHMARK(BM_Loop_Native)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_RawWasm2c)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_Compiled)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_CompiledFuelOnly)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_CompiledCpuLimit)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

void BM_Sha256_Native(benchmark::State& state) { compute(state, native_sha256_rounds); }
void BM_Sha256_RawWasm2c(benchmark::State& state) {
    raw_sha256 raw;
    compute(state, [&](std::int32_t n) { return Z_raw_sha256Z_sha256_rounds(&raw.instance, static_cast<u32>(n)); });
}
void BM_Sha256_Compiled(benchmark::State& state) {
    auto box = sandbox_for("sha256");
    auto f = box->function<std::uint32_t(std::int32_t)>("sha256_rounds").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
void BM_Sha256_CompiledFuelOnly(benchmark::State& state) {
    auto box = sandbox_for("sha256", variant(false, false));
    auto f = box->function<std::uint32_t(std::int32_t)>("sha256_rounds").value();
    compute(state, [&](std::int32_t n) { return *f(n); });
}
BENCHMARK(BM_Sha256_Native)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256_RawWasm2c)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256_Compiled)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256_CompiledFuelOnly)->Arg(64)->Unit(benchmark::kMicrosecond);

// ---- run-time path: cold compile vs cache hit (a metering not compiled into the program) -----

void BM_Load_ColdCompile(benchmark::State& state) {
    const auto dir = std::filesystem::path(CORDON_BENCH_CACHE) / "cold";
    for (auto _ : state) {
        std::filesystem::remove_all(dir);
        compiled_options options = variant(false, false);  // not compiled into this program
        options.compile.cache_directory = dir;
        auto fresh = module::from_bytes(load("fib").bytes()).value();  // no per-module memo
        benchmark::DoNotOptimize(compiled_instance::create(fresh, bench_context(), {}, {}, options).value());
    }
}
BENCHMARK(BM_Load_ColdCompile)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_Load_CacheHit(benchmark::State& state) {
    compiled_options options = variant(false, false);
    options.compile.cache_directory = std::filesystem::path(CORDON_BENCH_CACHE) / "warm";
    (void)compiled_instance::create(module::from_bytes(load("fib").bytes()).value(), bench_context(), {}, {}, options).value();
    for (auto _ : state) {
        auto fresh = module::from_bytes(load("fib").bytes()).value();
        benchmark::DoNotOptimize(compiled_instance::create(fresh, bench_context(), {}, {}, options).value());
    }
}
BENCHMARK(BM_Load_CacheHit)->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_with_ratios(
        argc, argv,
        {
            {"BM_Instantiate_Compiled", "BM_Instantiate_RawWasm2c", "new sandbox from a loaded module"},
            {"BM_Fib_Compiled", "BM_Fib_Native", "compiled with metering vs native clang -O2 (target <= 1.25x)"},
            {"BM_Fib_Compiled", "BM_Fib_RawWasm2c", "metering on vs off (target <= 1.1x)"},
            {"BM_Fib_CompiledFuelOnly", "BM_Fib_RawWasm2c", "fuel counters only vs off"},
            {"BM_Fib_CompiledDepthLimit", "BM_Fib_RawWasm2c", "with a call_depth limit (depth counted) vs off"},
            {"BM_Loop_Compiled", "BM_Loop_Native", "compiled with metering vs native (target <= 1.25x)"},
            {"BM_Loop_Compiled", "BM_Loop_RawWasm2c", "metering on vs off (target <= 1.1x)"},
            {"BM_Loop_CompiledCpuLimit", "BM_Loop_Compiled", "with a cpu limit vs without (target <= 1.05x)"},
            {"BM_Sha256_Compiled", "BM_Sha256_Native", "compiled with metering vs native (target <= 1.25x)"},
            {"BM_Sha256_Compiled", "BM_Sha256_RawWasm2c", "metering on vs off (target <= 1.1x)"},
            {"BM_Load_ColdCompile", "BM_Load_CacheHit", "cold compile vs cache hit"},
        });
}
