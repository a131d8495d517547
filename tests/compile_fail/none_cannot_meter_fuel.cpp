// The none backend counts no instructions, so a fuel limit on it is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::fuel, cordon::none::backend, cordon::instead::a_wasm_backend_or_wall_time_ms>
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::wall_time_ms<100>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::fuel<1000>>;
#endif
cordon::sandbox<cordon::none::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
