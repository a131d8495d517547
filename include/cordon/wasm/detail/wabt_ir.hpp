// Thin wrappers over WABT's IR library: parse and validate bytes into a wabt::Module, write one
// back, and translate WABT's types and errors into cordon's. Shared by inspection and metering.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/types.hpp>

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/error.h>
#include <wabt/feature.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cordon::wasm::detail {

/// The proposals cordon accepts: WABT's defaults (the finished post-MVP proposals). Threads,
/// exceptions, memory64, multi-memory, tail calls and GC are refused because neither engine's
/// limits and metering are written for them.
inline wabt::Features supported_features() { return wabt::Features{}; }

inline std::string describe_errors(const wabt::Errors& errors) {
    std::string text;
    for (const auto& e : errors) {
        if (e.error_level != wabt::ErrorLevel::Error) continue;
        if (!text.empty()) text += "; ";
        char where[32];
        std::snprintf(where, sizeof where, "0x%zx", e.loc.offset);
        text += "at offset " + std::string(where) + ": " + e.message;
    }
    return text.empty() ? "unknown error" : text;
}

/// Parses (and validates) a module that already passed scan_module().
inline result<std::unique_ptr<wabt::Module>> parse_ir(std::span<const std::uint8_t> bytes, bool validate) {
    auto module = std::make_unique<wabt::Module>();
    wabt::Errors errors;
    const wabt::ReadBinaryOptions options{supported_features(), nullptr, /*read_debug_names=*/true,
                                          /*stop_on_first_error=*/true,
                                          /*fail_on_custom_section_error=*/false};
    if (wabt::Failed(wabt::ReadBinaryIr("module", bytes.data(), bytes.size(), options, &errors, module.get())))
        return fail(error_kind::load_error, "malformed module " + describe_errors(errors));
    if (validate) {
        const wabt::ValidateOptions validate_options{supported_features()};
        if (wabt::Failed(wabt::ValidateModule(module.get(), &errors, validate_options)))
            return fail(error_kind::load_error, "invalid module " + describe_errors(errors));
    }
    return module;
}

inline result<std::vector<std::uint8_t>> write_ir(const wabt::Module& module) {
    wabt::MemoryStream stream;
    wabt::WriteBinaryOptions options{supported_features(), /*canonicalize_lebs=*/true,
                                     /*relocatable=*/false, /*write_debug_names=*/true};
    if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module, options)))
        return fail(error_kind::internal, "could not write the rewritten module");
    return std::move(stream.output_buffer().data);
}

inline std::optional<value_type> from_wabt(wabt::Type type) {
    switch (type) {
    case wabt::Type::I32: return value_type::i32;
    case wabt::Type::I64: return value_type::i64;
    case wabt::Type::F32: return value_type::f32;
    case wabt::Type::F64: return value_type::f64;
    case wabt::Type::V128: return value_type::v128;
    case wabt::Type::FuncRef: return value_type::funcref;
    case wabt::Type::ExternRef: return value_type::externref;
    default: return std::nullopt;
    }
}

inline wabt::Type to_wabt(value_type type) {
    switch (type) {
    case value_type::i32: return wabt::Type::I32;
    case value_type::i64: return wabt::Type::I64;
    case value_type::f32: return wabt::Type::F32;
    case value_type::f64: return wabt::Type::F64;
    case value_type::v128: return wabt::Type::V128;
    case value_type::funcref: return wabt::Type::FuncRef;
    case value_type::externref: return wabt::Type::ExternRef;
    }
    return wabt::Type::Void;
}

inline signature from_wabt(const wabt::FuncSignature& sig) {
    signature out;
    for (auto t : sig.param_types) out.params.push_back(from_wabt(t).value_or(value_type::externref));
    for (auto t : sig.result_types) out.results.push_back(from_wabt(t).value_or(value_type::externref));
    return out;
}

/// WABT keeps names from the name section with a leading '$'.
inline std::string plain_name(const std::string& name) {
    return !name.empty() && name.front() == '$' ? name.substr(1) : name;
}

} // namespace cordon::wasm::detail
