// A consumer of the installed library: a policy of its own, a sandbox, a call.
#include <cordon/cordon.hpp>

#include <fmt/core.h>

using my_policy = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::clock>>;

int main() {
    cordon::none::program program;
    program.export_function("fib", [](std::int32_t n) {
        std::int32_t a = 0, b = 1;
        for (std::int32_t i = 0; i < n; ++i) b = std::exchange(a, b) + b;
        return a;
    });
    cordon::sandbox<cordon::none::backend, my_policy> box{program};
    auto r = box.call<std::int32_t(std::int32_t)>("fib", 20);
    if (!r) {
        fmt::print(stderr, "{}\n", r.error());
        return 1;
    }
    fmt::print("fib(20) = {}\n{}\n", *r, my_policy{});
    return 0;
}
