// Functions of the host program run in a sandboxed child: each is called by address through a
// generated trampoline that decodes serialised arguments and encodes the result.
#pragma once

#include <cordon/process/child_server.hpp>
#include <cordon/process/wire.hpp>
#include <cordon/result.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace cordon::process {

/// True for the types a call may carry across the process boundary. The child's answer is
/// untrusted, so a value must be one the host can check or one without invalid byte patterns:
/// numbers, bool (checked), enumerations (checked where they declare a wire_enum_range), and
/// structs of numbers that opt in with any_byte_pattern_valid. A struct holding a bool could
/// come back holding a byte that is no bool.
template <class T>
inline constexpr bool is_serialisable_v = std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::byte>> ||
                                          (wire_value<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T>);

namespace detail::functions {

template <class T> void encode_value(wire_writer& w, const T& value) {
    if constexpr (std::is_same_v<T, std::string>) w.put_string(value);
    else if constexpr (std::is_same_v<T, std::vector<std::byte>>) w.put_bytes(value);
    else w.put(value);
}

template <class T> std::optional<T> decode_value(wire_reader& r) {
    if constexpr (std::is_same_v<T, std::string>) return r.get_string();
    else if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
        const auto view = r.get_bytes();
        if (!view) return std::nullopt;
        return std::vector<std::byte>(view->begin(), view->end());
    } else return r.get<T>();
}

template <class F> struct signature;
template <class R, class... Args> struct signature<R (*)(Args...)> {
    using result_type = R;
    using arguments = std::tuple<std::remove_cvref_t<Args>...>;
};

template <class Tuple, std::size_t... I>
std::optional<Tuple> decode_tuple(wire_reader& r, std::index_sequence<I...>) {
    std::tuple<std::optional<std::tuple_element_t<I, Tuple>>...> parts;
    ((std::get<I>(parts) = decode_value<std::tuple_element_t<I, Tuple>>(r)), ...);
    if (!r.ok() || !r.at_end() || !(std::get<I>(parts).has_value() && ...)) return std::nullopt;
    return Tuple{std::move(*std::get<I>(parts))...};
}

template <class... Args> constexpr bool all_serialisable(std::tuple<Args...>*) {
    return (is_serialisable_v<Args> && ...);
}

// Runs in the child: the entry point for F.
template <auto F>
std::uint32_t trampoline(const std::byte* in, std::uint64_t in_size, std::byte* out, std::uint64_t capacity,
                         std::uint64_t* out_size) {
    using sig = signature<decltype(F)>;
    using arguments = typename sig::arguments;
    wire_reader reader{std::span<const std::byte>(in, in_size)};
    auto args = decode_tuple<arguments>(reader, std::make_index_sequence<std::tuple_size_v<arguments>>{});
    if (!args) return answer_error(out, capacity, out_size, error_kind::invalid_argument, "malformed call arguments");
    wire_writer writer;
    if constexpr (std::is_void_v<typename sig::result_type>) {
        std::apply(F, std::move(*args));
    } else {
        encode_value(writer, std::apply(F, std::move(*args)));
    }
    const auto& bytes = writer.bytes();
    if (bytes.size() > capacity)
        return answer_error(out, capacity, out_size, error_kind::output_limit, "the result exceeds the channel");
    copy_bytes(out, bytes.data(), bytes.size());
    *out_size = bytes.size();
    return 0;
}

} // namespace detail::functions

/// A function of the host program, ready to be called in a sandbox: `sandboxed<&resize>`.
template <auto F> struct sandboxed {
    using sig = detail::functions::signature<decltype(F)>;
    using result_type = typename sig::result_type;
    static_assert(detail::functions::all_serialisable(static_cast<typename sig::arguments*>(nullptr)) &&
                      (std::is_void_v<result_type> || is_serialisable_v<std::remove_cvref_t<result_type>>),
                  "A sandboxed function's arguments and result must be trivially copyable values (no "
                  "pointers), std::string or std::vector<std::byte>: memory is not shared with the child; "
                  "a struct must hold only numbers and say so with any_byte_pattern_valid");

    /// The address the child calls (valid there: the child is a copy of this program).
    static std::uint64_t entry() {
        return reinterpret_cast<std::uint64_t>(&detail::functions::trampoline<F>);
    }

    template <class... Args> static std::vector<std::byte> encode_arguments(const Args&... args) {
        wire_writer writer;
        using arguments = typename sig::arguments;
        static_assert(sizeof...(Args) == std::tuple_size_v<arguments>, "wrong number of arguments");
        encode_all<arguments>(writer, std::index_sequence_for<Args...>{}, args...);
        return std::move(writer).bytes();
    }

    /// Decodes the child's answer, which is untrusted: anything malformed is a trap.
    static result<result_type> decode_result(std::span<const std::byte> bytes) {
        if constexpr (std::is_void_v<result_type>) {
            if (!bytes.empty()) return fail(error_kind::trap, "malformed result from the sandbox");
            return {};
        } else {
            wire_reader reader{bytes};
            auto value = detail::functions::decode_value<result_type>(reader);
            if (!value || !reader.at_end()) return fail(error_kind::trap, "malformed result from the sandbox");
            return std::move(*value);
        }
    }

private:
    template <class Tuple, std::size_t... I, class... Args>
    static void encode_all(wire_writer& w, std::index_sequence<I...>, const Args&... args) {
        (detail::functions::encode_value<std::tuple_element_t<I, Tuple>>(w, args), ...);
    }
};

} // namespace cordon::process
