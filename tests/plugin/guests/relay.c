/* The mixed-backend tests' plugin, built from this one source as a wasm module and as a native
 * plugin, so that the two talk to each other over the plugin bus.
 *   answer: "pong from wasm: INPUT" or "pong from native: INPUT"
 *   relay:  the input is "TARGET[ REST]"; calls TARGET ("PLUGIN/FUNCTION") with REST and answers
 *           what came back, or the refusal as text ("denied", "not found", "limit", "error")
 *   crash:  dies (a native plugin's process of SIGILL; a wasm plugin traps) */
#include <cordon/guest/cordon.h>

#if defined(__wasm__)
#define FLAVOUR "pong from wasm: "
#else
#define FLAVOUR "pong from native: "
#endif

static char input[512];
static char reply[512];

static size_t length_of(const char* text) {
    size_t n = 0;
    while (text[n]) ++n;
    return n;
}

static int32_t say(const char* text) { return cordon_output_write(text, length_of(text)); }

/* A native plugin exports its functions under their C names. */
CORDON_EXPORT(answer) int32_t answer(void) {
    int32_t n = cordon_input_read(input, sizeof input);
    if (n < 0) return n;
    int32_t status = say(FLAVOUR);
    if (status != CORDON_OK) return status;
    return cordon_output_write(input, (size_t)n);
}

CORDON_EXPORT(relay) int32_t relay(void) {
    int32_t n = cordon_input_read(input, sizeof input);
    if (n < 0) return n;
    size_t target = 0;
    while (target < (size_t)n && input[target] != ' ') ++target;
    size_t rest = target < (size_t)n ? target + 1 : target;
    int32_t got = cordon_bus_call(input, target, input + rest, (size_t)n - rest, reply, sizeof reply);
    switch (got) {
    case CORDON_ERR_DENIED: return say("denied");
    case CORDON_ERR_NOT_FOUND: return say("not found");
    case CORDON_ERR_LIMIT: return say("limit");
    default: break;
    }
    if (got < 0) return say("error");
    if (got > (int32_t)sizeof reply) return say("too long");
    return cordon_output_write(reply, (size_t)got);
}

CORDON_EXPORT(crash) int32_t crash(void) { __builtin_trap(); }
