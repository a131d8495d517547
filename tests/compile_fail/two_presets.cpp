// Two presets in one policy conflict.
// expect: conflicting isolation presets
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict>;
#else
using p = cordon::policy<cordon::isolation::strict, cordon::isolation::standard>;
#endif
static_assert(p::allows<cordon::perm::clock>);
