// Facade overhead: a call through sandbox<none::backend, P> (by name and through a bound
// function) against a direct call of the same C++ function, and the cost of a permission check.
#include "ratio.hpp"

#include <cordon/cordon.hpp>

namespace {
using namespace cordon;
using bench_policy = policy<isolation::standard, allow<perm::clock>>;

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

void facade_bound_call(benchmark::State& state) {
    sandbox<none::backend, bench_policy> box{program()};
    auto fn = *box.function<std::int32_t(std::int32_t, std::int32_t)>("add");
    std::int32_t x = 0;
    for (auto _ : state) {
        x = *fn(x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(facade_bound_call);

void facade_bound_call_counted(benchmark::State& state) {
    sandbox_options options;
    options.detail = telemetry_detail::counted;
    sandbox<none::backend, policy<isolation::minimal>> box{program(), std::move(options)};
    auto fn = *box.function<std::int32_t(std::int32_t, std::int32_t)>("add");
    std::int32_t x = 0;
    for (auto _ : state) {
        x = *fn(x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(facade_bound_call_counted);

void facade_call_by_name(benchmark::State& state) {
    sandbox<none::backend, bench_policy> box{program()};
    std::int32_t x = 0;
    for (auto _ : state) {
        x = *box.call<std::int32_t(std::int32_t, std::int32_t)>("add", x, 1);
        benchmark::DoNotOptimize(x);
    }
}
BENCHMARK(facade_call_by_name);

void permission_check(benchmark::State& state) {
    runtime_policy view{bench_policy::spec()};
    for (auto _ : state) benchmark::DoNotOptimize(view.check("clock").has_value());
}
BENCHMARK(permission_check);

void path_check(benchmark::State& state) {
    runtime_policy view{bench_policy::spec()};
    (void)view.grant("fs.read", "/srv/data");
    for (auto _ : state) benchmark::DoNotOptimize(view.check("fs.read", "/srv/data/images/a.png").has_value());
}
BENCHMARK(path_check);

void sandbox_creation(benchmark::State& state) {
    const auto p = program();
    for (auto _ : state) {
        sandbox<none::backend, bench_policy> box{p};
        benchmark::DoNotOptimize(box.ok());
    }
}
BENCHMARK(sandbox_creation);

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_with_ratios(argc, argv,
                                         {{"facade_bound_call", "direct_call", "per-call cost of the facade (bound, timed, cpu limit)"},
                                          {"facade_bound_call_counted", "direct_call", "per-call cost without clock reads"},
                                          {"facade_call_by_name", "direct_call", "per-call cost with a name lookup"}});
}
