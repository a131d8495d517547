// Byte encoding of what crosses a process boundary (sandbox set-up, call arguments, results):
// trivially copyable values, strings and byte spans, read back with every length checked.
#pragma once

#include <cordon/detail/bytes.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cordon::process {

/// The range of an enumeration that crosses a process boundary: specialise with `first` and
/// `last` so the reader refuses any other value. A scoped enumeration without one is read
/// whole (every value of its fixed underlying type is a valid object), and its users check it.
template <class E> struct wire_enum_range;

/// Opt-in for a class type read as raw bytes: true only when every byte pattern is a valid
/// value (integers and floats, no bool, enum or pointer inside). Specialise with care.
template <class T> struct any_byte_pattern_valid : std::false_type {};

namespace detail {
using cordon::detail::copy_bytes;

template <class E>
concept ranged_enum = std::is_enum_v<E> && requires {
    { wire_enum_range<E>::first } -> std::convertible_to<E>;
    { wire_enum_range<E>::last } -> std::convertible_to<E>;
};
template <class E>
concept scoped_enum = std::is_enum_v<E> && !std::is_convertible_v<E, std::underlying_type_t<E>>;
} // namespace detail

/// The types a wire_reader reads: what has no invalid byte pattern, bool and ranged enums
/// (checked), scoped enums, and class types that opt in.
template <class T>
concept wire_value = std::is_trivially_copyable_v<T> &&
                     (std::is_arithmetic_v<T> || detail::ranged_enum<T> || detail::scoped_enum<T> ||
                      any_byte_pattern_valid<T>::value);

/// Appends values to a byte buffer.
class wire_writer {
public:
    template <class T>
        requires std::is_trivially_copyable_v<T>
    void put(const T& value) {
        append(&value, sizeof(T));
    }
    void put_bytes(std::span<const std::byte> bytes) {
        put(static_cast<std::uint64_t>(bytes.size()));
        append(bytes.data(), bytes.size());
    }
    void put_string(std::string_view text) { put_bytes(std::as_bytes(std::span{text.data(), text.size()})); }
    void put_strings(const std::vector<std::string>& texts) {
        put(static_cast<std::uint64_t>(texts.size()));
        for (const auto& text : texts) put_string(text);
    }

    [[nodiscard]] const std::vector<std::byte>& bytes() const& { return buffer_; }
    [[nodiscard]] std::vector<std::byte> bytes() && { return std::move(buffer_); }

private:
    // Resize and copy rather than insert: g++ 12 at -O2 (with TSan) warns of an overflow that
    // cannot happen when vector::insert is inlined into a writer that starts empty.
    void append(const void* data, std::size_t size) {
        if (size == 0) return;
        const auto at = buffer_.size();
        buffer_.resize(at + size);
        std::memcpy(buffer_.data() + at, data, size);
    }

    std::vector<std::byte> buffer_;
};

/// Reads values back; any read past the end, or a length larger than what is left, fails and
/// makes every later read fail too, so a caller can check once at the end.
class wire_reader {
public:
    explicit wire_reader(std::span<const std::byte> bytes) : bytes_{bytes} {}

    /// A value, checked where its type has invalid byte patterns: a bool is 0 or 1, a ranged
    /// enum lies in its range. A bad value fails like a short read.
    template <wire_value T> std::optional<T> get() {
        if (failed_ || bytes_.size() - offset_ < sizeof(T)) return fault<T>();
        if constexpr (std::is_same_v<T, bool>) {
            const auto byte = std::to_integer<unsigned>(bytes_[offset_]);
            if (byte > 1) return fault<T>();
            ++offset_;
            return byte == 1;
        } else if constexpr (detail::ranged_enum<T>) {
            using raw_type = std::underlying_type_t<T>;
            raw_type raw;
            std::memcpy(&raw, bytes_.data() + offset_, sizeof raw);
            if (raw < static_cast<raw_type>(wire_enum_range<T>::first) ||
                raw > static_cast<raw_type>(wire_enum_range<T>::last))
                return fault<T>();
            offset_ += sizeof raw;
            return static_cast<T>(raw);
        } else {
            T value;
            std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
            offset_ += sizeof(T);
            return value;
        }
    }
    std::optional<std::span<const std::byte>> get_bytes() {
        const auto size = get<std::uint64_t>();
        if (!size || *size > bytes_.size() - offset_) return fault<std::span<const std::byte>>();
        auto view = bytes_.subspan(offset_, static_cast<std::size_t>(*size));
        offset_ += static_cast<std::size_t>(*size);
        return view;
    }
    std::optional<std::string> get_string() {
        const auto view = get_bytes();
        if (!view) return std::nullopt;
        return std::string(reinterpret_cast<const char*>(view->data()), view->size());
    }
    std::optional<std::vector<std::string>> get_strings() {
        const auto count = get<std::uint64_t>();
        // Each string takes at least its 8-byte length: a count beyond that is a lie.
        if (!count || *count > (bytes_.size() - offset_) / sizeof(std::uint64_t))
            return fault<std::vector<std::string>>();
        std::vector<std::string> texts;
        texts.reserve(static_cast<std::size_t>(*count));
        for (std::uint64_t i = 0; i < *count; ++i) {
            auto text = get_string();
            if (!text) return std::nullopt;
            texts.push_back(std::move(*text));
        }
        return texts;
    }

    [[nodiscard]] bool ok() const { return !failed_; }
    [[nodiscard]] bool at_end() const { return offset_ == bytes_.size(); }

private:
    template <class T> std::optional<T> fault() {
        failed_ = true;
        return std::nullopt;
    }
    std::span<const std::byte> bytes_;
    std::size_t offset_ = 0;
    bool failed_ = false;
};

} // namespace cordon::process
