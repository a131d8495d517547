/* teller 1.0.0, a native plugin of the plugin host example: tell() asks the wasm plugin counter
 * for its next number over the plugin bus and tells what it heard. It runs in a process sandbox
 * (the manifest says "backend": "process"); counter runs in the wasm interpreter. */
#include <cordon/guest/cordon.h>

static const char heard[] = "the native teller heard ";

CORDON_EXPORT(tell) int32_t tell(void) {
    char reply[16];
    int32_t got = cordon_bus_call("counter/next", 12, "", 0, reply, sizeof reply);
    if (got < 0 || got > (int32_t)sizeof reply) return cordon_output_write("nothing", 7);
    int32_t status = cordon_output_write(heard, sizeof heard - 1);
    if (status != CORDON_OK) return status;
    return cordon_output_write(reply, (size_t)got);
}
