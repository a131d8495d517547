// The none backend shares the host's heap, so an explicit memory limit on it is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::memory, cordon::none::backend, cordon::instead::a_wasm_or_process_backend>
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict>;
#else
using p = cordon::policy<cordon::isolation::strict, cordon::limit::memory<32 * cordon::MiB>>;
#endif
void f(cordon::sandbox<cordon::none::backend, p>& box) { (void)box.call<int()>("x"); }
