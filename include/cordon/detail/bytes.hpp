// Byte copies at trust boundaries, where a count of 0 is common and the buffers behind it may
// be empty vectors or spans whose data() is null.
#pragma once

#include <cstddef>
#include <cstring>

namespace cordon::detail {

// memcpy with a count that may be 0: memcpy from or to null is undefined whatever the count.
inline void copy_bytes(void* to, const void* from, std::size_t size) {
    if (size != 0) std::memcpy(to, from, size);
}

} // namespace cordon::detail
