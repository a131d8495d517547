// Telemetry and the enforcement report: one policy type drives a WebAssembly sandbox and a
// process sandbox; each says what it used and which mechanism enforces each element here.
#include <cordon/format.hpp>
#include <cordon/process.hpp>
#include <cordon/wasm.hpp>

#include <fmt/core.h>

#include <string>

using shared_policy = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::clock>,
                                     cordon::limit::memory<32 * cordon::MiB>, cordon::limit::cpu_time_ms<500>>;

int main(int argc, char** argv) {
    // Process sandboxes fork from a zygote started while this program has one thread.
    if (auto z = cordon::process::zygote::start(); !z) fmt::print(stderr, "no process sandboxes: {}\n", z.error());

    const std::string dir = argc > 1 ? argv[1] : CORDON_EXAMPLE_PLUGINS;
    auto module = cordon::wasm::module::from_file(dir + "/fib.wasm");
    if (!module) {
        fmt::print(stderr, "{}\n", module.error());
        return 1;
    }
    cordon::sandbox<cordon::wasm::interpreter, shared_policy> wasm_box{*module};
    auto fib = wasm_box.function<std::int32_t(std::int32_t)>("fib");
    if (!fib) {
        fmt::print(stderr, "{}\n", fib.error());
        return 1;
    }
    for (std::int32_t n : {10, 20, 25}) fmt::print("fib({}) = {}\n", n, (*fib)(n).value_or(-1));
    fmt::print("\nwasm telemetry: {}\n{}\n", wasm_box.telemetry(), wasm_box.enforcement());

    cordon::sandbox<cordon::process::backend, shared_policy> process_box{
        cordon::process::executable{"/bin/echo", {"hello from a confined process"}}};
    if (auto out = process_box.call_bytes("", {}))
        fmt::print("\nprocess said: {}", std::string(reinterpret_cast<const char*>(out->data()), out->size()));
    else
        fmt::print("\nprocess: {}\n", out.error());
    fmt::print("process telemetry: {}\n{}\n", process_box.telemetry(), process_box.enforcement());
    return 0;
}
