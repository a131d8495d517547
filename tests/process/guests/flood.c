/* A native plugin that floods its host through cordon.h: logs, or output, without end. */
#include <cordon/guest/cordon.h>

static char chunk[60000];

CORDON_EXPORT(flood) int32_t flood(void) {
    for (;;) cordon_log(CORDON_LOG_INFO, chunk, sizeof chunk);
}

CORDON_EXPORT(output_flood) int32_t output_flood(void) {
    for (;;)
        if (cordon_output_write(chunk, sizeof chunk) != CORDON_OK) return CORDON_ERR_LIMIT;
}
