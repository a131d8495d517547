// Allowing and denying the same permission is contradictory.
// expect: contradictory policy: a permission is in both allow<> and deny<>
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::standard, cordon::allow<cordon::perm::clock>, cordon::deny<cordon::perm::env>>;
#else
using p = cordon::policy<cordon::isolation::standard, cordon::allow<cordon::perm::clock>, cordon::deny<cordon::perm::clock>>;
#endif
static_assert(p::allows<cordon::perm::random>);
