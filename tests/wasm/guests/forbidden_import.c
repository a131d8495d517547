/* Misbehaving: reaches for the plugin bus and the clock, which a strict policy does not give. */
#include <cordon/guest/cordon.h>

CORDON_EXPORT(reach) int32_t reach(void) {
    char reply[16];
    (void)cordon_clock_now(CORDON_CLOCK_REALTIME);
    return cordon_bus_call("other", 5, "x", 1, reply, sizeof reply);
}
