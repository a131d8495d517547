/* The table of host functions a native plugin of the process backend calls through: the one
 * declaration that cordon.h (the guest side) and the sandboxed child (the host side) share. */
#ifndef CORDON_GUEST_HOST_TABLE_H
#define CORDON_GUEST_HOST_TABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
};

#ifdef __cplusplus
}
#endif

#endif /* CORDON_GUEST_HOST_TABLE_H */
