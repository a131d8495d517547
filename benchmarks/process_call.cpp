// A call round trip into a persistent process sandbox (shared memory and futex wake-ups) against
// a round trip over a pair of pipes to a forked echo process, the classic alternative.
#include "process_main.hpp"

#include <cordon/process/backend.hpp>
#include <cordon/process/confinement.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/sandbox.hpp>

#include <sys/wait.h>
#include <unistd.h>

namespace {
namespace cp = cordon::process;

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }

void pipe_round_trip(benchmark::State& state) {
    int to_child[2], to_parent[2];
    if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) return state.SkipWithError("pipe");
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(to_child[1]), ::close(to_parent[0]);
        std::int32_t v = 0;
        while (::read(to_child[0], &v, sizeof v) == sizeof v) {
            ++v;
            if (::write(to_parent[1], &v, sizeof v) != sizeof v) break;
        }
        ::_exit(0);
    }
    ::close(to_child[0]), ::close(to_parent[1]);
    std::int32_t v = 0;
    for (auto _ : state) {
        if (::write(to_child[1], &v, sizeof v) != sizeof v || ::read(to_parent[0], &v, sizeof v) != sizeof v)
            return state.SkipWithError("echo process failed");
    }
    ::close(to_child[1]);
    ::waitpid(pid, nullptr, 0);
    ::close(to_parent[0]);
}
BENCHMARK(pipe_round_trip)->UseRealTime();

// The raw channel: one persistent strict child, typed arguments encoded per call.
void round_trip(benchmark::State& state, bool cpu_limited) {
    cp::resource_limits limits;
    if (cpu_limited) limits.cpu_time_ms = 10'000;  // adds one CPU clock read per call
    auto child = cp::persistent_child::start(
        cp::make_confinement(cp::isolation_level::strict, {}, limits, cp::payload_kind::function), {});
    if (!child) return state.SkipWithError(child.error().message().c_str());
    using fn = cp::sandboxed<&add>;
    std::int32_t x = 0;
    for (auto _ : state) {
        auto answer = child->call(fn::entry(), fn::encode_arguments(x, 1));
        if (!answer) return state.SkipWithError(answer.error().message().c_str());
        x = *fn::decode_result(*answer);
    }
    benchmark::DoNotOptimize(x);
}
void channel_round_trip(benchmark::State& state) { round_trip(state, false); }
void channel_round_trip_cpu_limited(benchmark::State& state) { round_trip(state, true); }
BENCHMARK(channel_round_trip)->UseRealTime();
BENCHMARK(channel_round_trip_cpu_limited)->UseRealTime();

// Through the facade: sandbox<process::backend, strict> with a bound function.
void facade_round_trip(benchmark::State& state) {
    using namespace cordon;
    sandbox_options options;
    options.detail = telemetry_detail::counted;
    sandbox<process::backend, policy<isolation::strict>> box{process::function_table{}.add<&add>("add"),
                                                              std::move(options)};
    if (!box.ok()) return state.SkipWithError(box.status().error().message().c_str());
    auto fn = *box.function<std::int32_t(std::int32_t, std::int32_t)>("add");
    std::int32_t x = 0;
    for (auto _ : state) x = *fn(x, 1);
    benchmark::DoNotOptimize(x);
}
BENCHMARK(facade_round_trip)->UseRealTime();

// A native plugin's export through the facade: one with no host call (hoard_files finds no
// file API and returns), one that makes one brokered host call (random_fill of 32 bytes).
void plugin_call(benchmark::State& state, const char* export_name) {
    using namespace cordon;
    sandbox_options options;
    options.detail = telemetry_detail::counted;
    options.grants = {"random"};
    sandbox<process::backend, policy<isolation::strict>> box{process::native_plugin{CORDON_BENCH_GUEST_PLUGIN},
                                                              std::move(options)};
    if (!box.ok()) return state.SkipWithError(box.status().error().message().c_str());
    for (auto _ : state)
        if (auto r = box.call_bytes(export_name, {}); !r) return state.SkipWithError(r.error().message().c_str());
}
void plugin_round_trip(benchmark::State& state) { plugin_call(state, "hoard_files"); }
void plugin_with_host_call(benchmark::State& state) { plugin_call(state, "random_status"); }
BENCHMARK(plugin_round_trip)->UseRealTime();
BENCHMARK(plugin_with_host_call)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_process_benchmarks(
        argc, argv,
        {{"channel_round_trip", "pipe_round_trip", "shared-memory call vs pipe echo"},
         {"channel_round_trip_cpu_limited", "pipe_round_trip", "same, with a cpu limit checked per call"},
         {"facade_round_trip", "pipe_round_trip", "sandbox<process::backend> call vs pipe echo (target <= 5 us)"},
         {"plugin_round_trip", "facade_round_trip", "native plugin export (by name) vs function table entry"},
         {"plugin_with_host_call", "plugin_round_trip", "same export plus one brokered host call"}});
}
