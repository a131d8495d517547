/* A WASI command that exercises one part of WASI per run, chosen by argv[1]:
 * list DIR | stat PATH | seek PATH | env NAME | stdin | clock */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int list(const char* dir) {
    DIR* d = opendir(dir);
    if (!d) {
        perror("opendir");
        return 2;
    }
    struct dirent* e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) printf("%s\n", e->d_name);
    closedir(d);
    return 0;
}

static int stat_size(const char* path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        perror("stat");
        return 2;
    }
    printf("%lld %s\n", (long long)st.st_size, S_ISDIR(st.st_mode) ? "dir" : "file");
    return 0;
}

static int seek(const char* path) {
    FILE* f = fopen(path, "r");
    if (!f) return 2;
    fseek(f, 7, SEEK_SET);
    char buffer[64] = {0};
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    fwrite(buffer, 1, n, stdout);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    if (strcmp(argv[1], "list") == 0 && argc > 2) return list(argv[2]);
    if (strcmp(argv[1], "stat") == 0 && argc > 2) return stat_size(argv[2]);
    if (strcmp(argv[1], "seek") == 0 && argc > 2) return seek(argv[2]);
    if (strcmp(argv[1], "env") == 0 && argc > 2) {
        const char* v = getenv(argv[2]);
        printf("%s\n", v ? v : "(unset)");
        return 0;
    }
    if (strcmp(argv[1], "stdin") == 0) {
        int c;
        while ((c = getchar()) != EOF) putchar(toupper(c));
        return 0;
    }
    if (strcmp(argv[1], "clock") == 0) {
        struct timespec ts;
        return clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec + ts.tv_nsec > 0 ? 0 : 3;
    }
    return 64;
}
