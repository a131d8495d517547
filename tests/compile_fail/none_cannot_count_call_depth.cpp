// The none backend's guest is native C++ whose calls nobody counts, so a call_depth limit on it
// is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::call_depth, cordon::none::backend, cordon::instead::a_wasm_backend>
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict, cordon::limit::output_bytes<4096>>;
#else
using p = cordon::policy<cordon::isolation::strict, cordon::limit::call_depth<64>>;
#endif
void f(cordon::sandbox<cordon::none::backend, p>& box) { (void)box.call<int()>("x"); }
