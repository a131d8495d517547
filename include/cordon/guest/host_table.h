/* The table of host functions a native plugin of the process backend calls through: the one
 * declaration that cordon.h (the guest side) and the sandboxed child (the host side) share. */
#ifndef CORDON_GUEST_HOST_TABLE_H
#define CORDON_GUEST_HOST_TABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A value passed to or returned from a host function (cordon_call_host): its type, and the
 * member of `as` that type names. */
enum cordon_value_type { CORDON_I32 = 0, CORDON_I64 = 1, CORDON_F32 = 2, CORDON_F64 = 3 };
struct cordon_value {
    int32_t type; /* a cordon_value_type */
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } as;
};

/* Native plugins: the functions above, as the sandboxed child provides them. `size` is the
 * table's size in bytes as filled: later versions only append. */
struct cordon_host_table {
    uint64_t size;
    void (*log)(int32_t level, const char* text, size_t length);
    int64_t (*clock_now)(int32_t clock_id);
    int32_t (*random_fill)(void* buffer, size_t length);
    int32_t (*fs_open)(const char* path, size_t length, int32_t flags);
    int32_t (*fs_read)(int32_t handle, void* buffer, size_t length);
    int32_t (*fs_write)(int32_t handle, const void* buffer, size_t length);
    int32_t (*fs_close)(int32_t handle);
    int32_t (*config_get)(const char* key, size_t key_length, char* out, size_t capacity);
    int32_t (*input_size)(void);
    int32_t (*input_read)(void* buffer, size_t capacity);
    int32_t (*output_write)(const void* data, size_t length);
    int32_t (*bus_call)(const char* target, size_t target_length, const void* input, size_t input_length, void* out,
                        size_t capacity);
    int32_t (*bus_emit)(const char* topic, size_t topic_length, const void* data, size_t data_length);
    int32_t (*call_host)(const char* module, size_t module_length, const char* name, size_t name_length,
                         const struct cordon_value* args, size_t arg_count, struct cordon_value* results,
                         size_t result_count);
};

#ifdef __cplusplus
}
#endif

#endif /* CORDON_GUEST_HOST_TABLE_H */
