// What the call-path benchmarks share: the policy every sandbox runs under and the size of the
// guest loops whose per-iteration cost is read as the cost of one guest-to-host call.
#pragma once

#include <cordon/policy/policy.hpp>

namespace cordon_bench {

/// The strict preset with the clock granted (the permission the guest-to-host calls check).
using call_policy = cordon::policy<cordon::isolation::strict, cordon::allow<cordon::perm::clock>>;

/// Host calls a guest loop makes per benchmark iteration; the loop alone runs as often.
inline constexpr int guest_loop_iterations = 1000;

} // namespace cordon_bench
