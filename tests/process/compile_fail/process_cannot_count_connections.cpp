// No kernel mechanism counts a process's connections, so that limit is refused.
// expect: cordon: the policy sets an element this backend cannot enforce
// expect: unenforceable<cordon::element::net_connections, cordon::process::backend, cordon::instead::dropping_it_or_denying_net>
#include <cordon/process/backend.hpp>
#include <cordon/sandbox.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::limit::open_files<8>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::limit::net_connections<8>>;
#endif
cordon::sandbox<cordon::process::backend, p>* box = nullptr;
void f() { (void)box->call<int()>("x"); }
