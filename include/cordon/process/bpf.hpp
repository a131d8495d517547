// A small assembler for seccomp-bpf programs: rules per system call (allow, allow when an
// argument matches, fail with an errno) compiled into one classic-BPF program with an ABI check.
#pragma once

#include <cordon/process/syscalls.hpp>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace cordon::process {

/// What the filter does with a system call no rule allows.
enum class violation_action : std::uint8_t {
    trap,    // SIGSYS in the child, whose handler reports the call and exits
    notify,  // a user notification to the supervisor, which reports and kills (survives execve)
};

/// A further condition of an allow_if_arg_in rule, tried after the rule's own: the low 32 bits
/// of args[arg], with ignored_bits cleared, are one of values, and the high 32 bits are zero.
struct arg_test {
    unsigned arg = 0;
    std::vector<std::uint32_t> values{};
    // Flags the kernel takes off the argument before reading the value (socket's SOCK_CLOEXEC
    // and SOCK_NONBLOCK): the value is compared without them.
    std::uint32_t ignored_bits = 0;
    std::uint32_t otherwise_errno = 0;  // non-zero: a mismatch answers this errno, else a violation
};

/// One rule: a system call and the condition on its arguments under which it is allowed.
struct syscall_rule {
    enum class kind : std::uint8_t {
        allow,              // always
        allow_if_arg_in,    // args[arg] is one of values (all 64 bits), then every and_also test holds
        allow_if_bits_clear,// (args[arg] & mask) == 0
        allow_if_bits_set,  // (args[arg] & mask) == mask
        errno_if_arg_in,    // args[arg] is one of values: returns -mask; otherwise denied
        deny_if_arg_in,     // the low 32 bits of args[arg] are one of values: violation; else allowed
        fail_with_errno,    // not run; returns -errno (for calls libc probes and falls back from)
    };
    int number = -1;
    kind how = kind::allow;
    unsigned arg = 0;
    std::vector<std::uint32_t> values{};  // allow_if_arg_in / deny_if_arg_in
    std::uint32_t mask = 0;               // bit rules; the errno for fail_with_errno
    // allow_if_arg_in: a non-zero errno answers an unlisted value instead of a violation, for
    // calls that programs probe and handle (a socket of a family the sandbox refuses).
    std::uint32_t otherwise_errno = 0;
    // deny_if_arg_in: when this argument (all 64 bits) is zero the call is allowed whatever the
    // other says (rt_sigaction with no new action only reads the handler). -1: no such escape.
    int allowed_if_zero_arg = -1;
    // allow_if_arg_in: tested in order once the rule's own value matched; all must hold.
    std::vector<arg_test> and_also{};
};

namespace detail {

inline constexpr std::uint32_t seccomp_nr_offset = offsetof(seccomp_data, nr);
inline constexpr std::uint32_t seccomp_arch_offset = offsetof(seccomp_data, arch);
constexpr std::uint32_t arg_low_offset(unsigned arg) { return offsetof(seccomp_data, args) + 8 * arg; }
constexpr std::uint32_t arg_high_offset(unsigned arg) { return arg_low_offset(arg) + 4; }

// x32 shares AUDIT_ARCH_X86_64 and marks its calls with this bit in the number.
inline constexpr std::uint32_t x32_syscall_bit = 0x40000000U;

constexpr sock_filter stmt(std::uint16_t code, std::uint32_t k) { return {code, 0, 0, k}; }
constexpr sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
    return {code, jt, jf, k};
}

inline std::uint32_t denial(violation_action action) {
    return action == violation_action::trap ? SECCOMP_RET_TRAP : SECCOMP_RET_USER_NOTIF;
}

// Compares the low half of args[arg], with ignored_bits cleared, against values: a match jumps
// past the instruction that follows (the mismatch's), a mismatch falls through to it.
inline std::vector<sock_filter> low_half_in(unsigned arg, const std::vector<std::uint32_t>& values,
                                            std::uint32_t ignored_bits = 0) {
    std::vector<sock_filter> code{stmt(BPF_LD | BPF_W | BPF_ABS, arg_low_offset(arg))};
    if (ignored_bits != 0) code.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, ~ignored_bits));
    const auto n = static_cast<std::uint8_t>(values.size());
    for (std::uint8_t i = 0; i < n; ++i)
        code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, values[i], static_cast<std::uint8_t>(n - i), 0));
    return code;
}

// The body of one rule, entered with the call's number already matched. It always ends in a
// return, so rules never fall through into each other.
inline std::vector<sock_filter> rule_body(const syscall_rule& rule, std::uint32_t deny) {
    using kind = syscall_rule::kind;
    std::vector<sock_filter> body;
    const auto ret = [&](std::uint32_t value) { body.push_back(stmt(BPF_RET | BPF_K, value)); };
    const auto append = [&](const std::vector<sock_filter>& code) { body.insert(body.end(), code.begin(), code.end()); };
    const auto refusal = [&](std::uint32_t errno_value) {
        return errno_value != 0 ? SECCOMP_RET_ERRNO | (errno_value & SECCOMP_RET_DATA) : deny;
    };
    switch (rule.how) {
    case kind::allow: ret(SECCOMP_RET_ALLOW); break;
    case kind::fail_with_errno: ret(SECCOMP_RET_ERRNO | (rule.mask & SECCOMP_RET_DATA)); break;
    case kind::allow_if_arg_in:
    case kind::errno_if_arg_in: {
        std::vector<arg_test> tests{{rule.arg, rule.values, 0, rule.otherwise_errno}};
        if (rule.how == kind::allow_if_arg_in) tests.insert(tests.end(), rule.and_also.begin(), rule.and_also.end());
        // Each test is followed by its mismatch's return; a match goes on to the next test and
        // past the last to the rule's answer.
        for (const auto& test : tests) {
            // The values are 32-bit; a set high half never matches one of them, so an argument the
            // kernel reads as an int cannot pass by a high half it would drop.
            const auto compare = low_half_in(test.arg, test.values, test.ignored_bits);
            body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_high_offset(test.arg)));
            body.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, static_cast<std::uint8_t>(compare.size())));
            append(compare);
            ret(refusal(test.otherwise_errno));
        }
        ret(rule.how == kind::allow_if_arg_in ? SECCOMP_RET_ALLOW : refusal(rule.mask));
        break;
    }
    case kind::deny_if_arg_in: {
        // Only the low half is compared: the kernel reads these arguments (a signal number) as
        // an int, so a set high half must not turn a listed value into an allowed one.
        if (rule.allowed_if_zero_arg >= 0) {
            const auto zero_arg = static_cast<unsigned>(rule.allowed_if_zero_arg);
            body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_high_offset(zero_arg)));
            body.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
            body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_low_offset(zero_arg)));
            body.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
            ret(SECCOMP_RET_ALLOW);
        }
        append(low_half_in(rule.arg, rule.values));
        ret(SECCOMP_RET_ALLOW);
        ret(deny);
        break;
    }
    case kind::allow_if_bits_clear:
        body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_low_offset(rule.arg)));
        body.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, rule.mask, 0, 1));
        ret(deny);
        ret(SECCOMP_RET_ALLOW);
        break;
    case kind::allow_if_bits_set:
        body.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg_low_offset(rule.arg)));
        body.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, rule.mask));
        body.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, rule.mask, 1, 0));
        ret(deny);
        ret(SECCOMP_RET_ALLOW);
        break;
    }
    return body;
}

} // namespace detail

/// Compiles rules into a filter: foreign architectures (i386) and the x32 ABI are denied
/// first, then each rule is tried in order, and anything unmatched is denied.
inline std::vector<sock_filter> compile_filter(const std::vector<syscall_rule>& rules, violation_action action) {
    using namespace detail;
    const std::uint32_t deny = denial(action);
    std::vector<sock_filter> program{
        stmt(BPF_LD | BPF_W | BPF_ABS, seccomp_arch_offset),
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET | BPF_K, deny),
        stmt(BPF_LD | BPF_W | BPF_ABS, seccomp_nr_offset),
        jump(BPF_JMP | BPF_JSET | BPF_K, x32_syscall_bit, 0, 1),
        stmt(BPF_RET | BPF_K, deny),
    };
    for (const auto& rule : rules) {
        auto body = rule_body(rule, deny);
        // A body always returns, so a rule is left only through its failed comparison, with
        // the accumulator still holding the call's number: no reload between rules.
        program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(rule.number), 0,
                               static_cast<std::uint8_t>(body.size())));
        program.insert(program.end(), body.begin(), body.end());
    }
    program.push_back(stmt(BPF_RET | BPF_K, deny));
    return program;
}

} // namespace cordon::process
