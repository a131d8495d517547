// Reading the spec test suite from a test: a file's bytes, and a .wast script converted by
// wast2json (run as a program, no shell between: paths are passed as they are).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace cordon::testing {

inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Converts `wast` into `json` (and its modules beside it) with the wast2json `tool` (a path, or a
/// name looked up in PATH); false when it could not run or refused the script. `quiet` sends its
/// diagnostics to /dev/null.
inline bool convert_wast(const std::string& tool, const std::filesystem::path& wast, const std::filesystem::path& json,
                         bool quiet = false) {
    std::string args[] = {tool, wast.string(), "-o", json.string()};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), nullptr};
    posix_spawn_file_actions_t actions;
    if (::posix_spawn_file_actions_init(&actions) != 0) return false;
    if (quiet) ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, tool.c_str(), &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return false;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace cordon::testing
