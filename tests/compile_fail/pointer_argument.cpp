// Host pointers mean nothing inside a sandbox.
// expect: a pointer cannot cross the sandbox boundary
#include <cordon/cordon.hpp>
using p = cordon::policy<cordon::isolation::strict>;
void f(cordon::sandbox<cordon::none::backend, p>& box) {
#ifdef CORDON_COMPILE_FAIL_CONTROL
    (void)box.call<int(unsigned)>("f", 0u);
#else
    (void)box.call<int(const char*)>("f", "text");
#endif
}
