// ceiling<> narrows a preset; it cannot add what the preset never admits.
// expect: ceiling<...> may only narrow the isolation preset's ceiling
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict, cordon::ceiling<cordon::perm::clock>>;
#else
using p = cordon::policy<cordon::isolation::strict, cordon::ceiling<cordon::perm::clock, cordon::perm::net>>;
#endif
static_assert(p::allows<cordon::perm::clock>);
