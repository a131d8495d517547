// A native plugin for the process backend's tests: exports in the bytes-in/bytes-out C
// convention, one of them hostile.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

extern "C" {

std::uint32_t reverse(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                      std::uint64_t* out_size) {
    if (in_size > capacity) return 1;
    for (std::uint64_t i = 0; i < in_size; ++i) out[i] = in[in_size - 1 - i];
    *out_size = in_size;
    return 0;
}

// Tries to read a file named by the input; answers "opened" or "refused".
std::uint32_t open_file(const std::uint8_t* in, std::uint64_t in_size, std::uint8_t* out, std::uint64_t capacity,
                        std::uint64_t* out_size) {
    char path[256] = {};
    std::memcpy(path, in, in_size < sizeof path - 1 ? in_size : sizeof path - 1);
    const char* answer = ::open(path, O_RDONLY | O_CLOEXEC) >= 0 ? "opened" : "refused";
    const auto n = std::strlen(answer);
    if (n > capacity) return 1;
    std::memcpy(out, answer, n);
    *out_size = n;
    return 0;
}

std::uint32_t fork_child(const std::uint8_t*, std::uint64_t, std::uint8_t*, std::uint64_t, std::uint64_t* out_size) {
    *out_size = 0;
    return ::fork() >= 0 ? 0 : 1;
}
}
