// Benchmarks of the wasm interpreter backend, each against a baseline in the same run: raw WABT
// instantiation, the same module without metering, and the same C built natively. Calls into
// and out of the guest are measured with the other engines in call_path/.
#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>

#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include "ratio.hpp"
#include "raw_wabt.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" {
std::int32_t fib(std::int32_t n);
std::int64_t loop_sum(std::int32_t n);
std::uint32_t sha256_rounds(std::int32_t rounds);
}

namespace {

namespace interp = wabt::interp;
using cordon::wasm::module;
using cordon_bench::raw_wabt;

std::string module_path(const std::string& name) { return std::string(CORDON_BENCH_MODULES) + "/" + name + ".wasm"; }

const module& load(const std::string& name) {
    static std::map<std::string, module> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, module::from_file(module_path(name)).value()).first;
    return it->second;
}

/// A sandbox with the interpreter's default metering, or with frame counters injected as well
/// (what an engine without its own call stack needs to name a trap's function).
std::unique_ptr<cordon::wasm::interpreter_instance> sandbox_for(const std::string& name,
                                                                std::vector<cordon::wasm::host_function> functions = {},
                                                                bool measure_cpu = true, bool frame_counters = false) {
    // Benchmarks run one sandbox at a time: they may share the context that holds their policy.
    static cordon::host::owned_context context{cordon::policy_spec{}.grant("bench")};
    cordon::wasm::engine_options config;
    config.measure_cpu = measure_cpu;
    cordon::wasm::interpreter_options options;
    if (frame_counters) options.metering = cordon::wasm::metering_options{true, false};
    return cordon::wasm::interpreter_instance::create(load(name), context, config, std::move(functions), options).value();
}

// ---- instantiation from a loaded module ------------------------------------------------------

void BM_Instantiate_RawWabt(benchmark::State& state) {
    const module& m = load("fib");
    wabt::Errors errors;
    interp::ModuleDesc desc;
    wabt::ReadBinaryOptions options;
    interp::ReadBinaryInterp("bench", m.bytes().data(), m.bytes().size(), options, &errors, &desc);
    for (auto _ : state) {
        interp::Store store;
        auto mod = interp::Module::New(store, desc);
        interp::Trap::Ptr trap;
        auto instance = interp::Instance::Instantiate(store, mod.ref(), {}, &trap);
        benchmark::DoNotOptimize(instance);
    }
}
BENCHMARK(BM_Instantiate_RawWabt);

void BM_Instantiate_Interpreter(benchmark::State& state) {
    const module& m = load("fib");
    cordon::host::owned_context context{cordon::policy_spec{}};
    (void)cordon::wasm::interpreter_instance::create(m, context);  // metering and compiling happen once per module
    for (auto _ : state) benchmark::DoNotOptimize(cordon::wasm::interpreter_instance::create(m, context));
}
BENCHMARK(BM_Instantiate_Interpreter);

// ---- compute: native vs metered interpreter vs unmetered interpreter -----------------------

void BM_Fib_Native(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(fib(static_cast<std::int32_t>(state.range(0))));
}
void BM_Fib_InterpreterUnmetered(benchmark::State& state) {
    raw_wabt raw{load("fib")};
    auto f = raw.find("fib");
    for (auto _ : state) benchmark::DoNotOptimize(raw.call(f, static_cast<std::int32_t>(state.range(0))));
}
void BM_Fib_InterpreterMetered(benchmark::State& state) {
    auto box = sandbox_for("fib");
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t)>("fib", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Fib_Native)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_InterpreterUnmetered)->Arg(20)->Unit(benchmark::kMicrosecond);
void BM_Fib_InterpreterFrameCounters(benchmark::State& state) {
    auto box = sandbox_for("fib", {}, true, /*frame_counters=*/true);
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t)>("fib", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Fib_InterpreterMetered)->Arg(20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fib_InterpreterFrameCounters)->Arg(20)->Unit(benchmark::kMicrosecond);

void BM_Loop_Native(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(loop_sum(static_cast<std::int32_t>(state.range(0))));
}
void BM_Loop_InterpreterUnmetered(benchmark::State& state) {
    raw_wabt raw{load("fib")};
    auto f = raw.find("loop_sum");
    for (auto _ : state) benchmark::DoNotOptimize(raw.call(f, static_cast<std::int32_t>(state.range(0))));
}
void BM_Loop_InterpreterMetered(benchmark::State& state) {
    auto box = sandbox_for("fib");
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int64_t(std::int32_t)>("loop_sum", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Loop_Native)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_InterpreterUnmetered)->Arg(100000)->Unit(benchmark::kMicrosecond);
void BM_Loop_InterpreterFrameCounters(benchmark::State& state) {
    auto box = sandbox_for("fib", {}, true, /*frame_counters=*/true);
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int64_t(std::int32_t)>("loop_sum", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Loop_InterpreterMetered)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Loop_InterpreterFrameCounters)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_Sha256_Native(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(sha256_rounds(static_cast<std::int32_t>(state.range(0))));
}
void BM_Sha256_InterpreterUnmetered(benchmark::State& state) {
    raw_wabt raw{load("sha256")};
    auto f = raw.find("sha256_rounds");
    for (auto _ : state) benchmark::DoNotOptimize(raw.call(f, static_cast<std::int32_t>(state.range(0))));
}
void BM_Sha256_InterpreterMetered(benchmark::State& state) {
    auto box = sandbox_for("sha256");
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::uint32_t(std::int32_t)>("sha256_rounds", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Sha256_Native)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256_InterpreterUnmetered)->Arg(4)->Unit(benchmark::kMicrosecond);
void BM_Sha256_InterpreterFrameCounters(benchmark::State& state) {
    auto box = sandbox_for("sha256", {}, true, /*frame_counters=*/true);
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::uint32_t(std::int32_t)>("sha256_rounds", static_cast<std::int32_t>(state.range(0))));
}
BENCHMARK(BM_Sha256_InterpreterMetered)->Arg(4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sha256_InterpreterFrameCounters)->Arg(4)->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_with_ratios(
        argc, argv,
        {
            {"BM_Instantiate_Interpreter", "BM_Instantiate_RawWabt", "new sandbox from a loaded module"},
            {"BM_Fib_InterpreterUnmetered", "BM_Fib_Native", "interpreter vs native clang"},
            {"BM_Fib_InterpreterMetered", "BM_Fib_InterpreterUnmetered", "metering on vs off (target <= 1.1x)"},
            {"BM_Fib_InterpreterFrameCounters", "BM_Fib_InterpreterUnmetered", "with frame counters too vs off"},
            {"BM_Loop_InterpreterUnmetered", "BM_Loop_Native", "interpreter vs native clang"},
            {"BM_Loop_InterpreterMetered", "BM_Loop_InterpreterUnmetered", "metering on vs off"},
            {"BM_Loop_InterpreterFrameCounters", "BM_Loop_InterpreterUnmetered", "with frame counters too vs off"},
            {"BM_Sha256_InterpreterUnmetered", "BM_Sha256_Native", "interpreter vs native clang"},
            {"BM_Sha256_InterpreterMetered", "BM_Sha256_InterpreterUnmetered", "metering on vs off"},
            {"BM_Sha256_InterpreterFrameCounters", "BM_Sha256_InterpreterUnmetered", "with frame counters too vs off"},
        });
}
