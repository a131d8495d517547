/* Misbehaving: never returns. */
#include <cordon/guest/cordon.h>

CORDON_EXPORT(spin) int32_t spin(void) {
    volatile int32_t x = 0;
    for (;;) ++x;
}
