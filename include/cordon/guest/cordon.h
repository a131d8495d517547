/* The guest side of cordon's host API, for plugins in C: wasm32 (imports of module "cordon")
 * and native .so plugins of the process backend (the same functions, provided by the host).
 *
 * Native plugins link against nothing: this header gives each function a small inline body
 * that calls through `cordon_host`, a table of function pointers the header defines (weak,
 * so every source file of a plugin may include it). The sandboxed child fills the table after
 * dlopen and forwards each call to the host over its channel, where the grant is checked as
 * for wasm. A plugin that includes this header uses its bytes-in/bytes-out convention for every
 * export: `int32_t f(void)`. Before the child fills the table (in constructors) and from a
 * thread outside a call, the functions return CORDON_ERR_UNSUPPORTED (cordon_log does nothing).
 * Files: a native plugin uses the C library directly, confined by the kernel; the cordon_fs_*
 * functions return CORDON_ERR_UNSUPPORTED there. */
#ifndef CORDON_GUEST_CORDON_H
#define CORDON_GUEST_CORDON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: a negative return value of any cordon_* function. */
#define CORDON_OK 0
#define CORDON_ERR_DENIED (-1)      /* the permission is not granted (a violation is recorded) */
#define CORDON_ERR_NOT_FOUND (-2)
#define CORDON_ERR_INVALID (-3)
#define CORDON_ERR_LIMIT (-4)       /* e.g. too many open files */
#define CORDON_ERR_IO (-5)
#define CORDON_ERR_UNSUPPORTED (-6)
#define CORDON_ERR_BAD_HANDLE (-7)

#define CORDON_LOG_TRACE 0
#define CORDON_LOG_DEBUG 1
#define CORDON_LOG_INFO 2
#define CORDON_LOG_WARN 3
#define CORDON_LOG_ERROR 4

#define CORDON_CLOCK_REALTIME 0
#define CORDON_CLOCK_MONOTONIC 1

#define CORDON_FS_READ 0
#define CORDON_FS_WRITE 1           /* needs the fs_write permission and a writable scope */

#if defined(__wasm__)
#define CORDON_IMPORT(name) __attribute__((import_module("cordon"), import_name(#name)))
/* Marks a function the host may call: CORDON_EXPORT(fib) int32_t fib(int32_t n) { ... } */
#define CORDON_EXPORT(name) __attribute__((export_name(#name)))
#else
#define CORDON_IMPORT(name) static inline
#define CORDON_EXPORT(name) __attribute__((visibility("default")))
#endif

/* Logging: no permission needed; counted against the output_bytes limit. */
CORDON_IMPORT(log) void cordon_log(int32_t level, const char* text, size_t length);

/* Clock (permission clock): nanoseconds. Without the grant: CORDON_ERR_DENIED. */
CORDON_IMPORT(clock_now) int64_t cordon_clock_now(int32_t clock_id);

/* Random bytes (permission random). */
CORDON_IMPORT(random_fill) int32_t cordon_random_fill(void* buffer, size_t length);

/* Files through handles, beneath the host's fs_read / fs_write scopes. Paths are as the guest
 * sees the scopes ("/data/in.txt"); `..`, absolute escapes and symlinks out of a scope fail. */
CORDON_IMPORT(fs_open) int32_t cordon_fs_open(const char* path, size_t length, int32_t flags);
CORDON_IMPORT(fs_read) int32_t cordon_fs_read(int32_t handle, void* buffer, size_t length);
CORDON_IMPORT(fs_write) int32_t cordon_fs_write(int32_t handle, const void* buffer, size_t length);
CORDON_IMPORT(fs_close) int32_t cordon_fs_close(int32_t handle);

/* Configuration values the host set for this plugin. Returns the value's length; when it is
 * larger than `capacity` nothing was written: call again with a larger buffer. */
CORDON_IMPORT(config_get) int32_t cordon_config_get(const char* key, size_t key_length, char* out, size_t capacity);

/* The bytes-in/bytes-out convention. The host calls an export of type `int32_t f(void)`; the
 * guest reads its input with cordon_input_size/cordon_input_read and writes its output with
 * cordon_output_write (copied at once by the host, capped by output_bytes), then returns 0
 * (any other value is reported to the host as a failed call). WASI programs may use stdin. */
CORDON_IMPORT(input_size) int32_t cordon_input_size(void);
CORDON_IMPORT(input_read) int32_t cordon_input_read(void* buffer, size_t capacity);
CORDON_IMPORT(output_write) int32_t cordon_output_write(const void* data, size_t length);

/* The plugin bus (permission plugin): call another plugin, or emit an event. The target is
 * "PLUGIN/FUNCTION"; cordon_bus_call returns the reply's length (nothing written when larger
 * than `capacity`). */
CORDON_IMPORT(bus_call) int32_t cordon_bus_call(const char* target, size_t target_length, const void* input,
                                                size_t input_length, void* out, size_t capacity);
CORDON_IMPORT(bus_emit) int32_t cordon_bus_emit(const char* topic, size_t topic_length, const void* data,
                                                size_t data_length);

/* State hand-over on a hot reload (optional; nothing to import). A plugin that exports
 *   CORDON_EXPORT(cordon_export_state) int32_t cordon_export_state(void);  writes its state as output
 *   CORDON_EXPORT(cordon_import_state) int32_t cordon_import_state(void);  reads it as input
 * under the bytes-in/bytes-out convention has its state carried over when the plugin manager
 * swaps a new version in: the old version's cordon_export_state output becomes the new
 * version's cordon_import_state input, before the new version takes any call. A failure of
 * either refuses the reload and the old version keeps serving. */

#if !defined(__wasm__)
#include "host_table.h"

/* Host functions the host registered for this sandbox (host::function<P>): a wasm guest imports
 * them by module and name; a native plugin calls them here. `args` are the arguments, typed;
 * `results` has room for `result_count` values whose `type` the caller sets before the call.
 * Both give the signature the plugin calls the function as, which the host checks against the
 * function's. Returns CORDON_OK with the results written, or:
 *   CORDON_ERR_NOT_FOUND    no such function; the plugin's call then ends with an error naming it
 *   CORDON_ERR_INVALID      another signature (the call then ends with an error giving both), or
 *                           a module or name empty or longer than 256 bytes, or more than 16 values
 *   CORDON_ERR_DENIED       the function's permission is not granted (a violation is recorded;
 *                           under the host's violation_action::trap the plugin is stopped instead)
 * An error the function itself returns stops the plugin's call with that error. */
static inline int32_t cordon_call_host(const char* module, size_t module_length, const char* name, size_t name_length,
                                       const struct cordon_value* args, size_t arg_count, struct cordon_value* results,
                                       size_t result_count);

/* Filled by the sandboxed child; its presence marks a plugin that follows this header. */
__attribute__((weak, visibility("default"))) const struct cordon_host_table* cordon_host = 0;

#define CORDON_HOST_HAS(field) \
    (cordon_host != 0 && cordon_host->size >= offsetof(struct cordon_host_table, field) + sizeof(cordon_host->field))

static inline void cordon_log(int32_t level, const char* text, size_t length) {
    if (CORDON_HOST_HAS(log)) cordon_host->log(level, text, length);
}
static inline int64_t cordon_clock_now(int32_t clock_id) {
    return CORDON_HOST_HAS(clock_now) ? cordon_host->clock_now(clock_id) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_random_fill(void* buffer, size_t length) {
    return CORDON_HOST_HAS(random_fill) ? cordon_host->random_fill(buffer, length) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_fs_open(const char* path, size_t length, int32_t flags) {
    return CORDON_HOST_HAS(fs_open) ? cordon_host->fs_open(path, length, flags) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_fs_read(int32_t handle, void* buffer, size_t length) {
    return CORDON_HOST_HAS(fs_read) ? cordon_host->fs_read(handle, buffer, length) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_fs_write(int32_t handle, const void* buffer, size_t length) {
    return CORDON_HOST_HAS(fs_write) ? cordon_host->fs_write(handle, buffer, length) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_fs_close(int32_t handle) {
    return CORDON_HOST_HAS(fs_close) ? cordon_host->fs_close(handle) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_config_get(const char* key, size_t key_length, char* out, size_t capacity) {
    return CORDON_HOST_HAS(config_get) ? cordon_host->config_get(key, key_length, out, capacity) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_input_size(void) {
    return CORDON_HOST_HAS(input_size) ? cordon_host->input_size() : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_input_read(void* buffer, size_t capacity) {
    return CORDON_HOST_HAS(input_read) ? cordon_host->input_read(buffer, capacity) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_output_write(const void* data, size_t length) {
    return CORDON_HOST_HAS(output_write) ? cordon_host->output_write(data, length) : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_bus_call(const char* target, size_t target_length, const void* input, size_t input_length,
                                      void* out, size_t capacity) {
    return CORDON_HOST_HAS(bus_call) ? cordon_host->bus_call(target, target_length, input, input_length, out, capacity)
                                     : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_bus_emit(const char* topic, size_t topic_length, const void* data, size_t data_length) {
    return CORDON_HOST_HAS(bus_emit) ? cordon_host->bus_emit(topic, topic_length, data, data_length)
                                     : CORDON_ERR_UNSUPPORTED;
}
static inline int32_t cordon_call_host(const char* module, size_t module_length, const char* name, size_t name_length,
                                       const struct cordon_value* args, size_t arg_count, struct cordon_value* results,
                                       size_t result_count) {
    return CORDON_HOST_HAS(call_host)
               ? cordon_host->call_host(module, module_length, name, name_length, args, arg_count, results, result_count)
               : CORDON_ERR_UNSUPPORTED;
}
#undef CORDON_HOST_HAS
#endif

/* Reentrancy: a call into a sandbox runs to completion before the next; a guest cannot be
 * re-entered from inside one of its own host calls (the host gets an error instead). */

#ifdef __cplusplus
}
#endif

#endif /* CORDON_GUEST_CORDON_H */
