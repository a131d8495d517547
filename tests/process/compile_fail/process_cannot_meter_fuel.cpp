// Native code counts no instructions, so a fuel limit on the process backend is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::fuel, cordon::process::backend, cordon::instead::a_wasm_backend_or_cpu_time_ms>
#include <cordon/process/backend.hpp>
#include <cordon/sandbox.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::cpu_time_ms<100>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::fuel<1000>>;
#endif
cordon::sandbox<cordon::process::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
