// What the harnesses share: a reader that takes typed values from the fuzz input, and the check
// that turns a broken property into a crash libFuzzer records (abort with a message).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace cordon::fuzz {

/// Aborts with `what` when a property the harness checks does not hold.
inline void require(bool holds, const char* what) {
    if (holds) return;
    std::fprintf(stderr, "cordon fuzz: property broken: %s\n", what);
    std::abort();
}

/// Takes values from the front of the input; once it runs dry, everything reads as zero.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) noexcept : rest_{data, size} {}

    template <class T> T take() noexcept {
        static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>);
        T out{};
        const std::size_t n = std::min(sizeof(T), rest_.size());
        if (n != 0) std::memcpy(&out, rest_.data(), n);
        rest_ = rest_.subspan(n);
        return out;
    }
    bool take_bool() noexcept { return (take<std::uint8_t>() & 1u) != 0; }

    /// Up to `max` bytes, the count taken from the input first.
    std::span<const std::uint8_t> take_bytes(std::size_t max) noexcept {
        const std::size_t n = std::min<std::size_t>({std::size_t{take<std::uint16_t>()}, max, rest_.size()});
        auto out = rest_.first(n);
        rest_ = rest_.subspan(n);
        return out;
    }
    /// Everything up to the next `separator` (dropped), or the rest.
    std::string_view take_until(char separator) noexcept {
        const std::string_view text{reinterpret_cast<const char*>(rest_.data()), rest_.size()};
        const auto at = text.find(separator);
        const auto part = text.substr(0, at);
        rest_ = rest_.subspan(at == std::string_view::npos ? rest_.size() : at + 1);
        return part;
    }
    std::span<const std::uint8_t> rest() noexcept {
        auto out = rest_;
        rest_ = {};
        return out;
    }
    [[nodiscard]] bool empty() const noexcept { return rest_.empty(); }

private:
    std::span<const std::uint8_t> rest_;
};

} // namespace cordon::fuzz
