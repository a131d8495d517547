// The none backend's guest opens files with the host's own descriptors, so an open_files limit
// on it is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::open_files, cordon::none::backend, cordon::instead::a_wasm_or_process_backend>
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::wall_time_ms<100>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::open_files<8>>;
#endif
cordon::sandbox<cordon::none::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
