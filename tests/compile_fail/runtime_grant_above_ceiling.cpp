// A typed grant of a kind the policy can never hold does not compile.
// expect: grant() of a permission outside the policy's ceiling
#include <cordon/cordon.hpp>
using p = cordon::policy<cordon::isolation::strict>;
void f(cordon::sandbox<cordon::none::backend, p>& box) {
#ifdef CORDON_COMPILE_FAIL_CONTROL
    (void)box.grant(cordon::perm::clock{});
#else
    (void)box.grant(cordon::perm::net{"example.org:443"});
#endif
}
