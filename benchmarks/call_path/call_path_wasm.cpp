// The wasm engines' call path through the facade, with default sandbox options: a bound export
// (host to guest), and a guest loop calling a permission-checked host function or the cordon
// clock (guest to host). Public API only.
#include "call_path.hpp"

#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>
#include <cordon/wasm/compiled.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace {
using namespace cordon;

/// The guest's app.tick import: a host function that needs the clock permission (granted).
sandbox_options with_tick() {
    sandbox_options options;
    options.functions.push_back(host::function<perm::clock>("tick", [](std::int32_t v) { return v & 1; }, "app"));
    return options;
}

template <class Backend> wasm::module payload(const char* name);
template <> wasm::module payload<wasm::interpreter>(const char* name) {
    return wasm::module::from_file(std::string(CORDON_BENCH_MODULES) + "/" + name + ".wasm").value();
}
template <> wasm::module payload<wasm::compiled>(const char* name) { return wasm::compiled_module(name).value(); }

template <class Backend> void facade_bound(benchmark::State& state) {
    sandbox<Backend, cordon_bench::call_policy> box{payload<Backend>("host_loop"), with_tick()};
    auto fn = box.template function<std::int32_t(std::int32_t, std::int32_t)>("add").value();
    if (!fn(1, 2)) return state.SkipWithError("add failed");
    for (auto _ : state) benchmark::DoNotOptimize(fn(1, 2));
}
BENCHMARK(facade_bound<wasm::interpreter>)->Name("interpreter_facade_bound");
BENCHMARK(facade_bound<wasm::compiled>)->Name("compiled_facade_bound");

void compiled_facade_by_name(benchmark::State& state) {
    sandbox<wasm::compiled, cordon_bench::call_policy> box{payload<wasm::compiled>("host_loop"), with_tick()};
    for (auto _ : state) benchmark::DoNotOptimize(box.call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(compiled_facade_by_name);

/// One call of `loop` with the loop count; the guest makes that many host calls, or none.
template <class R> void compiled_guest_loop(benchmark::State& state, const char* module_name, const char* loop) {
    sandbox<wasm::compiled, cordon_bench::call_policy> box{payload<wasm::compiled>(module_name), with_tick()};
    auto fn = box.function<R(std::int32_t)>(loop).value();
    if (auto r = fn(1); !r) return state.SkipWithError(r.error().message().c_str());
    for (auto _ : state) benchmark::DoNotOptimize(fn(cordon_bench::guest_loop_iterations));
    state.SetItemsProcessed(state.iterations() * cordon_bench::guest_loop_iterations);
}
void host_loop(benchmark::State& state, const char* loop) { compiled_guest_loop<std::int32_t>(state, "host_loop", loop); }
void clock_loop(benchmark::State& state) { compiled_guest_loop<std::int64_t>(state, "clock_loop", "clock_n"); }
BENCHMARK_CAPTURE(host_loop, loop_alone, "loop_n")->Name("compiled_facade_guest_loop");
BENCHMARK_CAPTURE(host_loop, user_function, "call_host_n")->Name("compiled_facade_guest_to_host");
BENCHMARK(clock_loop)->Name("compiled_facade_clock");

/// What clock_now costs without a sandbox: the same clock read from C++.
void native_clock(benchmark::State& state) {
    for (auto _ : state) {
        std::int64_t acc = 0;
        for (int i = 0; i < cordon_bench::guest_loop_iterations; ++i) {
            timespec ts{};
            clock_gettime(CLOCK_MONOTONIC, &ts);
            acc += ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
        }
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(state.iterations() * cordon_bench::guest_loop_iterations);
}
BENCHMARK(native_clock);

} // namespace
