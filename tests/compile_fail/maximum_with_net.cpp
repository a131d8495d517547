// A maximum-isolation policy that allows the network contradicts itself.
// expect: allow<...> grants a permission outside the policy's ceiling
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::maximum>;
#else
using p = cordon::policy<cordon::isolation::maximum, cordon::allow<cordon::perm::net>>;
#endif
static_assert(!p::allows<cordon::perm::clock>);
