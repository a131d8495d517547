// Thin wrappers over WABT's IR library: parse and validate bytes into a wabt::Module, write one
// back, and translate WABT's types and errors into cordon's. Shared by inspection and metering.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/detail/binary_scan.hpp>
#include <cordon/wasm/detail/wabt_validate.hpp>
#include <cordon/wasm/types.hpp>

#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader-nop.h>
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

inline wabt::ReadBinaryOptions read_options(bool debug_names) {
    return wabt::ReadBinaryOptions{supported_features(), nullptr, debug_names, /*stop_on_first_error=*/true,
                                   /*fail_on_custom_section_error=*/false};
}

/// A pass of WABT's binary reader that lets through only what its IR reader handles safely:
/// constant expressions made of constant instructions and ending where they should, and
/// nesting within the bound. WABT's IR reader takes any instruction in a constant expression
/// and keeps labels open across them; an unbalanced one makes it fail an assertion and abort.
class structure_gate final : public wabt::BinaryReaderNop {
public:
    explicit structure_gate(std::uint32_t nesting_limit) : nesting_limit_{nesting_limit} {}

    [[nodiscard]] const std::string& refusal() const noexcept { return refusal_; }
    [[nodiscard]] const wabt::Errors& errors() const noexcept { return errors_; }

    bool OnError(const wabt::Error& e) override {
        errors_.push_back(e);
        return true;
    }

    wabt::Result BeginGlobalInitExpr(wabt::Index) override { return begin_const(); }
    wabt::Result EndGlobalInitExpr(wabt::Index) override { return end_const(); }
    wabt::Result BeginElemSegmentInitExpr(wabt::Index) override { return begin_const(); }
    wabt::Result EndElemSegmentInitExpr(wabt::Index) override { return end_const(); }
    wabt::Result BeginDataSegmentInitExpr(wabt::Index) override { return begin_const(); }
    wabt::Result EndDataSegmentInitExpr(wabt::Index) override { return end_const(); }

    wabt::Result OnOpcode(wabt::Opcode opcode) override {
        if (!in_const_) return wabt::Result::Ok;
        if (ended_) return refuse("constant expression continues after its end");
        switch (opcode) {
        case wabt::Opcode::I32Const:
        case wabt::Opcode::I64Const:
        case wabt::Opcode::F32Const:
        case wabt::Opcode::F64Const:
        case wabt::Opcode::V128Const:
        case wabt::Opcode::GlobalGet:
        case wabt::Opcode::RefNull:
        case wabt::Opcode::RefFunc: return wabt::Result::Ok;
        case wabt::Opcode::End: ended_ = true; return wabt::Result::Ok;
        default: return refuse(std::string("instruction ") + opcode.GetName() + " is not allowed in a constant expression");
        }
    }

    wabt::Result BeginFunctionBody(wabt::Index, wabt::Offset) override {
        depth_ = 0;
        return wabt::Result::Ok;
    }
    wabt::Result OnBlockExpr(wabt::Type) override { return enter(); }
    wabt::Result OnLoopExpr(wabt::Type) override { return enter(); }
    wabt::Result OnIfExpr(wabt::Type) override { return enter(); }
    wabt::Result OnTryExpr(wabt::Type) override { return enter(); }
    wabt::Result OnEndExpr() override {
        if (depth_ > 0) --depth_;
        return wabt::Result::Ok;
    }

private:
    wabt::Result begin_const() {
        in_const_ = true;
        ended_ = false;
        return wabt::Result::Ok;
    }
    wabt::Result end_const() {
        in_const_ = false;
        if (!ended_) return refuse("constant expression without an end");
        return wabt::Result::Ok;
    }
    wabt::Result enter() {
        if (++depth_ > nesting_limit_)
            return refuse("blocks nest deeper than the limit of " + std::to_string(nesting_limit_));
        return wabt::Result::Ok;
    }
    wabt::Result refuse(std::string why) {
        if (refusal_.empty()) {
            char where[32];
            std::snprintf(where, sizeof where, "0x%zx", state ? state->offset : std::size_t{0});
            refusal_ = "at offset " + std::string(where) + ": " + std::move(why);
        }
        return wabt::Result::Error;
    }

    std::uint32_t nesting_limit_;
    std::uint32_t depth_ = 0;
    bool in_const_ = false;
    bool ended_ = false;
    std::string refusal_;
    wabt::Errors errors_;
};

/// Checks bytes completely before WABT's IR reader may see them: cordon's structural gate,
/// then a validating read (WABT's shared validator fed as its interpreter reader feeds it; the
/// IR reader trusts its input).
inline result<void> validate_for_ir(std::span<const std::uint8_t> bytes, std::uint32_t nesting_limit) {
    structure_gate gate{nesting_limit};
    if (wabt::Failed(wabt::ReadBinary(bytes.data(), bytes.size(), &gate, read_options(true))))
        return fail(error_kind::load_error, "malformed module " +
                                                (gate.refusal().empty() ? describe_errors(gate.errors()) : gate.refusal()));
    wabt::Errors errors;
    validating_reader validator{errors, supported_features()};
    if (wabt::Failed(wabt::ReadBinary(bytes.data(), bytes.size(), &validator, read_options(false))))
        return fail(error_kind::load_error, "invalid module " + describe_errors(errors));
    return {};
}

/// Parses a module into WABT's IR, after validate_for_ir(); `validate` adds WABT's IR validator.
/// `nesting_limit`: the rewrite of a loaded module may add a level of its own.
inline result<std::unique_ptr<wabt::Module>> parse_ir(std::span<const std::uint8_t> bytes, bool validate,
                                                      std::uint32_t nesting_limit = block_nesting_bound) {
    if (auto checked = validate_for_ir(bytes, nesting_limit); !checked) return checked.error();
    auto module = std::make_unique<wabt::Module>();
    wabt::Errors errors;
    if (wabt::Failed(wabt::ReadBinaryIr("module", bytes.data(), bytes.size(), read_options(true), &errors, module.get())))
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
