// The conformance suite on the process backend, with both kinds of payload that serve calls:
// functions of this program (run in a confined child of the zygote) and a native plugin built
// from the suite's C guest against cordon/guest/cordon.h.
#include <cordon/process/backend.hpp>
#include <cordon/process/call_host.hpp>

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "suite.hpp"

namespace cordon::conformance {
namespace {

using bytes = std::vector<std::byte>;

bytes answer(std::string_view text) { return bytes_of(text); }
std::string path_of(std::span<const std::byte> in) { return {reinterpret_cast<const char*>(in.data()), in.size()}; }

std::int32_t add(std::int32_t a, std::int32_t b) { return a + b; }
std::int64_t add64(std::int64_t a, std::int64_t b) { return a + b; }
double scale(double x, float by) { return x * static_cast<double>(by); }
std::int32_t fib(std::int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void nothing() {}
// The host functions part: the host's app.mix and app.beep, brokered from the child.
std::int64_t use_mix(std::int32_t a) {
    return process::call_host<std::int64_t(std::int32_t, std::int64_t)>("app", "mix", a, 10).value_or(-1);
}
std::int32_t use_beep() { return process::call_host<std::int32_t()>("app", "beep").value_or(-1); }

bytes reverse(std::span<const std::byte> in) { return {in.rbegin(), in.rend()}; }
bytes spin(std::span<const std::byte>) {
    volatile std::int64_t n = 0;
    for (;;)
        n = n + 1;
}
// A function payload reaches the kernel directly: its refused request is a system call the
// filter traps.
bytes violate(std::span<const std::byte>) {
    const long r = ::syscall(SYS_ptrace, PTRACE_ATTACH, 1, 0, 0);
    return answer(r == 0 ? "ok" : "refused");
}
bytes read_file(std::span<const std::byte> in) {
    const int fd = ::open(path_of(in).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return answer("refused");
    bytes out;
    char chunk[4096];
    ssize_t got = 0;
    while ((got = ::read(fd, chunk, sizeof chunk)) > 0) {
        const auto* p = reinterpret_cast<const std::byte*>(chunk);
        out.insert(out.end(), p, p + got);
    }
    ::close(fd);
    return out;
}
bytes write_file(std::span<const std::byte> in) {
    const int fd = ::open(path_of(in).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return answer("refused");
    const bool wrote = ::write(fd, "written", 7) == 7;
    ::close(fd);
    return answer(wrote ? "ok" : "refused");
}
bytes hoard_files(std::span<const std::byte> in) {
    const std::string path = path_of(in);
    int count = 0;
    while (count < 1000 && ::open(path.c_str(), O_RDONLY | O_CLOEXEC) >= 0)
        ++count;
    return answer(std::to_string(count));
}
bytes eat_memory(std::span<const std::byte>) {
    int mib = 0;
    for (; mib < 1024; ++mib) {
        void* block = std::malloc(1 << 20);
        if (block == nullptr) break;
        std::memset(block, 1, 1 << 20);
    }
    return answer(std::to_string(mib));
}
bytes spawn(std::span<const std::byte>) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    return answer(child > 0 ? "forked" : "refused");
}
bytes probe_system(std::span<const std::byte>) {
    struct utsname u {};
    return answer(::uname(&u) == 0 ? "ok" : "refused");
}

process::function_table behaviours() {
    return process::function_table{}
        .add<&add>("add")
        .add<&add64>("add64")
        .add<&scale>("scale")
        .add<&fib>("fib")
        .add<&nothing>("nothing")
        .add<&use_mix>("use_mix")
        .add<&use_beep>("use_beep")
        .add_bytes<&reverse>("reverse")
        .add_bytes<&spin>("spin")
        .add_bytes<&violate>("violate")
        .add_bytes<&read_file>("read_file")
        .add_bytes<&write_file>("write_file")
        .add_bytes<&hoard_files>("hoard_files")
        .add_bytes<&eat_memory>("eat_memory")
        .add_bytes<&spawn>("spawn")
        .add_bytes<&probe_system>("probe_system");
}

} // namespace

/// What both process payload kinds cannot express, or lack today.
struct process_kind : expressible {
    using backend = process::backend;
    static constexpr capability call_values = cannot("process::backend offers no call_values");
    static constexpr capability fuel = cannot("native code counts no instructions (compile-time rejection)");
    static constexpr capability call_depth = cannot("native stacks are not instrumented (compile-time rejection)");
};

struct process_functions : process_kind {
    static constexpr std::string_view name = "process (function payload)";
    static process::payload payload(part) { return behaviours(); }

    static constexpr capability host_api =
        cannot("a function payload runs host-program code in the child, confined by the kernel, without "
               "cordon's host API");
    static constexpr capability environment = cannot("a function payload has no host API to read an environment from");
    static constexpr capability bus = cannot("a function payload has no host API to reach the bus through");
    static constexpr capability record_keeps_call =
        cannot("a function payload's refused system call traps and stops the child whatever violation_action says");
};

struct process_native_plugin : process_kind {
    static constexpr std::string_view name = "process (native plugin)";
    static process::payload payload(part) { return process::native_plugin{CORDON_CONFORMANCE_PLUGIN}; }

    static constexpr capability typed_calls = cannot("a native plugin exports the bytes convention only (cordon.h)");
    static constexpr capability environment = cannot("cordon.h offers a native plugin no environment call");
    static constexpr capability host_functions =
        cannot("the cases call typed exports, and a native plugin exports the bytes convention only (its "
               "cordon_call_host is attacked in tests/process/host_function_test.cpp)");
    static constexpr capability refuses_reentry = host_functions;
};

using kinds = ::testing::Types<process_functions, process_native_plugin>;
INSTANTIATE_TYPED_TEST_SUITE_P(Process, Conformance, kinds);

} // namespace cordon::conformance
