// Runs the cordon program with arguments and optional stdin, capturing stdout, stderr and the
// exit code, with a time limit so a hanging command fails the test instead of the run.
#pragma once

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace cordon_test {

struct run_result {
    int exit_code = -1;
    std::string out;
    std::string err;
    bool timed_out = false;
    [[nodiscard]] nlohmann::json json() const { return nlohmann::json::parse(out); }
};

inline run_result run_cordon(const std::vector<std::string>& args, const std::string& stdin_data = {},
                             std::chrono::seconds limit = std::chrono::seconds(60)) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<std::string> all{CORDON_EXE};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, CORDON_EXE, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    run_result result;
    if (rc != 0) return result;
    std::size_t written = 0;
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    ::fcntl(err[0], F_SETFL, O_NONBLOCK);
    if (stdin_data.empty()) {
        ::close(in[1]);
        in[1] = -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            result.timed_out = true;
            break;
        }
        pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
        ::poll(fds, in[1] >= 0 ? 3 : 2, 100);
        char buffer[65536];
        auto drain = [&](int fd, std::string& into, bool& open) {
            for (;;) {
                const auto n = ::read(fd, buffer, sizeof buffer);
                if (n > 0) into.append(buffer, static_cast<std::size_t>(n));
                else {
                    if (n == 0) open = false;
                    return;
                }
            }
        };
        if (out_open) drain(out[0], result.out, out_open);
        if (err_open) drain(err[0], result.err, err_open);
        if (in[1] >= 0) {
            const auto n = ::write(in[1], stdin_data.data() + written, stdin_data.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if (written == stdin_data.size() || (n < 0 && errno == EPIPE)) {
                ::close(in[1]);
                in[1] = -1;
            }
        }
    }
    if (in[1] >= 0) ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

} // namespace cordon_test
