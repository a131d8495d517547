// deny<> removes whole kinds; narrowing to paths is ceiling<>'s job.
// expect: deny<> removes whole permission kinds
#include <cordon/cordon.hpp>
using namespace cordon;
#ifdef CORDON_COMPILE_FAIL_CONTROL
using p = policy<isolation::standard, deny<perm::fs_read>>;
#else
using p = policy<isolation::standard, deny<perm::fs_read::under<"/etc">>>;
#endif
static_assert(!p::allows<perm::fs_read>);
