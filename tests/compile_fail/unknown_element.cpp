// Only policy vocabulary may appear in policy<...>.
// expect: unknown policy element
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict, cordon::best_effort>;
#else
using p = cordon::policy<cordon::isolation::strict, int>;
#endif
static_assert(p::allows<cordon::perm::clock>);
