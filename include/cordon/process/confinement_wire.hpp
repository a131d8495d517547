// A confinement's encoding for the zygote: field by field, so that equal confinements encode
// alike, and decoded as untrusted bytes.
#pragma once

#include <cordon/process/confinement.hpp>
#include <cordon/process/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace cordon::process {

namespace detail {

// The syscall permissions go on the wire field by field: the struct has padding, whose bytes
// are indeterminate, and two equal confinements must encode alike (the warm pool compares
// encodings; clang left different bytes there than g++ did).
template <class Permissions, class Visit> void visit_fields(Permissions& p, Visit&& visit) {
    visit(p.fs_read), visit(p.fs_write), visit(p.net), visit(p.net_by_port), visit(p.net_listen), visit(p.process);
    visit(p.clock), visit(p.random), visit(p.system), visit(p.threads), visit(p.loader), visit(p.strictest);
    visit(p.self_pid), visit(p.reserve_limit_signals);
}
static_assert(sizeof(syscall_permissions) == 20, "a field was added to syscall_permissions: add it to visit_fields");

template <class Namespaces, class Visit> void visit_fields_of_namespaces(Namespaces& n, Visit&& visit) {
    visit(n.user), visit(n.pid), visit(n.net), visit(n.mount), visit(n.ipc), visit(n.uts);
}
static_assert(sizeof(namespace_set) == 6, "a field was added to namespace_set: add it to visit_fields_of_namespaces");

} // namespace detail

/// Encodes a confinement for the zygote.
inline std::vector<std::byte> encode(const confinement& c) {
    wire_writer w;
    w.put(c.level);
    w.put(c.payload);
    detail::visit_fields(c.syscalls, [&](const auto& field) { w.put(field); });
    w.put_strings(c.landlock.read_paths);
    w.put_strings(c.landlock.write_paths);
    w.put_strings(c.landlock.execute_paths);
    w.put(c.landlock.restrict_tcp);
    w.put(c.landlock.scope_ipc);
    w.put(c.landlock.require_tcp);
    w.put(c.landlock.require_scoping);
    w.put(static_cast<std::uint64_t>(c.landlock.connect_ports.size()));
    for (auto port : c.landlock.connect_ports) w.put(port);
    w.put(static_cast<std::uint64_t>(c.landlock.bind_ports.size()));
    for (auto port : c.landlock.bind_ports) w.put(port);
    detail::visit_fields_of_namespaces(c.namespaces, [&](const auto& field) { w.put(field); });
    w.put(c.minimal_root);
    w.put(static_cast<std::uint64_t>(c.root.size()));
    for (const auto& binding : c.root) {
        w.put_string(binding.path);
        w.put(binding.writable);
    }
    w.put(c.limits);
    w.put(c.best_effort);
    w.put(c.outside_uid);
    w.put(c.outside_gid);
    return std::move(w).bytes();
}

/// Decodes what encode() wrote; nullopt for anything malformed.
inline std::optional<confinement> decode_confinement(std::span<const std::byte> bytes) {
    wire_reader r{bytes};
    confinement c;
    const auto read_ports = [&](std::vector<std::uint16_t>& ports) {
        const auto count = r.get<std::uint64_t>();
        if (!count || *count > 65536) return false;
        for (std::uint64_t i = 0; i < *count; ++i) {
            const auto port = r.get<std::uint16_t>();
            if (!port) return false;
            ports.push_back(*port);
        }
        return true;
    };
    c.level = r.get<isolation_level>().value_or(isolation_level::maximum);
    c.payload = r.get<payload_kind>().value_or(payload_kind::function);
    detail::visit_fields(c.syscalls, [&](auto& field) {
        field = r.get<std::remove_reference_t<decltype(field)>>().value_or(field);
    });
    c.landlock.read_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.write_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.execute_paths = r.get_strings().value_or(std::vector<std::string>{});
    c.landlock.restrict_tcp = r.get<bool>().value_or(true);
    c.landlock.scope_ipc = r.get<bool>().value_or(true);
    c.landlock.require_tcp = r.get<bool>().value_or(true);
    c.landlock.require_scoping = r.get<bool>().value_or(true);
    if (!read_ports(c.landlock.connect_ports) || !read_ports(c.landlock.bind_ports)) return std::nullopt;
    detail::visit_fields_of_namespaces(c.namespaces, [&](auto& field) { field = r.get<bool>().value_or(field); });
    c.minimal_root = r.get<bool>().value_or(true);
    const auto bindings = r.get<std::uint64_t>();
    if (!bindings || *bindings > 4096) return std::nullopt;
    for (std::uint64_t i = 0; i < *bindings; ++i) {
        auto path = r.get_string();
        auto writable = r.get<bool>();
        if (!path || !writable) return std::nullopt;
        c.root.push_back({std::move(*path), *writable});
    }
    c.limits = r.get<resource_limits>().value_or(resource_limits{});
    c.best_effort = r.get<bool>().value_or(false);
    c.outside_uid = r.get<uid_t>().value_or(65534);
    c.outside_gid = r.get<gid_t>().value_or(65534);
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return c;
}

} // namespace cordon::process
