// The three payloads a process sandbox runs: functions of the host program (a table of
// exports), a native plugin .so loaded after confinement, and an executable.
#pragma once

#include <cordon/host/function.hpp>
#include <cordon/host/value.hpp>
#include <cordon/process/child_server.hpp>
#include <cordon/process/function_payload.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

namespace cordon::process {

namespace detail::table {

// Runs in the child: decodes boundary values, calls F, encodes its result as one value. The
// host has already checked the call's signature against F's.
template <auto F>
std::uint32_t boundary_trampoline(const std::byte* in, std::uint64_t in_size, std::byte* out, std::uint64_t capacity,
                                  std::uint64_t* out_size) {
    using sig = functions::signature<decltype(F)>;
    using arguments = typename sig::arguments;
    using R = typename sig::result_type;
    constexpr std::size_t arity = std::tuple_size_v<arguments>;
    if (in_size != arity * sizeof(value) || capacity < sizeof(value))
        return answer_error(out, capacity, out_size, error_kind::invalid_argument, "malformed call arguments");
    std::array<value, arity> values{};
    if constexpr (arity > 0) std::memcpy(values.data(), in, arity * sizeof(value));
    auto invoke = [&]<std::size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
        return F(values[I].template as<std::tuple_element_t<I, arguments>>()...);
    };
    if constexpr (std::is_void_v<R>) {
        invoke(std::make_index_sequence<arity>{});
        *out_size = 0;
    } else {
        const value result = value::of(invoke(std::make_index_sequence<arity>{}));
        std::memcpy(out, &result, sizeof result);
        *out_size = sizeof result;
    }
    return 0;
}

// Runs in the child: the bytes-in/bytes-out convention for a host function taking a span.
template <auto F>
std::uint32_t bytes_trampoline(const std::byte* in, std::uint64_t in_size, std::byte* out, std::uint64_t capacity,
                               std::uint64_t* out_size) {
    const std::vector<std::byte> result = F(std::span<const std::byte>(in, in_size));
    if (result.size() > capacity)
        return answer_error(out, capacity, out_size, error_kind::output_limit, "the result exceeds the channel");
    copy_bytes(out, result.data(), result.size());
    *out_size = result.size();
    return 0;
}

} // namespace detail::table

/// Functions of the host program that a sandbox may call, each run in the confined child:
///   process::function_table{}.add<&fib>("fib").add_bytes<&thumbnail>("thumbnail")
/// Typed functions take and return boundary types (int32_t, int64_t, float, double, ...); bytes
/// functions map std::span<const std::byte> to std::vector<std::byte>.
class function_table {
public:
    struct entry {
        std::uint64_t address = 0;  // of the trampoline, valid in children of this program's zygote
        host::signature sig{};
        bool bytes = false;
    };

    template <auto F> function_table& add(std::string name) {
        using sig = detail::functions::signature<decltype(F)>;
        entries_[std::move(name)] = {reinterpret_cast<std::uint64_t>(&detail::table::boundary_trampoline<F>),
                                     boundary_signature(static_cast<typename sig::arguments*>(nullptr),
                                                        static_cast<typename sig::result_type*>(nullptr)),
                                     false};
        return *this;
    }

    template <auto F> function_table& add_bytes(std::string name) {
        static_assert(std::is_invocable_r_v<std::vector<std::byte>, decltype(F), std::span<const std::byte>>,
                      "cordon: add_bytes<F> needs F(std::span<const std::byte>) -> std::vector<std::byte>; "
                      "for typed arguments use add<F>");
        entries_[std::move(name)] = {reinterpret_cast<std::uint64_t>(&detail::table::bytes_trampoline<F>), {}, true};
        return *this;
    }

    [[nodiscard]] const entry* find(std::string_view name) const {
        auto it = entries_.find(name);
        return it == entries_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] std::vector<host::export_description> describe() const {
        std::vector<host::export_description> out;
        for (const auto& [name, e] : entries_)
            out.push_back({name, e.bytes ? std::nullopt : std::optional<host::signature>{e.sig}, e.bytes});
        return out;
    }

private:
    template <class... A, class R> static host::signature boundary_signature(std::tuple<A...>*, R*) {
        host::signature s{{value_type_of<A>()...}, {}};
        if constexpr (!std::is_void_v<R>) s.results.push_back(value_type_of<R>());
        return s;
    }
    std::map<std::string, entry, std::less<>> entries_;
};

/// A native plugin: a shared object loaded with dlopen inside the confined child. A plugin
/// built against cordon/guest/cordon.h exports `int32_t f(void)` functions and calls the same
/// host API as a wasm plugin, brokered to the host with the same grant checks; a plugin without
/// it exports functions of the older bytes-in/bytes-out process::entry_point convention.
struct native_plugin {
    std::string path;
};

/// A program run once per call: call_bytes(name, input) runs it with `input` on stdin and
/// returns its stdout; its stderr goes to the sandbox's captured stderr.
struct executable {
    std::string path;
    std::vector<std::string> args{};
    std::vector<std::string> env{};
};

/// What a process sandbox runs.
using payload = std::variant<function_table, native_plugin, executable>;

} // namespace cordon::process
