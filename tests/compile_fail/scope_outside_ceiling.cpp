// A compile-time grant beneath a path the ceiling does not cover is outside the ceiling.
// expect: allow<...> grants a permission outside the policy's ceiling
#include <cordon/cordon.hpp>
using namespace cordon;
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = policy<isolation::standard, ceiling<perm::fs_read::under<"/srv">>, allow<perm::fs_read::under<"/srv/data">>>;
#else
using p = policy<isolation::standard, ceiling<perm::fs_read::under<"/srv">>, allow<perm::fs_read::under<"/srvdata">>>;
#endif
static_assert(p::allows<perm::fs_read>);
