// Test helper: text as bytes and back, for the bytes-in/bytes-out convention.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::testing {

inline std::vector<std::byte> bytes_of(std::string_view text) {
    const auto* data = reinterpret_cast<const std::byte*>(text.data());
    return {data, data + text.size()};
}

inline std::string text_of(std::span<const std::byte> data) { return {reinterpret_cast<const char*>(data.data()), data.size()}; }

} // namespace cordon::testing
