// Bounded reads of regular files through descriptors: a file is checked with fstat on the
// descriptor that is then read, and refused as soon as it grows past its cap.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/result.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace cordon::plugin {

namespace detail {

using cordon::detail::unique_fd;

/// Checks that an open descriptor is a regular file: stat-then-open would let the file be
/// swapped (for a FIFO that blocks, a device that never ends) between the two.
inline result<void> expect_regular(int fd, const std::string& name) {
    struct ::stat info {};
    if (::fstat(fd, &info) != 0) return fail(error_kind::load_error, name + ": " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) return fail(error_kind::load_error, name + ": not a regular file");
    return {};
}

/// Reads an open regular file to its end, refusing it as soon as it passes `max_bytes`
/// (whatever size it claimed when opened).
inline result<std::string> read_all_bounded(int fd, const std::string& name, std::size_t max_bytes) {
    std::string data;
    char buffer[16384];
    while (true) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(error_kind::load_error, name + ": read error: " + std::strerror(errno));
        if (n == 0) return data;
        data.append(buffer, static_cast<std::size_t>(n));
        if (data.size() > max_bytes)
            return fail(error_kind::load_error, name + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
}

/// Reads a whole regular file of at most `max_bytes`.
inline result<std::string> read_bounded_file(const std::filesystem::path& path, std::size_t max_bytes) {
    unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
    if (fd.get() < 0) return fail(error_kind::load_error, path.string() + ": " + std::strerror(errno));
    if (auto ok = expect_regular(fd.get(), path.string()); !ok) return ok.error();
    return read_all_bounded(fd.get(), path.string(), max_bytes);
}

} // namespace detail

} // namespace cordon::plugin
