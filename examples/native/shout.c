/* A native plugin for the process backend: exports in the bytes-in/bytes-out C convention.
 * shout upper-cases its input; peek tries to read the file its input names. */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

uint32_t shout(const uint8_t* in, uint64_t in_size, uint8_t* out, uint64_t capacity, uint64_t* out_size) {
    if (in_size > capacity) return 1;
    for (uint64_t i = 0; i < in_size; ++i) out[i] = (uint8_t)toupper(in[i]);
    *out_size = in_size;
    return 0;
}

uint32_t peek(const uint8_t* in, uint64_t in_size, uint8_t* out, uint64_t capacity, uint64_t* out_size) {
    char path[256] = {0};
    memcpy(path, in, in_size < sizeof path - 1 ? in_size : sizeof path - 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 2;
    ssize_t n = read(fd, out, capacity);
    close(fd);
    if (n < 0) return 3;
    *out_size = (uint64_t)n;
    return 0;
}
