// The none backend counts no instructions, so a fuel limit on it is refused.
// expect: limit::fuel cannot be enforced by the none backend
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::wall_time_ms<100>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::fuel<1000>>;
#endif
cordon::sandbox<cordon::none::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
