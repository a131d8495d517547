// Compile-time path scopes must be normalised absolute paths.
// expect: malformed compile-time scope
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::fs_read::under<"/srv/data">>>;
#else
using p = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::fs_read::under<"/srv/../etc">>>;
#endif
static_assert(p::allows<cordon::perm::clock>);
