// A user-defined permission cannot pose as a built-in one.
// expect: a custom permission may not reuse a built-in permission's name
#include <cordon/cordon.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
struct mine : cordon::perm::custom<"mine"> {};
#else
struct mine : cordon::perm::custom<"net"> {};
#endif
static_assert(cordon::policy<cordon::isolation::standard>::allows<mine>);
