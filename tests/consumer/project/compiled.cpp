// A consumer of the compiled engine: a module compiled into this program by the installed
// cordon_add_compiled_wasm_module(), created by name under a policy of its own.
#include <cordon/cordon.hpp>
#include <cordon/wasm.hpp>

#include <fmt/core.h>

using my_policy = cordon::policy<cordon::isolation::strict, cordon::limit::fuel<10'000'000>>;

int main() {
    cordon::sandbox<cordon::wasm::compiled, my_policy> box{cordon::wasm::compiled_module("fib").value()};
    auto r = box.call<std::int32_t(std::int32_t)>("fib", 20);
    if (!r) {
        fmt::print(stderr, "{}\n", r.error());
        return 1;
    }
    fmt::print("compiled fib(20) = {}\n", *r);
    return box.backend_instance()->engine().code_from_cache() ? 1 : 0;  // the linked code, not a cache
}
