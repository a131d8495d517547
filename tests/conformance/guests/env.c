/* The conformance guest's environment reader for wasm: WASI's environ calls without libc, in a
 * module of its own (importing them needs perm::env in the ceiling). */
#include <cordon/guest/cordon.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("environ_sizes_get"))) int32_t
wasi_environ_sizes_get(int32_t* count, int32_t* size);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("environ_get"))) int32_t
wasi_environ_get(char** entries, char* text);

static char text[4096];
static char* entries[64];

static int starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

/* Answers the value of GREETING, "(unset)" when the guest does not see it. */
CORDON_EXPORT(probe_env) int32_t probe_env(void) {
    int32_t count = 0, size = 0;
    const char* unset = "(unset)";
    if (wasi_environ_sizes_get(&count, &size) != 0 || count > 64 || size > (int32_t)sizeof text ||
        wasi_environ_get(entries, text) != 0)
        return cordon_output_write(unset, 7);
    for (int32_t i = 0; i < count; ++i) {
        if (!starts_with(entries[i], "GREETING=")) continue;
        const char* value = entries[i] + 9;
        size_t n = 0;
        while (value[n]) ++n;
        return cordon_output_write(value, n);
    }
    return cordon_output_write(unset, 7);
}
