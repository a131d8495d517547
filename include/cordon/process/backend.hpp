// cordon::process::backend: the forked-process backend behind the sandbox facade. Each sandbox
// owns a persistent confined child (functions, native plugins) or runs its executable per call.
#pragma once

#include <cordon/backend/capabilities.hpp>
#include <cordon/backend/concept.hpp>
#include <cordon/errors.hpp>
#include <cordon/host/context.hpp>
#include <cordon/host/function.hpp>
#include <cordon/host/value.hpp>
#include <cordon/policy/policy.hpp>
#include <cordon/process/executable.hpp>
#include <cordon/process/payload.hpp>
#include <cordon/process/persistent_child.hpp>
#include <cordon/process/policy_bridge.hpp>
#include <cordon/process/warm_pool.hpp>
#include <cordon/result.hpp>
#include <cordon/telemetry/enforcement.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cordon::process {

namespace detail {

// The live state of one sandbox, shared by its bound functions (which outlive moves of the
// instance). Calls into one sandbox come from one thread at a time; cancel() may come from any.
class sandbox_state {
public:
    /// `functions` are the host functions the child's guest may call; they outlive the state.
    sandbox_state(payload code, host::context& ctx, const host::functions& functions = no_functions())
        : code_{std::move(code)}, ctx_{&ctx}, functions_{&functions} {
        // cordon.h calls of a native plugin and host function calls of either payload, answered
        // with this sandbox's grants. An error stops the guest: the call ends with it as is.
        broker_ = [this](std::span<const std::byte> message) {
            const auto capacity = child_ ? child_->capacity() : channel::default_capacity;
            auto answer = answer_host_call(*ctx_, *functions_, message, capacity);
            if (!answer) stopped_by_broker_ = true;
            return answer;
        };
    }
    sandbox_state(const sandbox_state&) = delete;
    sandbox_state& operator=(const sandbox_state&) = delete;

    /// The confinement for the policy as it stands now.
    [[nodiscard]] confinement current_confinement() const {
        const auto& policy = ctx_->policy();
        grants given = grants_of(policy);
        const auto level = level_of(policy.spec());
        auto kind = payload_kind::function;
        std::string path;
        if (const auto* plugin = std::get_if<native_plugin>(&code_)) kind = payload_kind::shared_object, path = plugin->path;
        if (const auto* program = std::get_if<executable>(&code_)) kind = payload_kind::executable, path = program->path;
        auto c = make_confinement(level, given, limits_of(policy), kind, path);
        c.best_effort = policy.spec().best_effort;
        return c;
    }

    /// How the persistent child starts its payload.
    [[nodiscard]] payload_spec current_payload() const {
        payload_spec spec;
        if (const auto* plugin = std::get_if<native_plugin>(&code_)) {
            spec.kind = payload_kind::shared_object;
            spec.path = plugin->path;
        }
        return spec;
    }

    /// Starts the persistent child if there is none, or replaces one that died or whose
    /// confinement is stale (a grant or limit changed since it started); from the warm pool
    /// when one is enabled and holds a child for exactly this confinement.
    result<persistent_child*> child() {
        const auto generation = ctx_->policy().generation();
        if (child_ && child_->alive() && generation == generation_) return child_.get();
        const bool died = child_ != nullptr && !child_->alive() && !child_->stopped_by_host();
        {
            std::lock_guard lock{cancel_mutex_};
            child_.reset();
        }
        const auto spec = current_payload();
        const auto setup = current_confinement();
        std::optional<persistent_child> warm;
        if (const auto pool = warm_pool::current()) warm = pool->take(setup, spec);
        auto started = warm ? result<persistent_child>{std::move(*warm)} : persistent_child::start(setup, spec);
        if (!started) return started.error();
        {
            std::lock_guard lock{cancel_mutex_};
            child_ = std::make_unique<persistent_child>(std::move(*started));
        }
        generation_ = generation;
        if (died) ctx_->count_restart();
        return child_.get();
    }

    /// One call into the child; the facade does the call's bookkeeping around it. A host
    /// function the call runs may not call back into this sandbox: the child is waiting for it.
    call_outcome<std::vector<std::byte>> call(std::uint64_t entry, std::span<const std::byte> request) {
        if (calling_)
            return {fail(error_kind::invalid_argument,
                         "sandbox is already running a call; calling it again from a host function is not supported")};
        const running_flag running{calling_};
        stopped_by_broker_ = false;
        // A round trip to the child costs tens of microseconds: the precise clock is cheap beside
        // it, and keeps the wall time comparable to the child's own CPU time.
        const auto started = process::detail::now_ns();
        auto live = child();
        result<std::vector<std::byte>> answer =
            live ? (*live)->call(entry, request, broker_) : result<std::vector<std::byte>>{live.error()};
        if (std::holds_alternative<native_plugin>(code_)) answer = check_output(std::move(answer));
        call_usage measured;
        measured.wall_ns = process::detail::now_ns() - started;
        if (live && answer) {
            // The child reports its CPU time with each answer: free here.
            if (const auto cpu = (*live)->last_call_cpu_ns(); cpu != 0) measured.cpu_ns = cpu;
            measured.peak_memory_bytes = (*live)->usage().peak_memory_bytes;
        }
        // The broker recorded what it stopped the guest for, if it was a violation.
        if (!answer && !stopped_by_broker_) answer = settle(answer.error());
        return {std::move(answer), measured};
    }

    /// Runs the executable payload once: input on stdin, stdout returned.
    call_outcome<std::vector<std::byte>> run(std::span<const std::byte> input) {
        const auto* program = std::get_if<executable>(&code_);
        if (program == nullptr) return {fail(error_kind::invalid_argument, "this sandbox's payload is not an executable")};
        exec_request request{program->path, program->args, program->env,
                             std::string(reinterpret_cast<const char*>(input.data()), input.size())};
        auto outcome = run_executable(current_confinement(), request);
        if (!outcome) return {outcome.error()};
        call_usage measured;
        measured.wall_ns = outcome->usage.wall_ns;
        measured.cpu_ns = outcome->usage.cpu_ns != 0 ? outcome->usage.cpu_ns
                                                     : (outcome->usage.cpu_user_us + outcome->usage.cpu_system_us) * 1000;
        measured.peak_memory_bytes = outcome->usage.peak_memory_bytes;
        (void)ctx_->write(host::stream::err, outcome->stderr_bytes);
        last_exit_code_ = outcome->exit_code;
        if (outcome->failure) {
            // A stopped program's stdout cannot be the call's result; it goes to the context's
            // stdout so that what the program wrote before it was stopped reaches the host.
            (void)ctx_->write(host::stream::out, outcome->stdout_bytes);
            return {settle(*outcome->failure), measured};
        }
        const auto* bytes = reinterpret_cast<const std::byte*>(outcome->stdout_bytes.data());
        return {std::vector<std::byte>(bytes, bytes + outcome->stdout_bytes.size()), measured};
    }

    void cancel() noexcept {
        std::lock_guard lock{cancel_mutex_};
        if (child_) child_->cancel();
    }

    [[nodiscard]] int last_exit_code() const noexcept { return last_exit_code_; }
    [[nodiscard]] const payload& code() const noexcept { return code_; }
    [[nodiscard]] host::context& context() const noexcept { return *ctx_; }

private:
    static const host::functions& no_functions() {
        static const host::functions none;
        return none;
    }

    // Set while a call runs, cleared however it ends.
    struct running_flag {
        explicit running_flag(bool& flag) noexcept : flag_{flag} { flag_ = true; }
        running_flag(const running_flag&) = delete;
        running_flag& operator=(const running_flag&) = delete;
        ~running_flag() { flag_ = false; }
        bool& flag_;
    };

    // A violation is recorded with the context (which keeps the list the host reads). A call
    // stopped by cancel() is ended as `timeout` by the facade, whatever the kill looked like.
    error settle(const error& e) {
        if (e.kind() == error_kind::violation && !ctx_->cancelled()) return ctx_->record_violation(e);
        return e;
    }

    // The child caps a plugin's output itself; the host does not take its word for it, and
    // names the limit itself when the child reports hitting it.
    result<std::vector<std::byte>> check_output(result<std::vector<std::byte>> answer) const {
        const auto cap = ctx_->policy().limit(limit::kind::output_bytes);
        const bool over = answer ? cap && answer->size() > *cap : answer.error().kind() == error_kind::output_limit;
        if (!over) return answer;
        const std::uint64_t limit = cap.value_or(channel::default_capacity);
        return limit_exceeded(limit::kind::output_bytes, limit,
                              answer ? std::optional<std::uint64_t>{answer->size()} : std::nullopt);
    }

    payload code_;
    host::context* ctx_;
    const host::functions* functions_;
    host_call_handler broker_;
    bool calling_ = false;
    bool stopped_by_broker_ = false;
    std::unique_ptr<persistent_child> child_;
    std::uint64_t generation_ = 0;
    std::mutex cancel_mutex_;
    int last_exit_code_ = -1;
};

} // namespace detail

/// The forked-process backend (see cordon/backend/concept.hpp for the contract).
struct backend {
    static constexpr std::string_view name = "process";
    /// A call past its deadline or cancelled is stopped by killing the child.
    static constexpr bool stops_running_calls = true;
    using payload = process::payload;

    /// What this backend enforces and how (see cordon/backend/capabilities.hpp). Which of these
    /// mechanisms a sandbox gets depends on its level and on this machine's kernel: its report
    /// carries what the live confinement found (landlock ABI, cgroup version, namespaces).
    static constexpr std::array capabilities{
        enforces(element::isolation, "forked process from a single-threaded zygote"),
        enforces(element::permissions, "the host's broker checks each cordon.h host call and host function the child "
                                       "asks for against the runtime grants"),
        enforces(element::syscalls, "seccomp-bpf allow-list, i386 and x32 ABIs denied, violations named"),
        enforces(element::namespaces, "user, pid, net, mount, ipc and uts namespaces as the level requires"),
        enforces(element::root, "empty read-only tmpfs with read-only binds of granted paths", enforcement_level::enforced,
                 shown::when_observed),
        enforces(element::fs, "landlock path rules"),
        enforces(element::net, "socket() denied unless granted; a port-scoped grant allows TCP streams only "
                               "(seccomp), to the granted ports (landlock, where the kernel has it)"),
        enforces(element::ipc, "landlock scoping of abstract unix sockets and signals, else seccomp kill() to self only",
                 enforcement_level::enforced, shown::when_observed),
        limits(element::memory, "cgroup memory limit, else RLIMIT_AS"),
        limits(element::cpu_time, "supervisor reading the child's CPU clock (ms), RLIMIT_CPU backstop"),
        limits(element::wall_time, "supervisor wall timer, SIGKILL of the whole tree"),
        refuses(element::fuel, "native code counts no instructions", instead::a_wasm_backend_or_cpu_time_ms),
        limits(element::open_files, "RLIMIT_NOFILE above stdin, stdout and stderr (further opens fail with EMFILE)"),
        limits(element::processes, "cgroup pids.max, else RLIMIT_NPROC in the user namespace"),
        refuses(element::net_connections, "no kernel mechanism counts a process's connections",
                instead::dropping_it_or_denying_net),
        limits(element::output_bytes, "host-side cap on captured output"),
        refuses(element::call_depth, "native stacks are not instrumented", instead::a_wasm_backend_or_memory_limit),
        enforces(element::clock, "seccomp: sleeping denied unless granted"),
        enforces(element::random, "getrandom allowed to native programs, which read RDRAND regardless; the host API's "
                                  "random_fill needs the grant",
                 enforcement_level::best_effort, shown::when_observed),
        enforces(element::process, "seccomp: fork and clone of processes denied unless granted"),
        enforces(element::system, "seccomp: host information (uname, sysinfo) refused with EPERM unless granted"),
        enforces(element::plugin, "bus calls brokered to the host's bus; the grant is checked on each call"),
    };

    template <class Policy> class instance {
    public:
        template <class Sig> class bound_function;
        template <class R, class... Args> class bound_function<R(Args...)> {
        public:
            bound_function(std::shared_ptr<detail::sandbox_state> state, std::uint64_t entry) noexcept
                : state_{std::move(state)}, entry_{entry} {}

            call_outcome<R> operator()(Args... args) const {
                const std::array<value, sizeof...(Args)> in{value::of(args)...};
                auto answer = state_->call(entry_, std::as_bytes(std::span{in}));
                return {decode(std::move(answer.value)), answer.used};
            }

        private:
            static result<R> decode(result<std::vector<std::byte>> answer) {
                if (!answer) return answer.error();
                if constexpr (std::is_void_v<R>) {
                    if (!answer->empty()) return fail(error_kind::trap, "malformed result from the sandbox");
                    return {};
                } else {
                    value out;
                    if (answer->size() != sizeof out) return fail(error_kind::trap, "malformed result from the sandbox");
                    std::memcpy(&out, answer->data(), sizeof out);
                    // The child chose the type tag; only the bits are used, as R.
                    return out.template as<R>();
                }
            }

            std::shared_ptr<detail::sandbox_state> state_;
            std::uint64_t entry_;
        };

        static result<instance> create(const payload& code, host::context& ctx, const host::functions& functions) {
            if (const auto* plugin = std::get_if<native_plugin>(&code); plugin && ::access(plugin->path.c_str(), R_OK) != 0) {
                error_info info{"cannot read native plugin " + plugin->path + ": " + std::strerror(errno)};
                info.path = plugin->path;
                return error{error_kind::load_error, std::move(info)};
            }
            auto state = std::make_shared<detail::sandbox_state>(code, ctx, functions);
            // Children that serve calls start now, so a refused confinement fails creation.
            if (!std::holds_alternative<executable>(code))
                if (auto started = state->child(); !started) return started.error();
            return instance{std::move(state)};
        }

        /// A function table's exports; a native plugin's symbols are seen only by its confined
        /// child, and an executable answers any name.
        [[nodiscard]] std::optional<std::vector<host::export_description>> describe_exports() const {
            const auto* table = std::get_if<function_table>(&state_->code());
            if (table == nullptr) return std::nullopt;
            return table->describe();
        }

        template <class Sig> result<bound_function<Sig>> bind(std::string_view export_name) {
            const auto* table = std::get_if<function_table>(&state_->code());
            if (table == nullptr)
                return fail(error_kind::invalid_argument,
                            "typed calls need a function_table payload; native plugins and executables use "
                            "call_bytes()");
            const auto* entry = table->find(export_name);
            if (entry == nullptr || entry->bytes)
                return no_export(export_name, entry ? "it takes bytes; use call_bytes" : "");
            const auto wanted = host::signature_of<Sig>();
            if (entry->sig != wanted) return signature_mismatch(export_name, host::to_string(entry->sig), host::to_string(wanted));
            return bound_function<Sig>{state_, entry->address};
        }

        call_outcome<std::vector<std::byte>> call_bytes(std::string_view export_name, std::span<const std::byte> input) {
            const auto& code = state_->code();
            if (std::holds_alternative<executable>(code)) return state_->run(input);
            if (const auto* table = std::get_if<function_table>(&code)) {
                const auto* entry = table->find(export_name);
                if (entry == nullptr || !entry->bytes)
                    return {no_export(export_name, entry ? "it is typed; use call" : "")};
                return state_->call(entry->address, input);
            }
            // A plugin request starts with the export's name; the child resolves it with dlsym.
            wire_writer request;
            request.put_string(export_name);
            auto bytes = std::move(request).bytes();
            bytes.insert(bytes.end(), input.begin(), input.end());
            return state_->call(0, bytes);
        }

        /// What the confinement of this sandbox gets on this machine.
        [[nodiscard]] std::vector<enforcement_entry> enforcement_facts() const {
            return enforcement_of(state_->current_confinement());
        }

        void cancel() noexcept { state_->cancel(); }

        /// The exit code of the executable's last run (-1 before one, or if it did not exit).
        [[nodiscard]] int last_exit_code() const noexcept { return state_->last_exit_code(); }

    private:
        explicit instance(std::shared_ptr<detail::sandbox_state> state) noexcept : state_{std::move(state)} {}
        std::shared_ptr<detail::sandbox_state> state_;
    };
};

/// Warms `pool` for new sandbox<process::backend, Policy>s running `code` with the policy's
/// defaults (grants or limits changed at creation make a different confinement, warmed by the
/// pool's refill once a sandbox has asked for it).
template <class Policy> result<void> prepare_warm(warm_pool& pool, const payload& code) {
    host::context ctx{Policy::spec()};
    const detail::sandbox_state state{code, ctx};
    return pool.prepare(state.current_confinement(), state.current_payload());
}

/// The confinement a new sandbox<process::backend, Policy> running `code` starts with.
template <class Policy> confinement default_confinement(const payload& code) {
    host::context ctx{Policy::spec()};
    return detail::sandbox_state{code, ctx}.current_confinement();
}

} // namespace cordon::process
