// Native stacks are not instrumented, so a call_depth limit on the process backend is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::call_depth, cordon::process::backend, cordon::instead::a_wasm_backend_or_memory_limit>
#include <cordon/process/backend.hpp>
#include <cordon/sandbox.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::memory<64 * cordon::MiB>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::call_depth<64>>;
#endif
cordon::sandbox<cordon::process::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
