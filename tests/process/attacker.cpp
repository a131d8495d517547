// A hostile program for the executable payload's attack tests: argv[1] names the attack,
// the exit code says whether it got through (0) or was refused (the errno, or 100+).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int errno_or_zero(long rc) { return rc < 0 ? errno : 0; }

int connect_tcp(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return errno;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return errno_or_zero(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
}

int connect_abstract(const char* name) {
    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return errno;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path + 1, name, sizeof addr.sun_path - 2);
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(name));
    return errno_or_zero(::connect(s, reinterpret_cast<sockaddr*>(&addr), len));
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 100;
    const std::string attack = argv[1];
    const char* arg = argc > 2 ? argv[2] : "";
    if (attack == "echo") {
        std::string line;
        int c;
        while ((c = std::getchar()) != EOF) line.push_back(static_cast<char>(c));
        std::printf("%s|%s", arg, line.c_str());
        std::fprintf(stderr, "err:%s", std::getenv("CORDON_TEST") ? std::getenv("CORDON_TEST") : "");
        return 0;
    }
    if (attack == "read") return ::open(arg, O_RDONLY) >= 0 ? 0 : errno;
    if (attack == "write") return ::open(arg, O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : errno;
    if (attack == "fork") {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(0);
        return pid > 0 ? 0 : errno;
    }
    if (attack == "exec") {
        char* const args[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execv("/bin/true", args);
        return errno;
    }
    if (attack == "execveat") {
        // The payload's descriptor number with an absolute path, which the kernel follows instead.
        char* const args[] = {const_cast<char*>("/bin/true"), nullptr};
        ::syscall(SYS_execveat, 1000, "/bin/true", args, nullptr, AT_EMPTY_PATH);
        return errno;
    }
    if (attack == "unix") {
        const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) return errno;
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, arg, sizeof addr.sun_path - 1);
        return errno_or_zero(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    }
    if (attack == "forkbomb") {
        for (;;) ::fork();
    }
    if (attack == "connect") return connect_tcp(std::atoi(arg));
    if (attack == "abstract") return connect_abstract(arg);
    if (attack == "kill") return errno_or_zero(::kill(std::atoi(arg), SIGKILL));
    if (attack == "ptrace") return errno_or_zero(::ptrace(PTRACE_ATTACH, std::atoi(arg), nullptr, nullptr));
    if (attack == "setuid") return errno_or_zero(::setuid(0));
    if (attack == "unshare") return errno_or_zero(::unshare(CLONE_NEWUSER));
    if (attack == "mount") return errno_or_zero(::mount("none", "/tmp", "tmpfs", 0, nullptr));
    if (attack == "bpf") return errno_or_zero(::syscall(SYS_bpf, 0, nullptr, 0));
    if (attack == "keyctl") return errno_or_zero(::syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    if (attack == "i386") {
        long rc = 20;
        asm volatile("int $0x80" : "+a"(rc) : : "memory");
        return 0;
    }
    if (attack == "memory") {
        std::vector<char*> blocks;
        for (;;) {
            auto* block = static_cast<char*>(std::malloc(1 << 20));
            if (block == nullptr) return 101;
            std::memset(block, 1, 1 << 20);
            blocks.push_back(block);
        }
    }
    if (attack == "spin") {
        volatile unsigned long n = 0;
        for (;;) n = n + 1;
    }
    if (attack == "pause") return ::pause() < 0 ? 0 : 1;
    if (attack == "sleep") {
        timespec ts{60, 0};
        ::nanosleep(&ts, nullptr);
        return 0;
    }
    if (attack == "fds") {
        int opened = 0;
        while (::dup(1) >= 0) ++opened;
        std::printf("%d", opened);
        return 0;
    }
    if (attack == "fsize") {
        const int fd = ::open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return errno;
        std::vector<char> chunk(1 << 16, 'x');
        for (;;)
            if (::write(fd, chunk.data(), chunk.size()) < 0) return errno;
    }
    if (attack == "flood") {
        std::vector<char> chunk(1 << 16, 'y');
        for (;;)
            if (::write(1, chunk.data(), chunk.size()) < 0) return errno;
    }
    if (attack == "leaks") {
        // Lists every open descriptor above stderr.
        int count = 0;
        for (int fd = 3; fd < 4096; ++fd)
            if (::fcntl(fd, F_GETFD) >= 0) {
                std::printf("%d ", fd);
                ++count;
            }
        return count;
    }
    return 100;
}
