// The library's version, for caches and reports that must not outlive a change of cordon.
#pragma once

#include <string_view>

namespace cordon {

inline constexpr std::string_view version = "0.1.0";

} // namespace cordon
