/* The conformance suite's guest in C: every behaviour the suite names, built for wasm32 (both
 * wasm engines) and as a native .so plugin (process backend). Exports taking bytes follow
 * cordon.h's convention and answer a short text: "ok", "denied", "refused", a value, a count. */
#include <cordon/guest/cordon.h>

#if !defined(__wasm__)
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#endif

static size_t length_of(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

static int32_t answer(const char* text) { return cordon_output_write(text, length_of(text)); }

static int32_t answer_count(int32_t count) {
    char digits[12];
    int i = (int)sizeof digits;
    digits[--i] = 0;
    do {
        digits[--i] = (char)('0' + count % 10);
        count /= 10;
    } while (count > 0 && i > 0);
    return answer(digits + i);
}

/* The input as a NUL-terminated path; returns its length or a negative status. */
static int32_t input_path(char* path, size_t capacity) {
    int32_t n = cordon_input_read(path, capacity - 1);
    if (n < 0) return n;
    path[n] = 0;
    return n;
}

/* ---- typed exports (wasm only: a native plugin exports the bytes convention) ---------------- */

CORDON_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }
CORDON_EXPORT(add64) int64_t add64(int64_t a, int64_t b) { return a + b; }
CORDON_EXPORT(scale) double scale(double x, float by) { return x * (double)by; }
CORDON_EXPORT(fib) int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
CORDON_EXPORT(nothing) void nothing(void) {}

/* Never returns (a bytes export, so that every kind calls it alike). */
CORDON_EXPORT(spin) int32_t spin(void) {
    volatile int64_t n = 0;
    for (;;) n = n + 1;
}

/* Recurses without end (the volatile keeps it a real recursion, not a loop). */
CORDON_EXPORT(recurse) int32_t recurse(int32_t depth) {
    volatile int32_t next = depth + 1;
    if (next == -7) return 0;
    return recurse(next) + 1;
}

/* ---- bytes exports ------------------------------------------------------------------------- */

static char buffer[4096];

CORDON_EXPORT(reverse) int32_t reverse(void) {
    int32_t n = cordon_input_read(buffer, sizeof buffer);
    if (n < 0) return n;
    for (int32_t i = 0; i < n / 2; ++i) {
        char c = buffer[i];
        buffer[i] = buffer[n - 1 - i];
        buffer[n - 1 - i] = c;
    }
    return cordon_output_write(buffer, (size_t)n);
}

/* A host call that may be refused; the guest logs that it carried on afterwards, so a host that
 * traps on violations can be seen to have stopped it at once. */
CORDON_EXPORT(probe_clock) int32_t probe_clock(void) {
    int32_t status = answer(cordon_clock_now(CORDON_CLOCK_MONOTONIC) > 0 ? "ok" : "denied");
    const char* after = "carried on";
    cordon_log(CORDON_LOG_INFO, after, length_of(after));
    return status;
}

CORDON_EXPORT(violate) int32_t violate(void) { return probe_clock(); }

CORDON_EXPORT(probe_random) int32_t probe_random(void) {
    unsigned char bytes[32];
    return answer(cordon_random_fill(bytes, sizeof bytes) == CORDON_OK ? "ok" : "denied");
}

CORDON_EXPORT(probe_config) int32_t probe_config(void) {
    const char* key = "greeting";
    int32_t n = cordon_config_get(key, length_of(key), buffer, sizeof buffer);
    if (n < 0) return answer("(unset)");
    if (n > (int32_t)sizeof buffer) return CORDON_ERR_LIMIT;
    return cordon_output_write(buffer, (size_t)n);
}

/* A key longer than any text the host API takes: CORDON_ERR_INVALID, for the guest to handle. */
static char long_key[5000]; /* its bytes do not matter, only its length */
CORDON_EXPORT(probe_long_key) int32_t probe_long_key(void) {
    int32_t n = cordon_config_get(long_key, sizeof long_key, buffer, sizeof buffer);
    return answer(n == CORDON_ERR_INVALID ? "invalid" : "other");
}

/* The plugin bus, for the native plugin (wasm: bus.c, a module of its own, since importing the
 * bus needs perm::plugin in the ceiling). */
#if !defined(__wasm__)
#include "bus.inc"
#endif

CORDON_EXPORT(probe_log) int32_t probe_log(void) {
    const char* text = "hello from the guest";
    cordon_log(CORDON_LOG_INFO, text, length_of(text));
    return answer("ok");
}

CORDON_EXPORT(log_flood) int32_t log_flood(void) {
    for (;;) cordon_log(CORDON_LOG_INFO, buffer, sizeof buffer);
}

CORDON_EXPORT(output_flood) int32_t output_flood(void) {
    for (;;)
        if (cordon_output_write(buffer, sizeof buffer) != CORDON_OK) return CORDON_ERR_LIMIT;
}

/* Files: through cordon.h's handles in wasm; a native plugin uses the C library, confined by
 * the kernel (cordon.h's file functions answer unsupported there). */
#if defined(__wasm__)
static int32_t open_path(const char* path, int32_t length, int writable) {
    return cordon_fs_open(path, (size_t)length, writable ? CORDON_FS_WRITE : CORDON_FS_READ);
}
static int32_t read_handle(int32_t h, char* out, size_t n) { return cordon_fs_read(h, out, n); }
static int32_t write_handle(int32_t h, const char* in, size_t n) { return cordon_fs_write(h, in, n); }
static void close_handle(int32_t h) { cordon_fs_close(h); }
#else
static int32_t open_path(const char* path, int32_t length, int writable) {
    (void)length;
    return open(path, writable ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0600);
}
static int32_t read_handle(int32_t h, char* out, size_t n) { return (int32_t)read(h, out, n); }
static int32_t write_handle(int32_t h, const char* in, size_t n) { return (int32_t)write(h, in, n); }
static void close_handle(int32_t h) { close(h); }
#endif

CORDON_EXPORT(read_file) int32_t read_file(void) {
    char path[512];
    int32_t n = input_path(path, sizeof path);
    if (n < 0) return n;
    int32_t h = open_path(path, n, 0);
    if (h < 0) return answer("refused");
    int32_t got;
    while ((got = read_handle(h, buffer, sizeof buffer)) > 0) cordon_output_write(buffer, (size_t)got);
    close_handle(h);
    return 0;
}

CORDON_EXPORT(write_file) int32_t write_file(void) {
    char path[512];
    int32_t n = input_path(path, sizeof path);
    if (n < 0) return n;
    int32_t h = open_path(path, n, 1);
    if (h < 0) return answer("refused");
    int32_t wrote = write_handle(h, "written", 7);
    close_handle(h);
    return answer(wrote == 7 ? "ok" : "refused");
}

/* Opens the input's file without closing it until refused (at most 1000 times). */
CORDON_EXPORT(hoard_files) int32_t hoard_files(void) {
    char path[512];
    int32_t n = input_path(path, sizeof path);
    if (n < 0) return n;
    int32_t count = 0;
    while (count < 1000 && open_path(path, n, 0) >= 0) ++count;
    return answer_count(count);
}

/* Takes memory in 1 MiB steps until refused (at most 1 GiB); answers how many MiB it got. */
CORDON_EXPORT(eat_memory) int32_t eat_memory(void) {
    int32_t mib = 0;
#if defined(__wasm__)
    while (mib < 1024 && __builtin_wasm_memory_grow(0, 16) != (unsigned long)-1) ++mib;
#else
    for (; mib < 1024; ++mib) {
        char* block = malloc(1 << 20);
        if (block == 0) break;
        memset(block, 1, 1 << 20);
    }
#endif
    return answer_count(mib);
}

#if !defined(__wasm__)
CORDON_EXPORT(probe_system) int32_t probe_system(void) {
    struct utsname u;
    return answer(uname(&u) == 0 ? "ok" : "refused");
}

CORDON_EXPORT(spawn) int32_t spawn(void) {
    pid_t child = fork();
    if (child == 0) _exit(0);
    return answer(child > 0 ? "forked" : "refused");
}
#endif
