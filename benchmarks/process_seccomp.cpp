// What the generated seccomp filter costs a syscall-heavy loop: the same system calls in a forked
// child with and without the filter, for a call its first rule allows and one its last rule allows.
#include "ratio.hpp"

#include <cordon/process/seccomp.hpp>

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace {
namespace cp = cordon::process;

constexpr int calls_per_iteration = 100'000;

// Runs the loop in a fresh child (a filter cannot be removed once installed) and returns the
// child's own measurement of it, in seconds.
double time_in_child(bool filtered, long nr) {
    int report[2];
    if (::pipe(report) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (filtered) {
            cp::syscall_permissions perms;
            perms.system = true;  // uname: the last rule of the list
            perms.self_pid = ::getpid();
            if (!cp::install_filter(cp::syscall_rules(perms), cp::violation_action::trap)) ::_exit(1);
        }
        utsname name{};
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < calls_per_iteration; ++i) ::syscall(nr, &name);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        [[maybe_unused]] auto written = ::write(report[1], &seconds, sizeof seconds);
        ::_exit(0);
    }
    ::close(report[1]);
    double seconds = -1;
    if (::read(report[0], &seconds, sizeof seconds) != sizeof seconds) seconds = -1;
    ::close(report[0]);
    ::waitpid(pid, nullptr, 0);
    return seconds;
}

void syscall_loop(benchmark::State& state, bool filtered, long nr) {
    for (auto _ : state) {
        const double seconds = time_in_child(filtered, nr);
        if (seconds < 0) return state.SkipWithError("the measuring child failed");
        state.SetIterationTime(seconds);
    }
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}

void read_unfiltered(benchmark::State& s) { syscall_loop(s, false, SYS_read); }
void read_filtered(benchmark::State& s) { syscall_loop(s, true, SYS_read); }
void uname_unfiltered(benchmark::State& s) { syscall_loop(s, false, SYS_uname); }
void uname_filtered(benchmark::State& s) { syscall_loop(s, true, SYS_uname); }
BENCHMARK(read_unfiltered)->UseManualTime();
BENCHMARK(read_filtered)->UseManualTime();
BENCHMARK(uname_unfiltered)->UseManualTime();
BENCHMARK(uname_filtered)->UseManualTime();

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_with_ratios(
        argc, argv,
        {{"read_filtered", "read_unfiltered", "read of a bad descriptor, allowed by the first rule"},
         {"uname_filtered", "uname_unfiltered", "uname allowed by the filter's last rule"}});
}
