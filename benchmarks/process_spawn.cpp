// A new process sandbox: from the zygote (all namespaces, minimal root, landlock, seccomp) or
// from a pool of warm children, against fork+exec, fork+unshare, and bwrap with the same namespaces.
#include "process_main.hpp"

#include <cordon/process/confinement.hpp>
#include <cordon/process/executable.hpp>
#include <cordon/process/function_payload.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/process/warm_pool.hpp>

#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

extern char** environ;

namespace {
namespace cp = cordon::process;

std::int32_t identity(std::int32_t x) { return x; }

int spawn_and_wait(const std::vector<const char*>& argv) {
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char* const*>(argv.data()), environ) != 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

void fork_exec_true(benchmark::State& state) {
    const std::vector<const char*> argv{"/bin/true", nullptr};
    for (auto _ : state) benchmark::DoNotOptimize(spawn_and_wait(argv));
}
BENCHMARK(fork_exec_true)->UseRealTime();

void fork_unshare_exit(benchmark::State& state) {
    for (auto _ : state) {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(::unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC) == 0 ? 0 : 1);
        int status = 0;
        ::waitpid(pid, &status, 0);
        benchmark::DoNotOptimize(status);
    }
}
BENCHMARK(fork_unshare_exit)->UseRealTime();

void bwrap_true(benchmark::State& state) {
    const std::vector<const char*> argv{"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr",
                                        "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                                        "--symlink", "usr/bin", "/bin", "/bin/true", nullptr};
    if (::access(argv[0], X_OK) != 0) {
        state.SkipWithError("bwrap is not installed (scripts/install-deps.sh installs bubblewrap)");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(spawn_and_wait(argv));
}
BENCHMARK(bwrap_true)->UseRealTime();

void exec_true(benchmark::State& state, cp::isolation_level level) {
    const auto setup = cp::make_confinement(level, {}, {}, cp::payload_kind::executable, "/usr/bin/true");
    for (auto _ : state) {
        auto outcome = cp::run_executable(setup, {"/usr/bin/true"});
        if (!outcome || outcome->failure) {
            state.SkipWithError("the sandboxed run failed");
            return;
        }
    }
}
void zygote_exec_standard(benchmark::State& state) { exec_true(state, cp::isolation_level::standard); }
void zygote_exec_strict(benchmark::State& state) { exec_true(state, cp::isolation_level::strict); }
BENCHMARK(zygote_exec_standard)->UseRealTime();
BENCHMARK(zygote_exec_strict)->UseRealTime();

// A new persistent sandbox from the zygote, confined and serving: start, one call, stop.
void function_sandbox(benchmark::State& state, cp::isolation_level level) {
    const auto setup = cp::make_confinement(level, {}, {}, cp::payload_kind::function);
    using fn = cp::sandboxed<&identity>;
    const auto request = fn::encode_arguments(7);
    for (auto _ : state) {
        auto child = cp::persistent_child::start(setup, {}, 4096);
        if (!child || !child->call(fn::entry(), request)) {
            state.SkipWithError("the sandbox did not start");
            return;
        }
    }
}
void zygote_sandbox_standard(benchmark::State& state) { function_sandbox(state, cp::isolation_level::standard); }
void zygote_sandbox_strict(benchmark::State& state) { function_sandbox(state, cp::isolation_level::strict); }
BENCHMARK(zygote_sandbox_standard)->UseRealTime();
BENCHMARK(zygote_sandbox_strict)->UseRealTime();

// The same sandbox taken from a pool of warm children: start (a take), one call, stop. The
// pool is refilled outside the timed region, so this is what a sandbox costs while the pool
// keeps up.
void pooled_sandbox(benchmark::State& state, cp::isolation_level level) {
    const auto setup = cp::make_confinement(level, {}, {}, cp::payload_kind::function);
    cp::warm_pool pool{1, cp::warm_pool::refill::on_request};
    using fn = cp::sandboxed<&identity>;
    const auto request = fn::encode_arguments(7);
    for (auto _ : state) {
        state.PauseTiming();
        const bool warmed = static_cast<bool>(pool.prepare(setup, {}));
        state.ResumeTiming();
        auto child = pool.take(setup, {});
        if (!warmed || !child || !child->call(fn::entry(), request)) {
            state.SkipWithError("the pool had no warm child");
            return;
        }
    }
}
void pooled_sandbox_standard(benchmark::State& state) { pooled_sandbox(state, cp::isolation_level::standard); }
void pooled_sandbox_strict(benchmark::State& state) { pooled_sandbox(state, cp::isolation_level::strict); }
BENCHMARK(pooled_sandbox_standard)->UseRealTime();
BENCHMARK(pooled_sandbox_strict)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
    return cordon_bench::run_process_benchmarks(
        argc, argv,
        {{"zygote_exec_strict", "bwrap_true", "strict exec vs bwrap --unshare-all (target <= 0.5x)"},
         {"zygote_exec_strict", "fork_exec_true", "strict exec vs plain fork+exec"},
         {"zygote_exec_standard", "fork_exec_true", "standard exec vs plain fork+exec"},
         {"zygote_sandbox_strict", "fork_unshare_exit", "new strict sandbox vs fork+unshare (target 500 us)"},
         {"zygote_sandbox_standard", "fork_unshare_exit", "new standard sandbox vs fork+unshare"},
         {"pooled_sandbox_strict", "zygote_sandbox_strict", "strict sandbox from the warm pool vs cold"},
         {"pooled_sandbox_strict", "fork_unshare_exit", "strict sandbox from the warm pool vs fork+unshare"},
         {"pooled_sandbox_standard", "zygote_sandbox_standard", "standard sandbox from the warm pool vs cold"}});
}
