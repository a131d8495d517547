/* Misbehaving: writes far past the end of its linear memory. */
#include <cordon/guest/cordon.h>

CORDON_EXPORT(smash) void smash(void) {
    volatile uint32_t* far = (volatile uint32_t*)(uintptr_t)0xFFFFFFF0u;
    *far = 0xDEADBEEF;
}
