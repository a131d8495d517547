/* A WASI command that prints the file named by argv[1], and tries what argv[2] says:
 * "write" writes argv[1] instead; otherwise just reads. Exit code 2 when open fails. */
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    const int writing = argc > 2 && strcmp(argv[2], "write") == 0;
    FILE* f = fopen(argv[1], writing ? "w" : "r");
    if (!f) {
        perror("fopen");
        return 2;
    }
    if (writing) {
        fputs("written by wasm\n", f);
    } else {
        char buffer[256];
        size_t n;
        while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) fwrite(buffer, 1, n, stdout);
    }
    fclose(f);
    return 0;
}
