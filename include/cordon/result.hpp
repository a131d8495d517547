// Results as values: cordon::result<T>, the error kinds every backend reports, and a
// std::error_code category, so guest faults never escape as exceptions or crashes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cordon {

/// What went wrong. The first group are the statuses of the CLI contract (DESIGN.md);
/// the rest are host-side misuse the library reports instead of throwing.
enum class error_kind : std::uint8_t {
    load_error = 1,             // malformed module, missing file, unknown import
    denied,                     // an import or grant outside the policy
    violation,                  // the guest tried something its grants forbid
    trap,                       // the guest faulted (unreachable, out of bounds, ...)
    crash,                      // the guest process died of a signal
    memory_limit,
    cpu_limit,
    timeout,                    // wall-clock limit, or cancel()
    fuel_exhausted,
    file_limit,
    process_limit,
    output_limit,
    permission_outside_policy,  // a runtime grant above the compile-time ceiling
    limit_outside_policy,       // a runtime limit looser than the one in force
    invalid_argument,           // wrong signature, unknown export, bad scope syntax
    unsupported,                // a required mechanism is missing on this machine
    internal,                   // a bug or an unexpected system failure
};

inline constexpr error_kind all_error_kinds[] = {
    error_kind::load_error,    error_kind::denied,          error_kind::violation,
    error_kind::trap,          error_kind::crash,           error_kind::memory_limit,
    error_kind::cpu_limit,     error_kind::timeout,         error_kind::fuel_exhausted,
    error_kind::file_limit,    error_kind::process_limit,   error_kind::output_limit,
    error_kind::permission_outside_policy,                  error_kind::limit_outside_policy,
    error_kind::invalid_argument,                           error_kind::unsupported,
    error_kind::internal,
};

/// The status word of the CLI's JSON output for this kind.
constexpr std::string_view to_string(error_kind kind) noexcept {
    switch (kind) {
    case error_kind::load_error: return "load_error";
    case error_kind::denied: return "denied";
    case error_kind::violation: return "violation";
    case error_kind::trap: return "trap";
    case error_kind::crash: return "crash";
    case error_kind::memory_limit: return "memory_limit";
    case error_kind::cpu_limit: return "cpu_limit";
    case error_kind::timeout: return "timeout";
    case error_kind::fuel_exhausted: return "fuel_exhausted";
    case error_kind::file_limit: return "file_limit";
    case error_kind::process_limit: return "process_limit";
    case error_kind::output_limit: return "output_limit";
    case error_kind::permission_outside_policy: return "permission_outside_policy";
    case error_kind::limit_outside_policy: return "limit_outside_policy";
    case error_kind::invalid_argument: return "invalid_argument";
    case error_kind::unsupported: return "unsupported";
    case error_kind::internal: return "internal";
    }
    return "unknown";
}

/// True for the kinds that mean "a resource limit was hit".
constexpr bool is_limit(error_kind kind) noexcept {
    switch (kind) {
    case error_kind::memory_limit:
    case error_kind::cpu_limit:
    case error_kind::timeout:
    case error_kind::fuel_exhausted:
    case error_kind::file_limit:
    case error_kind::process_limit:
    case error_kind::output_limit: return true;
    default: return false;
    }
}

/// One frame of a guest backtrace, innermost first.
struct frame {
    std::string function;          // name from the name section or symbol table, else "func[N]"
    std::optional<std::uint32_t> index{};  // function index (wasm) where known
    std::optional<std::uint64_t> offset{}; // code offset where known
};

/// The limit that was hit: which, the value in force and what was observed.
struct limit_detail {
    std::string name;              // "memory", "cpu_time", "fuel", ...
    std::uint64_t limit = 0;
    std::optional<std::uint64_t> observed{};
};

/// Everything an error can say beyond its kind. Fields a backend cannot know stay empty.
struct error_info {
    std::string message;
    std::optional<std::string> permission{};   // "fs.read", "net", a custom tag's name
    std::optional<std::string> syscall{};      // "ptrace"
    std::optional<long> syscall_number{};      // 101
    std::optional<std::string> path{};
    std::optional<int> signal{};               // for crashes
    std::optional<limit_detail> limit{};
    std::optional<std::string> function{};     // the guest function that was running
    std::vector<frame> backtrace{};
    bool backtrace_complete = true;            // false: frames between the listed ones are unknown
};

/// An error value: a kind and shared, immutable details. Copying is cheap; building one
/// allocates, which only happens on the failure path.
class error {
public:
    error(error_kind kind, std::string message) : error(kind, error_info{std::move(message)}) {}
    error(error_kind kind, error_info info)
        : kind_{kind}, info_{std::make_shared<const error_info>(std::move(info))} {}

    [[nodiscard]] error_kind kind() const noexcept { return kind_; }
    // On a temporary error the details are copied out, so that `const auto& m = f().message();`
    // does not refer into an error that dies at the end of the statement.
    [[nodiscard]] const std::string& message() const& noexcept { return info_->message; }
    [[nodiscard]] std::string message() const&& { return info_->message; }
    [[nodiscard]] const error_info& info() const& noexcept { return *info_; }
    [[nodiscard]] error_info info() const&& { return *info_; }
    [[nodiscard]] std::error_code code() const noexcept;

    /// A copy with one more piece of context in front of the message ("in fib: ...").
    [[nodiscard]] error with_context(std::string_view context) const {
        error_info copy = *info_;
        copy.message = std::string(context) + ": " + copy.message;
        return {kind_, std::move(copy)};
    }

    friend bool operator==(const error& a, error_kind k) noexcept { return a.kind_ == k; }

private:
    error_kind kind_;
    std::shared_ptr<const error_info> info_;
};

/// The std::error_code category of cordon's error kinds, named "cordon".
inline const std::error_category& error_category() noexcept {
    struct category final : std::error_category {
        const char* name() const noexcept override { return "cordon"; }
        std::string message(int value) const override {
            return std::string(to_string(static_cast<error_kind>(value)));
        }
    };
    static const category instance;
    return instance;
}

inline std::error_code make_error_code(error_kind kind) noexcept {
    return {static_cast<int>(kind), error_category()};
}

inline std::error_code error::code() const noexcept { return make_error_code(kind_); }

/// Thrown only by result<T>::value() on an error: host misuse, never a guest fault.
class bad_result_access : public std::exception {
public:
    explicit bad_result_access(cordon::error e) : error_{std::move(e)} {}
    const char* what() const noexcept override { return error_.message().c_str(); }
    [[nodiscard]] const cordon::error& error() const noexcept { return error_; }

private:
    cordon::error error_;
};

template <class T> class result;
template <> class result<void>;

namespace detail {
template <class T> struct is_result : std::false_type {};
template <class T> struct is_result<result<T>> : std::true_type {};

/// Reading the alternative a result does not hold is a host bug; debug builds stop at it with a
/// message naming the accessor instead of reading the wrong member of the variant.
[[noreturn]] inline void result_misuse(const char* accessor, const cordon::error* held) noexcept {
    if (held)
        std::fprintf(stderr, "cordon::result: %s on a result holding an error (%.*s: %s); check has_value() first\n",
                     accessor, static_cast<int>(to_string(held->kind()).size()), to_string(held->kind()).data(),
                     held->message().c_str());
    else
        std::fprintf(stderr, "cordon::result: %s on a result holding a value; check has_value() first\n", accessor);
    std::abort();
}
} // namespace detail

/// A T or an error, in the manner of std::expected. Converts from either.
template <class T> class [[nodiscard]] result {
    static_assert(!std::is_reference_v<T>, "result<T&> is not supported; return a pointer or a copy");
    static_assert(!std::is_same_v<std::remove_cv_t<T>, cordon::error>, "result<error> is ambiguous");

public:
    using value_type = T;

    template <class U = T>
        requires std::is_constructible_v<T, U&&> && (!std::is_same_v<std::remove_cvref_t<U>, result>) &&
                 (!std::is_same_v<std::remove_cvref_t<U>, cordon::error>)
    result(U&& value) : storage_{std::in_place_index<0>, std::forward<U>(value)} {}  // NOLINT(google-explicit-constructor)
    result(cordon::error e) : storage_{std::in_place_index<1>, std::move(e)} {}                // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // On a temporary result, value(), operator* and error() return by value (moved out), so that
    // `const auto& e = box.status().error();` binds to an object that lives as long as `e`.
    T& value() & { check(); return *std::get_if<0>(&storage_); }
    const T& value() const& { check(); return *std::get_if<0>(&storage_); }
    T value() && { check(); return std::move(*std::get_if<0>(&storage_)); }

    T& operator*() & noexcept { expect_value("operator*"); return *std::get_if<0>(&storage_); }
    const T& operator*() const& noexcept { expect_value("operator*"); return *std::get_if<0>(&storage_); }
    T operator*() && { expect_value("operator*"); return std::move(*std::get_if<0>(&storage_)); }
    T* operator->() noexcept { expect_value("operator->"); return std::get_if<0>(&storage_); }
    const T* operator->() const noexcept { expect_value("operator->"); return std::get_if<0>(&storage_); }

    /// The error; only meaningful when !has_value().
    [[nodiscard]] const cordon::error& error() const& noexcept { expect_error(); return *std::get_if<1>(&storage_); }
    [[nodiscard]] cordon::error error() && noexcept { expect_error(); return std::move(*std::get_if<1>(&storage_)); }

    template <class U> [[nodiscard]] T value_or(U&& fallback) const& {
        return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U> [[nodiscard]] T value_or(U&& fallback) && {
        return has_value() ? std::move(*std::get_if<0>(&storage_)) : static_cast<T>(std::forward<U>(fallback));
    }

    /// f(T) -> result<U>; errors pass through.
    template <class F> auto and_then(F&& f) const& {
        using R = std::invoke_result_t<F, const T&>;
        static_assert(detail::is_result<R>::value, "and_then needs a function returning a result");
        return has_value() ? std::forward<F>(f)(**this) : R{error()};
    }
    /// f(T) -> U; errors pass through.
    template <class F> auto transform(F&& f) const& {
        using U = std::invoke_result_t<F, const T&>;
        if constexpr (std::is_void_v<U>) {
            if (!has_value()) return result<U>{error()};
            std::forward<F>(f)(**this);
            return result<U>{};
        } else {
            return has_value() ? result<U>{std::forward<F>(f)(**this)} : result<U>{error()};
        }
    }

private:
    void check() const {
        if (!has_value()) throw bad_result_access(*std::get_if<1>(&storage_));
    }
    void expect_value([[maybe_unused]] const char* accessor) const noexcept {
#ifndef NDEBUG
        if (!has_value()) detail::result_misuse(accessor, std::get_if<1>(&storage_));
#endif
    }
    void expect_error() const noexcept {
#ifndef NDEBUG
        if (has_value()) detail::result_misuse("error()", nullptr);
#endif
    }
    std::variant<T, cordon::error> storage_;
};

/// Success without a value, or an error.
template <> class [[nodiscard]] result<void> {
public:
    using value_type = void;
    result() = default;
    result(cordon::error e) : error_{std::move(e)} {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool has_value() const noexcept { return !error_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (error_) throw bad_result_access(*error_);
    }
    [[nodiscard]] const cordon::error& error() const& noexcept { expect_error(); return *error_; }
    [[nodiscard]] cordon::error error() && noexcept { expect_error(); return std::move(*error_); }

    template <class F> auto and_then(F&& f) const {
        using R = std::invoke_result_t<F>;
        static_assert(detail::is_result<R>::value, "and_then needs a function returning a result");
        return has_value() ? std::forward<F>(f)() : R{error()};
    }

private:
    void expect_error() const noexcept {
#ifndef NDEBUG
        if (!error_) detail::result_misuse("error()", nullptr);
#endif
    }
    std::optional<cordon::error> error_;
};

/// Shorthand for building an error with a message: `return fail(error_kind::denied, "...")`.
inline error fail(error_kind kind, std::string message) { return {kind, std::move(message)}; }

} // namespace cordon

template <> struct std::is_error_code_enum<cordon::error_kind> : std::true_type {};
