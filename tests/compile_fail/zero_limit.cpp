// A limit of zero would allow nothing and is almost always a typo.
// expect: a limit must be positive
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::limit::memory<1>>;
#else
using p = cordon::policy<cordon::limit::memory<0>>;
#endif
static_assert(p::limit_of(cordon::limit::kind::memory).has_value());
