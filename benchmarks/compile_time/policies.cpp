// A translation unit every user pays for: the umbrella header and a few policies and sandboxes.
#include <cordon/cordon.hpp>

using namespace cordon;
struct ui : perm::custom<"ui"> {};
using a = policy<isolation::strict, allow<perm::fs_read::under<"/srv">, perm::clock>, limit::cpu_time_ms<500>>;
using b = policy<isolation::standard, ceiling<perm::net::to<"db:5432">, perm::clock, ui>, deny<perm::clock>>;
using c = policy<isolation::minimal, limit::wall_time_ms<100>>;
using d = policy<isolation::maximum>;

int main() {
    none::program p;
    p.export_function("f", [](std::int32_t x) { return x; });
    int sum = 0;
    sum += *sandbox<none::backend, a>{p}.call<std::int32_t(std::int32_t)>("f", 1);
    sum += *sandbox<none::backend, b>{p}.call<std::int32_t(std::int32_t)>("f", 1);
    sum += *sandbox<none::backend, c>{p}.call<std::int32_t(std::int32_t)>("f", 1);
    sum += *sandbox<none::backend, d>{p}.call<std::int32_t(std::int32_t)>("f", 1);
    return sum == 4 ? 0 : 1;
}
