/* A native plugin for the process backend, written against cordon.h: each export is
 * `int32_t f(void)`, reads its input and writes its output through the host table.
 * shout upper-cases its input; peek tries to read the file its input names, with the C
 * library, so the kernel (landlock, seccomp) decides. */
#include <cordon/guest/cordon.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

CORDON_EXPORT(shout) int32_t shout(void) {
    char text[256];
    if (cordon_input_size() > (int32_t)sizeof text) return 3; /* refuse rather than cut */
    const int32_t n = cordon_input_read(text, sizeof text);
    if (n < 0) return 1;
    for (int32_t i = 0; i < n; ++i) text[i] = (char)toupper((unsigned char)text[i]);
    static const char note[] = "shouting";
    cordon_log(CORDON_LOG_INFO, note, sizeof note - 1);
    return cordon_output_write(text, (size_t)n) == CORDON_OK ? 0 : 2;
}

CORDON_EXPORT(peek) int32_t peek(void) {
    char path[256] = {0};
    const int32_t n = cordon_input_read(path, sizeof path - 1);
    if (n < 0) return 1;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 2;
    char buffer[4096];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0)
        if (cordon_output_write(buffer, (size_t)got) != CORDON_OK) break;
    close(fd);
    return got < 0 ? 3 : 0;
}
