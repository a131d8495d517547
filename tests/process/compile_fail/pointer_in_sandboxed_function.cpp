// Memory is not shared with the child, so a sandboxed host function cannot take a pointer.
// expect: arguments and result must be trivially copyable values (no pointers)
#include <cordon/process/function_payload.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
int f(int x) { return x; }
#else
int f(int* x) { return *x; }
#endif
auto entry = cordon::process::sandboxed<&f>::entry();
