// Bounds-checked access to a guest's linear memory: every guest pointer and length a host
// function is given goes through here before a byte is read or written.
#pragma once

#include <cordon/detail/bytes.hpp>
#include <cordon/errors.hpp>
#include <cordon/result.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace cordon::wasm {

/// Bounds-checked access to a guest's linear memory. Every guest pointer and length goes through
/// here; the sum is checked for overflow before the comparison.
class guest_memory {
public:
    guest_memory() = default;
    guest_memory(std::uint8_t* data, std::uint64_t size) : data_{data}, size_{size} {}

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    [[nodiscard]] bool valid(std::uint64_t offset, std::uint64_t length) const noexcept {
        return data_ != nullptr && offset <= size_ && length <= size_ - offset;
    }
    /// The guest's bytes [offset, offset+length); the caller copies before checking contents.
    result<std::span<std::uint8_t>> bytes(std::uint64_t offset, std::uint64_t length) const {
        if (!valid(offset, length))
            return fail(error_kind::trap, "out of bounds memory access by the host on behalf of the guest: [" +
                                              std::to_string(offset) + ", +" + std::to_string(length) +
                                              ") outside " + std::to_string(size_) + " bytes");
        return std::span<std::uint8_t>{data_ + offset, static_cast<std::size_t>(length)};
    }
    result<std::string> copy_string(std::uint64_t offset, std::uint64_t length, std::uint64_t cap) const {
        if (length > cap)
            return fail(error_kind::invalid_argument, "string of " + std::to_string(length) +
                                                          " bytes is longer than the limit of " + std::to_string(cap));
        auto view = bytes(offset, length);
        if (!view) return view.error();
        return std::string(reinterpret_cast<const char*>(view->data()), view->size());
    }
    result<std::uint32_t> load_u32(std::uint64_t offset) const {
        auto view = bytes(offset, 4);
        if (!view) return view.error();
        std::uint32_t v;
        std::memcpy(&v, view->data(), 4);
        return v;
    }
    result<void> store_u32(std::uint64_t offset, std::uint32_t v) const {
        auto view = bytes(offset, 4);
        if (!view) return view.error();
        std::memcpy(view->data(), &v, 4);
        return {};
    }
    result<void> store_u64(std::uint64_t offset, std::uint64_t v) const {
        auto view = bytes(offset, 8);
        if (!view) return view.error();
        std::memcpy(view->data(), &v, 8);
        return {};
    }
    result<void> store(std::uint64_t offset, std::span<const std::uint8_t> from) const {
        auto view = bytes(offset, from.size());
        if (!view) return view.error();
        cordon::detail::copy_bytes(view->data(), from.data(), from.size());
        return {};
    }

private:
    std::uint8_t* data_ = nullptr;
    std::uint64_t size_ = 0;
};

} // namespace cordon::wasm
