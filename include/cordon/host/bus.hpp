// The plugin bus as every backend's host API reaches it: the interface a plugin runtime
// implements and attaches to a sandbox, and the one answer given while none is attached.
#pragma once

#include <cordon/host/guest_status.hpp>
#include <cordon/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cordon::host {

/// What a guest's cordon_bus_call and cordon_bus_emit reach, once the host checked the caller's
/// `plugin` grant. Called on the guest's thread, during its call; an implementation checks the
/// target's side (who may call it, which topics it takes) and bounds sizes and queues, and
/// answers with an error value (violation, a limit, invalid_argument for an unknown target).
class bus {
public:
    virtual ~bus() = default;
    /// Calls `target`, "PLUGIN/FUNCTION" (plugin ids hold no '/'), with `input` under the
    /// bytes-in/bytes-out convention; its answer's bytes.
    virtual result<std::vector<std::byte>> call(std::string_view target, std::span<const std::byte> input) = 0;
    /// Publishes `data` under `topic` to the plugins that subscribe to it.
    virtual result<void> emit(std::string_view topic, std::span<const std::byte> data) = 0;
};

namespace api {

/// What a guest is told when the bus refused: one mapping for every backend.
inline std::int32_t bus_status(const error& e) noexcept {
    switch (e.kind()) {
    case error_kind::unsupported: return guest_status::unsupported;
    case error_kind::violation:
    case error_kind::denied: return guest_status::denied;
    case error_kind::invalid_argument: return guest_status::not_found;
    case error_kind::output_limit:
    case error_kind::memory_limit:
    case error_kind::timeout:
    case error_kind::cpu_limit:
    case error_kind::fuel_exhausted: return guest_status::limit;
    default: return guest_status::io;
    }
}

inline error no_bus() {
    return fail(error_kind::unsupported, "no plugin bus is attached to this sandbox");
}

/// The bus call a guest makes, through `bus` or, with none attached, unsupported.
inline result<std::vector<std::byte>> bus_call(bus* to, std::string_view target, std::span<const std::byte> input) {
    if (to == nullptr) return no_bus();
    return to->call(target, input);
}
inline result<void> bus_emit(bus* to, std::string_view topic, std::span<const std::byte> data) {
    if (to == nullptr) return no_bus();
    return to->emit(topic, data);
}

} // namespace api
} // namespace cordon::host
