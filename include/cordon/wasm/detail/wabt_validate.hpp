// Validation while reading, before WABT's IR reader may see a module: a pass of WABT's binary
// reader that feeds every section, segment and instruction to WABT's SharedValidator (the
// validator its interpreter reader runs while reading, which WABT fuzzes), without building the
// interpreter's module. The compiled engine and inspection need no part of WABT's interpreter.
#pragma once

#include <wabt/binary-reader-nop.h>
#include <wabt/binary-reader.h>
#include <wabt/common.h>
#include <wabt/error.h>
#include <wabt/feature.h>
#include <wabt/ir.h>
#include <wabt/shared-validator.h>

#include <cstdint>
#include <span>

namespace cordon::wasm::detail {

/// Validates a module as it is read. Every callback that carries something to check hands it to
/// the validator, in the order and with the operands WABT's interpreter reader does; callbacks
/// left to BinaryReaderNop carry nothing the validator looks at (names, counts, custom sections,
/// data bytes) or belong to proposals the reader's features refuse first.
class validating_reader final : public wabt::BinaryReaderNop {
    using Index = wabt::Index;
    using Opcode = wabt::Opcode;
    using Result = wabt::Result;
    using Type = wabt::Type;
    using Address = wabt::Address;
    using validator = wabt::SharedValidator;

public:
    validating_reader(wabt::Errors& errors, const wabt::Features& features)
        : errors_{&errors}, validator_{&errors, wabt::ValidateOptions{features}} {}

    bool OnError(const wabt::Error& e) override {
        errors_->push_back(e);
        return true;
    }
    Result EndModule() override { return validator_.EndModule(); }

    // ---- types, imports and definitions ----------------------------------------------------------

    Result OnFuncType(Index index, Index param_count, Type* param_types, Index result_count,
                      Type* result_types) override {
        return validator_.OnFuncType(at(), param_count, param_types, result_count, result_types, index);
    }
    Result OnImportFunc(Index, std::string_view, std::string_view, Index, Index sig_index) override {
        return validator_.OnFunction(at(), var(sig_index));
    }
    Result OnImportTable(Index, std::string_view, std::string_view, Index, Type elem_type,
                         const wabt::Limits* limits) override {
        return validator_.OnTable(at(), elem_type, *limits);
    }
    Result OnImportMemory(Index, std::string_view, std::string_view, Index, const wabt::Limits* limits) override {
        note_memory(*limits);
        return validator_.OnMemory(at(), *limits);
    }
    Result OnImportGlobal(Index, std::string_view, std::string_view, Index, Type type, bool mutable_) override {
        return validator_.OnGlobalImport(at(), type, mutable_);
    }
    Result OnImportTag(Index, std::string_view, std::string_view, Index, Index sig_index) override {
        return validator_.OnTag(at(), var(sig_index));
    }
    Result OnFunction(Index, Index sig_index) override { return validator_.OnFunction(at(), var(sig_index)); }
    Result OnTable(Index, Type elem_type, const wabt::Limits* limits) override {
        return validator_.OnTable(at(), elem_type, *limits);
    }
    Result OnMemory(Index, const wabt::Limits* limits) override {
        note_memory(*limits);
        return validator_.OnMemory(at(), *limits);
    }
    Result BeginGlobal(Index, Type type, bool mutable_) override {
        global_type_ = type;
        return validator_.OnGlobal(at(), type, mutable_);
    }
    Result BeginGlobalInitExpr(Index) override { return begin_init(global_type_); }
    Result EndGlobalInitExpr(Index) override { return validator_.EndInitExpr(); }
    Result OnTagType(Index, Index sig_index) override { return validator_.OnTag(at(), var(sig_index)); }
    Result OnExport(Index, wabt::ExternalKind kind, Index item_index, std::string_view name) override {
        return validator_.OnExport(at(), kind, var(item_index), name);
    }
    Result OnStartFunction(Index func_index) override { return validator_.OnStart(at(), var(func_index)); }

    // ---- segments -----------------------------------------------------------------------------------

    Result BeginElemSegment(Index, Index table_index, std::uint8_t flags) override {
        return validator_.OnElemSegment(at(), var(table_index), segment_kind(flags));
    }
    Result BeginElemSegmentInitExpr(Index) override { return begin_init(Type::I32); }
    Result EndElemSegmentInitExpr(Index) override { return validator_.EndInitExpr(); }
    Result OnElemSegmentElemType(Index, Type elem_type) override {
        return validator_.OnElemSegmentElemType(at(), elem_type);
    }
    Result OnElemSegmentElemExpr_RefNull(Index, Type type) override {
        return validator_.OnElemSegmentElemExpr_RefNull(at(), type);
    }
    Result OnElemSegmentElemExpr_RefFunc(Index, Index func_index) override {
        return validator_.OnElemSegmentElemExpr_RefFunc(at(), var(func_index));
    }
    Result OnDataCount(Index count) override {
        validator_.OnDataCount(count);
        return Result::Ok;
    }
    Result BeginDataSegment(Index, Index memory_index, std::uint8_t flags) override {
        return validator_.OnDataSegment(at(), var(memory_index), segment_kind(flags));
    }
    Result BeginDataSegmentInitExpr(Index) override { return begin_init(first_memory_is_64_ ? Type::I64 : Type::I32); }
    Result EndDataSegmentInitExpr(Index) override { return validator_.EndInitExpr(); }

    // ---- function bodies ------------------------------------------------------------------------------

    Result BeginFunctionBody(Index index, wabt::Offset) override {
        in_code_ = true;
        labels_ = 1;  // the function's own, closed by its last `end` (EndFunctionBody's business)
        return validator_.BeginFunctionBody(at(), index);
    }
    Result OnLocalDecl(Index, Index count, Type type) override { return validator_.OnLocalDecl(at(), count, type); }
    Result EndFunctionBody(Index) override {
        in_code_ = false;
        return validator_.EndFunctionBody(at());
    }

    Result OnOpcode(Opcode) override {
        if (in_code_ && labels_ > 0) return Result::Ok;
        return validator_.PrintError(at(), "unexpected instruction after the end of its function");
    }

    // Structure.
    Result OnBlockExpr(Type sig) override { return open(validator_.OnBlock(at(), sig)); }
    Result OnLoopExpr(Type sig) override { return open(validator_.OnLoop(at(), sig)); }
    Result OnIfExpr(Type sig) override { return open(validator_.OnIf(at(), sig)); }
    Result OnTryExpr(Type sig) override { return open(validator_.OnTry(at(), sig)); }
    Result OnElseExpr() override { return validator_.OnElse(at()); }
    Result OnCatchExpr(Index tag_index) override { return validator_.OnCatch(at(), var(tag_index), false); }
    Result OnCatchAllExpr() override { return validator_.OnCatch(at(), wabt::Var{}, true); }
    Result OnDelegateExpr(Index depth) override { return close(validator_.OnDelegate(at(), var(depth))); }
    Result OnEndExpr() override {
        if (labels_ <= 1) {  // the end of a function or a constant expression: checked at its end
            labels_ = 0;
            return Result::Ok;
        }
        return close(validator_.OnEnd(at()));
    }

    // Branches and calls.
    Result OnBrExpr(Index depth) override { return validator_.OnBr(at(), var(depth)); }
    Result OnBrIfExpr(Index depth) override { return validator_.OnBrIf(at(), var(depth)); }
    Result OnBrTableExpr(Index num_targets, Index* target_depths, Index default_target_depth) override {
        if (wabt::Failed(validator_.BeginBrTable(at()))) return Result::Error;
        for (const Index depth : std::span{target_depths, num_targets})
            if (wabt::Failed(validator_.OnBrTableTarget(at(), var(depth)))) return Result::Error;
        if (wabt::Failed(validator_.OnBrTableTarget(at(), var(default_target_depth)))) return Result::Error;
        return validator_.EndBrTable(at());
    }
    Result OnReturnExpr() override { return validator_.OnReturn(at()); }
    Result OnCallExpr(Index func_index) override { return validator_.OnCall(at(), var(func_index)); }
    Result OnCallIndirectExpr(Index sig_index, Index table_index) override {
        return validator_.OnCallIndirect(at(), var(sig_index), var(table_index));
    }
    Result OnReturnCallExpr(Index func_index) override { return validator_.OnReturnCall(at(), var(func_index)); }
    Result OnReturnCallIndirectExpr(Index sig_index, Index table_index) override {
        return validator_.OnReturnCallIndirect(at(), var(sig_index), var(table_index));
    }
    Result OnThrowExpr(Index tag_index) override { return validator_.OnThrow(at(), var(tag_index)); }
    Result OnRethrowExpr(Index depth) override { return validator_.OnRethrow(at(), var(depth)); }
    Result OnUnreachableExpr() override { return validator_.OnUnreachable(at()); }
    Result OnNopExpr() override { return validator_.OnNop(at()); }

    // Values.
    Result OnDropExpr() override { return validator_.OnDrop(at()); }
    Result OnSelectExpr(Index result_count, Type* result_types) override {
        return validator_.OnSelect(at(), result_count, result_types);
    }
    Result OnI32ConstExpr(std::uint32_t) override { return validator_.OnConst(at(), Type::I32); }
    Result OnI64ConstExpr(std::uint64_t) override { return validator_.OnConst(at(), Type::I64); }
    Result OnF32ConstExpr(std::uint32_t) override { return validator_.OnConst(at(), Type::F32); }
    Result OnF64ConstExpr(std::uint64_t) override { return validator_.OnConst(at(), Type::F64); }
    Result OnV128ConstExpr(::v128) override { return validator_.OnConst(at(), Type::V128); }
    Result OnUnaryExpr(Opcode opcode) override { return validator_.OnUnary(at(), opcode); }
    Result OnBinaryExpr(Opcode opcode) override { return validator_.OnBinary(at(), opcode); }
    Result OnTernaryExpr(Opcode opcode) override { return validator_.OnTernary(at(), opcode); }
    Result OnCompareExpr(Opcode opcode) override { return validator_.OnCompare(at(), opcode); }
    Result OnConvertExpr(Opcode opcode) override { return validator_.OnConvert(at(), opcode); }
    Result OnSimdLaneOpExpr(Opcode opcode, std::uint64_t lane) override {
        return validator_.OnSimdLaneOp(at(), opcode, lane);
    }
    Result OnSimdShuffleOpExpr(Opcode opcode, ::v128 lanes) override {
        return validator_.OnSimdShuffleOp(at(), opcode, lanes);
    }

    // Locals and globals.
    Result OnLocalGetExpr(Index index) override { return validator_.OnLocalGet(at(), var(index)); }
    Result OnLocalSetExpr(Index index) override { return validator_.OnLocalSet(at(), var(index)); }
    Result OnLocalTeeExpr(Index index) override { return validator_.OnLocalTee(at(), var(index)); }
    Result OnGlobalGetExpr(Index index) override { return validator_.OnGlobalGet(at(), var(index)); }
    Result OnGlobalSetExpr(Index index) override { return validator_.OnGlobalSet(at(), var(index)); }

    // Memory.
    Result OnLoadExpr(Opcode o, Index m, Address a, Address) override { return access(&validator::OnLoad, o, m, a); }
    Result OnStoreExpr(Opcode o, Index m, Address a, Address) override { return access(&validator::OnStore, o, m, a); }
    Result OnLoadSplatExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnLoadSplat, o, m, a);
    }
    Result OnLoadZeroExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnLoadZero, o, m, a);
    }
    Result OnSimdLoadLaneExpr(Opcode opcode, Index memidx, Address align, Address, std::uint64_t lane) override {
        return validator_.OnSimdLoadLane(at(), opcode, var(memidx), align_of(align), lane);
    }
    Result OnSimdStoreLaneExpr(Opcode opcode, Index memidx, Address align, Address, std::uint64_t lane) override {
        return validator_.OnSimdStoreLane(at(), opcode, var(memidx), align_of(align), lane);
    }
    Result OnMemorySizeExpr(Index memidx) override { return validator_.OnMemorySize(at(), var(memidx)); }
    Result OnMemoryGrowExpr(Index memidx) override { return validator_.OnMemoryGrow(at(), var(memidx)); }
    Result OnMemoryFillExpr(Index memidx) override { return validator_.OnMemoryFill(at(), var(memidx)); }
    Result OnMemoryCopyExpr(Index src, Index dst) override { return validator_.OnMemoryCopy(at(), var(src), var(dst)); }
    Result OnMemoryInitExpr(Index segment, Index memidx) override {
        return validator_.OnMemoryInit(at(), var(segment), var(memidx));
    }
    Result OnDataDropExpr(Index segment) override { return validator_.OnDataDrop(at(), var(segment)); }

    // Atomics (refused by the features cordon reads with; checked all the same).
    Result OnAtomicLoadExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicLoad, o, m, a);
    }
    Result OnAtomicStoreExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicStore, o, m, a);
    }
    Result OnAtomicRmwExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicRmw, o, m, a);
    }
    Result OnAtomicRmwCmpxchgExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicRmwCmpxchg, o, m, a);
    }
    Result OnAtomicWaitExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicWait, o, m, a);
    }
    Result OnAtomicNotifyExpr(Opcode o, Index m, Address a, Address) override {
        return access(&validator::OnAtomicNotify, o, m, a);
    }
    Result OnAtomicFenceExpr(std::uint32_t consistency_model) override {
        return validator_.OnAtomicFence(at(), consistency_model);
    }

    // Tables and references.
    Result OnTableGetExpr(Index table) override { return validator_.OnTableGet(at(), var(table)); }
    Result OnTableSetExpr(Index table) override { return validator_.OnTableSet(at(), var(table)); }
    Result OnTableGrowExpr(Index table) override { return validator_.OnTableGrow(at(), var(table)); }
    Result OnTableSizeExpr(Index table) override { return validator_.OnTableSize(at(), var(table)); }
    Result OnTableFillExpr(Index table) override { return validator_.OnTableFill(at(), var(table)); }
    Result OnTableCopyExpr(Index dst, Index src) override { return validator_.OnTableCopy(at(), var(dst), var(src)); }
    Result OnTableInitExpr(Index segment, Index table) override {
        return validator_.OnTableInit(at(), var(segment), var(table));
    }
    Result OnElemDropExpr(Index segment) override { return validator_.OnElemDrop(at(), var(segment)); }
    Result OnRefFuncExpr(Index func_index) override { return validator_.OnRefFunc(at(), var(func_index)); }
    Result OnRefNullExpr(Type type) override { return validator_.OnRefNull(at(), type); }
    Result OnRefIsNullExpr() override { return validator_.OnRefIsNull(at()); }

private:
    [[nodiscard]] wabt::Location at() const {
        wabt::Location loc;
        loc.offset = state ? state->offset : 0;
        return loc;
    }
    [[nodiscard]] wabt::Var var(Index index) const { return wabt::Var{index, at()}; }
    // A memory access: the check, the memory's index and the alignment the reader gave.
    using access_check = Result (validator::*)(const wabt::Location&, Opcode, wabt::Var, Address);
    Result access(access_check check, Opcode opcode, Index memidx, Address align_log2) {
        return (validator_.*check)(at(), opcode, var(memidx), align_of(align_log2));
    }
    // The reader gives an alignment as its log2, the validator wants it in bytes (one too large
    // to shift stays too large for every access).
    static Address align_of(Address log2) noexcept { return log2 < 32 ? Address{1} << log2 : Address{~0u}; }
    static wabt::SegmentKind segment_kind(std::uint8_t flags) noexcept {
        if ((flags & wabt::SegDeclared) == wabt::SegDeclared) return wabt::SegmentKind::Declared;
        if ((flags & wabt::SegPassive) == wabt::SegPassive) return wabt::SegmentKind::Passive;
        return wabt::SegmentKind::Active;
    }
    void note_memory(const wabt::Limits& limits) {
        if (memories_++ == 0) first_memory_is_64_ = limits.is_64;
    }
    Result begin_init(Type type) {
        in_code_ = true;
        labels_ = 1;  // the expression's own, closed by its `end`
        return validator_.BeginInitExpr(at(), type);
    }
    Result open(Result r) {
        if (wabt::Succeeded(r)) ++labels_;
        return r;
    }
    Result close(Result r) {
        if (wabt::Succeeded(r) && labels_ > 0) --labels_;
        return r;
    }

    wabt::Errors* errors_;
    validator validator_;
    Type global_type_ = Type::Void;
    Index memories_ = 0;
    bool first_memory_is_64_ = false;
    bool in_code_ = false;
    Index labels_ = 0;
};

} // namespace cordon::wasm::detail
