/* A WASI command for the command-line tests, doing what argv[1] says:
 * args | env NAME | cat | longpath DIR | iovecs | escape PATH */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* Opens DIR/aaaa... with a name longer than any host's limit and says which errno came back. */
static int long_path(const char* dir) {
    static char path[6000];
    const size_t prefix = (size_t)snprintf(path, sizeof path, "%s/", dir);
    memset(path + prefix, 'a', 5000);
    path[prefix + 5000] = '\0';
    FILE* f = fopen(path, "r");
    printf("fopen: %s\n", f ? "opened" : strerror(errno));
    return f ? 1 : 0;
}

/* Writes with more iovecs than any host accepts in one call. */
static int too_many_iovecs(void) {
    static __wasi_ciovec_t iovs[5000];
    static const char byte = 'x';
    for (size_t i = 0; i < sizeof iovs / sizeof iovs[0]; ++i) iovs[i] = (__wasi_ciovec_t){(const uint8_t*)&byte, 1};
    __wasi_size_t written = 0;
    const __wasi_errno_t rc = __wasi_fd_write(1, iovs, sizeof iovs / sizeof iovs[0], &written);
    printf("fd_write: errno %d, wrote %u\n", (int)rc, (unsigned)written);
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "args") == 0) {
        printf("argc=%d\n", argc);
        for (int i = 0; i < argc; ++i) printf("[%d]=%s\n", i, argv[i]);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "env") == 0) {
        const char* v = getenv(argv[2]);
        printf("%s=%s\n", argv[2], v ? v : "(unset)");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "cat") == 0) {
        char buffer[4096];
        size_t n;
        while ((n = fread(buffer, 1, sizeof buffer, stdin)) > 0) fwrite(buffer, 1, n, stdout);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "longpath") == 0) return long_path(argv[2]);
    if (argc > 1 && strcmp(argv[1], "iovecs") == 0) return too_many_iovecs();
    if (argc > 2 && strcmp(argv[1], "escape") == 0) {
        printf("written before the escape\n");
        fflush(stdout);
        fprintf(stderr, "and on stderr\n");
        FILE* f = fopen(argv[2], "r");
        printf("after: %s\n", f ? "opened" : strerror(errno));
        return 3;
    }
    return 64;
}
