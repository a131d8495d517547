// The status codes every backend's host API returns to a guest (negative: an error), as C++
// constants for host code; the guest's names for them are CORDON_OK, CORDON_ERR_* in cordon/guest/cordon.h.
#pragma once

#include <cstdint>

namespace cordon::host::guest_status {

// tests/core/guest_status_test.cpp checks these against cordon/guest/cordon.h.
inline constexpr std::int32_t ok = 0;
inline constexpr std::int32_t denied = -1;
inline constexpr std::int32_t not_found = -2;
inline constexpr std::int32_t invalid = -3;
inline constexpr std::int32_t limit = -4;
inline constexpr std::int32_t io = -5;
inline constexpr std::int32_t unsupported = -6;
inline constexpr std::int32_t bad_handle = -7;

} // namespace cordon::host::guest_status
