// The compiled engine: plugins translated by wasm2c and compiled into this program at build time
// (cordon_add_compiled_wasm_module in CMake), created by name, confined by the same policies as
// the interpreter — limits, traps with backtraces — and run on several threads at once.
#include <cordon/format.hpp>
#include <cordon/wasm.hpp>

#include <fmt/core.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using fast_policy = cordon::policy<cordon::isolation::strict, cordon::limit::cpu_time_ms<100>>;
using budget_policy = cordon::policy<cordon::isolation::strict, cordon::limit::fuel<1'000'000>>;

template <class Policy> cordon::sandbox<cordon::wasm::compiled, Policy> make(const char* name) {
    return cordon::sandbox<cordon::wasm::compiled, Policy>{cordon::wasm::compiled_module(name).value()};
}

} // namespace

int main() {
    fmt::print("modules compiled into this program:");
    for (const auto& name : cordon::wasm::compiled_module_names()) fmt::print(" {}", name);
    fmt::print("\n\n");

    auto fib = make<fast_policy>("fib");
    auto n = fib.call<std::int32_t(std::int32_t)>("fib", 32);
    fmt::print("fib(32) = {} at native speed\n  {}\n", *n, fib.telemetry().last_call);

    auto budget = make<budget_policy>("fib");
    auto stopped = budget.call<std::int32_t(std::int32_t)>("fib", 32);
    fmt::print("\nthe same under a fuel budget of 1,000,000:\n  {}\n", stopped.error());

    auto loop = make<fast_policy>("endless_loop");
    fmt::print("\nan endless loop under a 100 ms CPU limit:\n  {}\n", loop.call<std::int32_t()>("spin").error());

    auto smash = make<fast_policy>("oob_write");
    fmt::print("\nan out-of-bounds write (caught by the guard region):\n  {}\n", smash.call<void()>("smash").error());

    // Eight sandboxes on four threads, half of them trapping: each trap stays on its thread.
    std::atomic<int> answers{0}, traps{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            auto good = make<fast_policy>("fib");
            auto bad = make<fast_policy>("oob_write");
            for (int i = 0; i < 100; ++i) {
                if (good.call<std::int32_t(std::int32_t)>("fib", 20).value_or(0) == 6765) ++answers;
                if (!bad.call<void()>("smash")) ++traps;
            }
        });
    }
    for (auto& t : threads) t.join();
    fmt::print("\nfour threads: {} answers, {} traps, and the host is still here\n", answers.load(), traps.load());
    return 0;
}
