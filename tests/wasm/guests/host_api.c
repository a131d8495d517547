/* Exercises the cordon host API from C: clock, random, files, config, log, bytes in/out. */
#include <cordon/guest/cordon.h>

static size_t length_of(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

CORDON_EXPORT(clock_ok) int32_t clock_ok(void) { return cordon_clock_now(CORDON_CLOCK_MONOTONIC) > 0; }

CORDON_EXPORT(random_status) int32_t random_status(void) {
    unsigned char bytes[32];
    return cordon_random_fill(bytes, sizeof bytes);
}

static char file_buffer[4096];

/* Opens the path given as input and copies the file to the output; returns the open status
 * when it fails. */
CORDON_EXPORT(read_file) int32_t read_file(void) {
    char path[512];
    int32_t n = cordon_input_read(path, sizeof path - 1);
    if (n < 0) return n;
    int32_t handle = cordon_fs_open(path, (size_t)n, CORDON_FS_READ);
    if (handle < 0) return handle;
    int32_t got;
    while ((got = cordon_fs_read(handle, file_buffer, sizeof file_buffer)) > 0) cordon_output_write(file_buffer, (size_t)got);
    cordon_fs_close(handle);
    return got < 0 ? got : 0;
}

CORDON_EXPORT(write_file) int32_t write_file(void) {
    char path[512];
    int32_t n = cordon_input_read(path, sizeof path - 1);
    int32_t handle = cordon_fs_open(path, (size_t)n, CORDON_FS_WRITE);
    if (handle < 0) return handle;
    cordon_fs_write(handle, "data", 4);
    cordon_fs_close(handle);
    return 0;
}

/* Opens files without closing them until the host's limit answers. Returns how many it got. */
CORDON_EXPORT(hoard_files) int32_t hoard_files(void) {
    char path[512];
    int32_t n = cordon_input_read(path, sizeof path - 1);
    int32_t count = 0;
    while (cordon_fs_open(path, (size_t)n, CORDON_FS_READ) >= 0 && count < 1000) ++count;
    return count;
}

CORDON_EXPORT(config_echo) int32_t config_echo(void) {
    char value[64];
    const char* key = "greeting";
    int32_t n = cordon_config_get(key, length_of(key), value, sizeof value);
    if (n < 0) return n;
    if (n > (int32_t)sizeof value) return CORDON_ERR_LIMIT;
    cordon_log(CORDON_LOG_INFO, value, (size_t)n);
    return cordon_output_write(value, (size_t)n);
}
