// Benchmarks of the wasm interpreter backend, each against a baseline in the same run: raw WABT
// calls and instantiation, the same module without metering, and the same C built natively.
#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>

#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include "ratio.hpp"

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

std::string module_path(const std::string& name) { return std::string(CORDON_BENCH_MODULES) + "/" + name + ".wasm"; }

const module& load(const std::string& name) {
    static std::map<std::string, module> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, module::from_file(module_path(name)).value()).first;
    return it->second;
}

/// The module as WABT's own API runs it: no metering, no cordon in between.
struct raw_wabt {
    interp::Store store;
    interp::Module::Ptr mod;
    interp::Instance::Ptr instance;
    interp::Thread thread{store};

    explicit raw_wabt(const std::string& name, bool host_import = false) {
        const module& m = load(name);
        wabt::Errors errors;
        interp::ModuleDesc desc;
        wabt::ReadBinaryOptions options;
        if (wabt::Failed(interp::ReadBinaryInterp("bench", m.bytes().data(), m.bytes().size(), options, &errors, &desc)))
            throw std::runtime_error("cannot read " + name);
        mod = interp::Module::New(store, std::move(desc));
        interp::RefVec imports;
        if (host_import) {
            imports.push_back(interp::HostFunc::New(store, interp::FuncType{{wabt::Type::I32}, {wabt::Type::I32}},
                                                    [](interp::Thread&, const interp::Values& p, interp::Values& r,
                                                       interp::Trap::Ptr*) {
                                                        r[0] = interp::Value::Make(p[0].Get<std::int32_t>() & 1);
                                                        return wabt::Result::Ok;
                                                    })
                                  .ref());
        }
        interp::Trap::Ptr trap;
        instance = interp::Instance::Instantiate(store, mod.ref(), imports, &trap);
        if (!instance) throw std::runtime_error("cannot instantiate " + name);
    }
    interp::Func::Ptr find(const std::string& name) {
        const auto& exports = mod->export_types();
        for (std::size_t i = 0; i < exports.size(); ++i)
            if (exports[i].name == name) return store.UnsafeGet<interp::Func>(instance->exports()[i]);
        throw std::runtime_error("no export " + name);
    }
    std::int64_t call(interp::Func::Ptr& f, std::int32_t arg) {
        interp::Values params{interp::Value::Make(arg)}, results;
        interp::Trap::Ptr trap;
        if (wabt::Failed(f->Call(thread, params, results, &trap))) throw std::runtime_error("trap");
        return f->type().results[0] == wabt::Type::I64 ? results[0].Get<std::int64_t>() : results[0].Get<std::int32_t>();
    }
};

/// A sandbox with the interpreter's default metering, or with frame counters injected as well
/// (what an engine without its own call stack needs to name a trap's function).
std::unique_ptr<cordon::wasm::interpreter_instance> sandbox_for(const std::string& name,
                                                                std::vector<cordon::wasm::host_function> functions = {},
                                                                bool measure_cpu = true, bool frame_counters = false) {
    cordon::wasm::sandbox_config config;
    config.measure_cpu = measure_cpu;
    config.ceiling = {"bench"};
    config.granted = {"bench"};
    cordon::wasm::interpreter_options options;
    if (frame_counters) options.metering = cordon::wasm::metering_options{true, false};
    return cordon::wasm::interpreter_instance::create(load(name), config, std::move(functions), options).value();
}

// ---- host to guest calls --------------------------------------------------------------------

void BM_HostToGuest_RawWabt(benchmark::State& state) {
    raw_wabt raw{"host_loop", true};
    auto add = raw.find("add");
    interp::Values params{interp::Value::Make(std::int32_t{1}), interp::Value::Make(std::int32_t{2})}, results;
    for (auto _ : state) {
        interp::Trap::Ptr trap;
        add->Call(raw.thread, params, results, &trap);
        benchmark::DoNotOptimize(results);
    }
}
BENCHMARK(BM_HostToGuest_RawWabt);

void BM_HostToGuest_Interpreter(benchmark::State& state) {
    std::vector<cordon::wasm::host_function> functions{cordon::wasm::host_function::make<std::int32_t(std::int32_t)>(
        "app", "tick", std::nullopt, [](std::int32_t v) { return v & 1; })};
    auto box = sandbox_for("host_loop", functions);
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(BM_HostToGuest_Interpreter);

void BM_HostToGuest_InterpreterNoCpuClock(benchmark::State& state) {
    std::vector<cordon::wasm::host_function> functions{cordon::wasm::host_function::make<std::int32_t(std::int32_t)>(
        "app", "tick", std::nullopt, [](std::int32_t v) { return v & 1; })};
    auto box = sandbox_for("host_loop", functions, /*measure_cpu=*/false);
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(BM_HostToGuest_InterpreterNoCpuClock);

void BM_HostToGuest_InterpreterNoClocks(benchmark::State& state) {
    cordon::wasm::sandbox_config config;
    config.measure_cpu = false;
    config.measure_wall = false;
    std::vector<cordon::wasm::host_function> functions{cordon::wasm::host_function::make<std::int32_t(std::int32_t)>(
        "app", "tick", std::nullopt, [](std::int32_t v) { return v & 1; })};
    auto box = cordon::wasm::interpreter_instance::create(load("host_loop"), config, functions).value();
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t, std::int32_t)>("add", 1, 2));
}
BENCHMARK(BM_HostToGuest_InterpreterNoClocks);

void BM_HostToGuest_Facade(benchmark::State& state) {
    cordon::sandbox_options options;
    options.functions.push_back(cordon::host::function("tick", [](std::int32_t v) { return v & 1; }, "app"));
    cordon::sandbox<cordon::wasm::interpreter, cordon::policy<cordon::isolation::strict>> box{load("host_loop"), options};
    auto add = box.function<std::int32_t(std::int32_t, std::int32_t)>("add").value();
    for (auto _ : state) benchmark::DoNotOptimize(add(1, 2));
}
BENCHMARK(BM_HostToGuest_Facade);

// ---- guest to host calls (1000 per iteration, against the same loop without the call) ----

void BM_GuestToHost_RawWabt(benchmark::State& state) {
    raw_wabt raw{"host_loop", true};
    auto f = raw.find(state.range(0) ? "call_host_n" : "loop_n");
    for (auto _ : state) benchmark::DoNotOptimize(raw.call(f, 1000));
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_GuestToHost_RawWabt)->Arg(0)->Arg(1);

void BM_GuestToHost_Interpreter(benchmark::State& state) {
    std::vector<cordon::wasm::host_function> functions{cordon::wasm::host_function::make<std::int32_t(std::int32_t)>(
        "app", "tick", "bench", [](std::int32_t v) { return v & 1; })};
    auto box = sandbox_for("host_loop", functions);
    const char* name = state.range(0) ? "call_host_n" : "loop_n";
    for (auto _ : state) benchmark::DoNotOptimize(box->call<std::int32_t(std::int32_t)>(name, 1000));
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_GuestToHost_Interpreter)->Arg(0)->Arg(1);

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
    cordon::wasm::sandbox_config config;
    (void)cordon::wasm::interpreter_instance::create(m, config);  // metering and compiling happen once per module
    for (auto _ : state) benchmark::DoNotOptimize(cordon::wasm::interpreter_instance::create(m, config));
}
BENCHMARK(BM_Instantiate_Interpreter);

// ---- compute: native vs metered interpreter vs unmetered interpreter -----------------------

void BM_Fib_Native(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(fib(static_cast<std::int32_t>(state.range(0))));
}
void BM_Fib_InterpreterUnmetered(benchmark::State& state) {
    raw_wabt raw{"fib"};
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
    raw_wabt raw{"fib"};
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
    raw_wabt raw{"sha256"};
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
            {"BM_HostToGuest_Interpreter", "BM_HostToGuest_RawWabt", "host to guest call vs raw WABT (target <= 1.1x)"},
            {"BM_HostToGuest_InterpreterNoCpuClock", "BM_HostToGuest_RawWabt", "same without per-call CPU clock"},
            {"BM_HostToGuest_InterpreterNoClocks", "BM_HostToGuest_RawWabt", "same without any per-call clock"},
            {"BM_HostToGuest_Facade", "BM_HostToGuest_RawWabt", "through sandbox<wasm::interpreter, strict>"},
            {"BM_GuestToHost_Interpreter", "BM_GuestToHost_RawWabt", "1000 guest to host calls vs raw WABT"},
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
