// A child's answer is untrusted: a struct holding a bool could come back holding a byte that is
// no bool, so only structs of numbers that say so may be a sandboxed function's result.
// expect: a struct must hold only numbers and say so with any_byte_pattern_valid
#include <cordon/process/function_payload.hpp>
#ifdef CORDON_COMPILE_FAIL_CONTROL
struct answer {
    int value;
    int found;
};
template <> struct cordon::process::any_byte_pattern_valid<answer> : std::true_type {};
#else
struct answer {
    int value;
    bool found;
};
#endif
answer look_up(int key) { return {key, 1}; }
auto entry = cordon::process::sandboxed<&look_up>::entry();
