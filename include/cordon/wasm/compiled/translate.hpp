// From a module to C that wasm2c and a C compiler turn into native code: the metering rewrite,
// then a renaming that makes every symbol predictable (imports become `<name>_host.f<i>`, function
// exports `e<k>`, memory 0 is exported as `mem`, the start function as `start`), the meter's
// globals defined in the module itself (exported as `g_<name>`), and the glue that connects the
// translated module to cordon's host: one thunk per import, one trampoline per export, and a
// module descriptor.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/compiled/abi.hpp>
#include <cordon/wasm/detail/wabt_ir.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <wabt/binary-reader-nop.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/ir.h>

#include <algorithm>
#include <array>
#include <span>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm::compiled_translate {

/// Where the glue will be compiled: into the host program, or into a shared object of its own.
enum class glue_mode : std::uint8_t { linked, shared };

/// A module ready for wasm2c, and the glue to compile beside its output.
struct translation {
    std::string c_name;                 // wasm2c's -n; the output is <c_name>.c and <c_name>.h
    std::vector<std::uint8_t> wasm;     // the metered, renamed module
    std::string glue;                   // C source
};

/// C names are lower-case letters, digits and '_' (wasm2c 1.0.32 escapes other characters).
inline bool valid_c_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

namespace detail {

inline result<std::string_view> c_type(value_type type) {
    switch (type) {
    case value_type::i32: return std::string_view{"u32"};
    case value_type::i64: return std::string_view{"u64"};
    case value_type::f32: return std::string_view{"f32"};
    case value_type::f64: return std::string_view{"f64"};
    default: break;
    }
    return fail(error_kind::unsupported,
                "the compiled engine passes only i32, i64, f32 and f64 across the host boundary, not " +
                    std::string(to_string(type)));
}

/// A C string literal of arbitrary bytes (octal escapes, so no digit can extend one).
inline std::string c_string(std::string_view bytes) {
    std::string out = "\"";
    for (unsigned char c : bytes) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
            c == '-' || c == ' ')
            out += static_cast<char>(c);
        else {
            static constexpr char digits[] = "01234567";
            out += '\\';
            out += digits[(c >> 6) & 7];
            out += digits[(c >> 3) & 7];
            out += digits[c & 7];
        }
    }
    return out + "\"";
}

struct export_entry {
    std::string name;
    signature sig;
};

struct glue_input {
    std::string c_name;
    std::vector<signature> imports;              // function imports of the metered module, in order
    std::vector<std::string> meter_globals;      // the meter's globals, exported as g_<name>
    bool has_start = false;                      // the start function, exported as "start"
    std::vector<export_entry> exports;           // function exports, e<k>
    bool has_memory = false;
    std::string module_sha256;
    std::string metering_key;
};

/// `R f(A0 a0, A1 a1)` pieces for a signature; multi-value results are refused.
struct c_signature {
    std::string result = "void";
    std::vector<std::string> params;
};

inline result<c_signature> to_c(const signature& sig, std::string_view what) {
    if (sig.results.size() > 1)
        return fail(error_kind::unsupported, std::string(what) + " returns " + std::to_string(sig.results.size()) +
                                                 " values; the compiled engine supports at most one");
    c_signature out;
    for (auto t : sig.params) {
        auto c = c_type(t);
        if (!c) return error{c.error().kind(), error_info{std::string(what) + ": " + c.error().message()}};
        out.params.emplace_back(*c);
    }
    if (!sig.results.empty()) {
        auto c = c_type(sig.results[0]);
        if (!c) return error{c.error().kind(), error_info{std::string(what) + ": " + c.error().message()}};
        out.result = std::string(*c);
    }
    return out;
}

inline std::string runtime_forwarders() {
    return R"(
static const cordon_w2c_runtime* cordon_rt;
void wasm_rt_trap(wasm_rt_trap_t code) { cordon_rt->trap(code); __builtin_unreachable(); }
void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return cordon_rt != NULL; }
void wasm_rt_free(void) {}
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  wasm_rt_type_t types[2048];
  uint32_t i;
  va_list args;
  if (params + results > 2048 || params + results < params) wasm_rt_trap(WASM_RT_TRAP_CALL_INDIRECT);
  va_start(args, results);
  for (i = 0; i < params + results; ++i) types[i] = (wasm_rt_type_t)va_arg(args, int);
  va_end(args);
  return cordon_rt->register_func_type(params, results, types);
}
void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t initial, uint32_t max) { cordon_rt->allocate_memory(m, initial, max); }
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t delta) { return cordon_rt->grow_memory(m, delta); }
void wasm_rt_free_memory(wasm_rt_memory_t* m) { cordon_rt->free_memory(m); }
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t n, uint32_t max) { cordon_rt->allocate_funcref_table(t, n, max); }
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) { cordon_rt->free_funcref_table(t); }
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t d, wasm_rt_funcref_t v) { return cordon_rt->grow_funcref_table(t, d, v); }
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t n, uint32_t max) { cordon_rt->allocate_externref_table(t, n, max); }
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) { cordon_rt->free_externref_table(t); }
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t d, wasm_rt_externref_t v) { return cordon_rt->grow_externref_table(t, d, v); }
)";
}

/// The glue: import thunks, meter globals, export trampolines, the descriptor and its entry point.
inline result<std::string> glue_source(const glue_input& in, glue_mode mode) {
    const std::string& n = in.c_name;
    const std::string host = "Z_" + n + "_host";
    const std::string instance = "Z_" + n + "_instance_t";
    std::string c = "/* Generated by cordon: glue between the translated module " + n + " and cordon's host. */\n";
    c += "#include <stdarg.h>\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n";
    c += "#include \"" + n + ".h\"\n";
    if (mode == glue_mode::linked) c += "#include <cordon/wasm/compiled/abi.h>\n";
    else c += "#define CORDON_W2C_ABI_VERSION " + std::to_string(compiled_abi_version) + "\n" + std::string(compiled_abi_text) + "\n";
    c += "struct " + host + "_instance_t { cordon_w2c_env env; };\n\n";

    for (std::size_t i = 0; i < in.imports.size(); ++i) {
        auto sig = to_c(in.imports[i], "import " + std::to_string(i));
        if (!sig) return sig.error();
        const std::size_t slots = std::max<std::size_t>({1, sig->params.size()});
        c += sig->result + " " + host + "Z_f" + std::to_string(i) + "(struct " + host + "_instance_t* h";
        for (std::size_t p = 0; p < sig->params.size(); ++p) c += ", " + sig->params[p] + " a" + std::to_string(p);
        c += ") {\n  uint64_t s[" + std::to_string(slots) + "];\n  memset(s, 0, sizeof s);\n";
        for (std::size_t p = 0; p < sig->params.size(); ++p)
            c += "  memcpy(&s[" + std::to_string(p) + "], &a" + std::to_string(p) + ", sizeof a" + std::to_string(p) + ");\n";
        c += "  if (h->env.call_import(h->env.host, " + std::to_string(i) + "u, s)) wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);\n";
        if (sig->result != "void") c += "  { " + sig->result + " r; memcpy(&r, &s[0], sizeof r); return r; }\n";
        c += "}\n";
    }
    c += "static void cordon_meter(void* i, cordon_w2c_meter* m) {\n  memset(m, 0, sizeof *m);\n";
    for (const std::string& global : in.meter_globals) {
        const bool wide = global == meter_abi::fuel;
        c += "  m->" + global + " = (" + (wide ? "int64_t" : "int32_t") + "*)Z_" + n + "Z_g_" + global + "((" + instance + "*)i);\n";
    }
    c += "}\n";
    if (in.has_start) c += "static void cordon_start(void* i) { Z_" + n + "Z_start((" + instance + "*)i); }\n";
    c += "\n";
    for (std::size_t k = 0; k < in.exports.size(); ++k) {
        auto sig = to_c(in.exports[k].sig, "export " + in.exports[k].name);
        if (!sig) return sig.error();
        const std::string fn = "Z_" + n + "Z_e" + std::to_string(k);
        c += "static void cordon_t" + std::to_string(k) + "(void* i, uint64_t* s) {\n";
        std::string args;
        for (std::size_t p = 0; p < sig->params.size(); ++p) {
            c += "  " + sig->params[p] + " a" + std::to_string(p) + ";\n  memcpy(&a" + std::to_string(p) + ", &s[" +
                 std::to_string(p) + "], sizeof a" + std::to_string(p) + ");\n";
            args += ", a" + std::to_string(p);
        }
        if (sig->result == "void") c += "  " + fn + "((" + instance + "*)i" + args + ");\n  (void)s;\n";
        else
            c += "  { " + sig->result + " r = " + fn + "((" + instance + "*)i" + args +
                 ");\n    memset(&s[0], 0, sizeof s[0]);\n    memcpy(&s[0], &r, sizeof r); }\n";
        c += "}\n";
    }
    if (!in.exports.empty()) {
        c += "static const cordon_w2c_export cordon_exports[] = {\n";
        for (std::size_t k = 0; k < in.exports.size(); ++k)
            c += "  {" + c_string(in.exports[k].name) + ", (cordon_w2c_function_ptr)&Z_" + n + "Z_e" + std::to_string(k) +
                 ", &cordon_t" + std::to_string(k) + "},\n";
        c += "};\n";
    }
    c += "static void cordon_instantiate(void* i, cordon_w2c_env* e) { Z_" + n + "_instantiate((" + instance +
         "*)i, (struct " + host + "_instance_t*)e); }\n";
    c += "static void cordon_free(void* i) { Z_" + n + "_free((" + instance + "*)i); }\n";
    if (in.has_memory)
        c += "static wasm_rt_memory_t* cordon_memory(void* i) { return Z_" + n + "Z_mem((" + instance + "*)i); }\n";
    c += "static const cordon_w2c_module cordon_module = {\n  CORDON_W2C_ABI_VERSION, " + c_string(in.module_sha256) +
         ", " + c_string(in.metering_key) + ", sizeof(" + instance + "), " + std::to_string(in.imports.size()) +
         "u,\n  &Z_" + n + "_init_module, &cordon_instantiate, &cordon_meter, " + (in.has_start ? "&cordon_start" : "NULL") +
         ", &cordon_free, " +
         (in.has_memory ? "&cordon_memory" : "NULL") + ",\n  " + std::to_string(in.exports.size()) + "u, " +
         (in.exports.empty() ? "NULL" : "cordon_exports") + "\n};\n";
    if (mode == glue_mode::linked) {
        c += "const cordon_w2c_module* cordon_w2c_entry_" + n + "(void);\n";
        c += "const cordon_w2c_module* cordon_w2c_entry_" + n + "(void) { return &cordon_module; }\n";
    } else {
        c += runtime_forwarders();
        c += "__attribute__((visibility(\"default\"))) const cordon_w2c_module* cordon_w2c_entry(const cordon_w2c_runtime* rt);\n";
        c += "const cordon_w2c_module* cordon_w2c_entry(const cordon_w2c_runtime* rt) {\n"
             "  if (rt->abi_version != CORDON_W2C_ABI_VERSION) return NULL;\n  cordon_rt = rt;\n  return &cordon_module;\n}\n";
    }
    return c;
}

} // namespace detail

/// Trap codes for an indirect call to a null element and for one whose type does not match:
/// wasm2c reports those and an index past the table's end alike (WASM_RT_TRAP_CALL_INDIRECT),
/// the interpreter (and the spec's tests) tell the three apart. Unused by wasm-rt.h, and inside
/// the range its enumeration can hold (0 to 15). Changing them, or the patch below, changes
/// translated code: bump CORDON_W2C_ABI_VERSION (abi.h), which keys the cache.
inline constexpr int uninitialized_element_trap = 14;
inline constexpr int signature_mismatch_trap = 15;
static_assert(uninitialized_element_trap > WASM_RT_TRAP_EXHAUSTION && signature_mismatch_trap < 16);

/// Adjusts wasm2c's C output: indirect calls trap with a distinct code for each way they fail.
/// Returns false when the output does not have the expected shape (another wasm2c version).
inline bool patch_translated_c(std::string& c) {
    static constexpr std::string_view original =
        "#define CALL_INDIRECT(table, t, ft, x, ...)             \\\n"
        "  (LIKELY((x) < table.size && table.data[x].func &&     \\\n"
        "          table.data[x].func_type == func_types[ft]) || \\\n"
        "       TRAP(CALL_INDIRECT),                             \\\n"
        "   ((t)table.data[x].func)(__VA_ARGS__))\n";
    static constexpr std::string_view replacement =
        "#define CALL_INDIRECT(table, t, ft, x, ...)                                  \\\n"
        "  (LIKELY((x) < table.size) || TRAP(CALL_INDIRECT),                          \\\n"
        "   LIKELY(table.data[x].func) || (wasm_rt_trap((wasm_rt_trap_t)14), 0),       \\\n"
        "   LIKELY(table.data[x].func_type == func_types[ft]) ||                       \\\n"
        "       (wasm_rt_trap((wasm_rt_trap_t)15), 0),                                 \\\n"
        "   ((t)table.data[x].func)(__VA_ARGS__))\n";
    const auto at = c.find(original);
    if (at == std::string::npos) return false;
    c.replace(at, original.size(), replacement);
    return true;
}

/// Flags every compile of translated C needs, whatever else is asked for. Stack clash protection
/// makes a frame larger than a page (a function with many locals) touch each page it takes, so
/// that deep recursion meets the thread's guard page instead of stepping over it into whatever
/// lies below the stack.
inline constexpr std::array<const char*, 7> required_c_flags{
    "-shared", "-fPIC", "-fvisibility=hidden", "-w", "-fstack-clash-protection", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1", "-DNDEBUG"};

/// Whether a module uses SIMD (v128 values or instructions): WABT reads it only with the feature on.
/// `bytes` must be a valid module (only WABT's decoder sees them, not its IR reader).
inline constexpr std::uint8_t simd_prefix = 0xfd;  // the binary format's prefix of SIMD instructions

inline bool uses_simd(std::span<const std::uint8_t> bytes) {
    // WABT's reader refuses v128 types and most SIMD instructions with the feature off, but reads
    // some (v128.load8x8_s among them) all the same: any instruction of the SIMD prefix counts.
    struct quiet_decoder : wabt::BinaryReaderNop {
        bool OnError(const wabt::Error&) override { return true; }  // handled: the answer is the failure
        wabt::Result OnOpcode(wabt::Opcode opcode) override {
            if (opcode.GetPrefix() == simd_prefix) simd = true;
            return wabt::Result::Ok;
        }
        bool simd = false;
    };
    wabt::Features without_simd = wasm::detail::supported_features();
    without_simd.disable_simd();
    quiet_decoder decoder;
    const wabt::ReadBinaryOptions options{without_simd, nullptr, /*read_debug_names=*/false, /*stop_on_first_error=*/true,
                                          /*fail_on_custom_section_error=*/false};
    return wabt::Failed(wabt::ReadBinary(bytes.data(), bytes.size(), &decoder, options)) || decoder.simd;
}

/// The metering rewrite of `source`, renamed for wasm2c, and its glue.
inline result<translation> translate(const module& source, const metering_options& metering, std::string c_name,
                                     glue_mode mode, std::string_view module_sha256) {
    if (!valid_c_name(c_name))
        return fail(error_kind::invalid_argument, "compiled module name '" + c_name +
                                                      "' must be lower-case letters, digits and '_', starting with a letter");
    auto rewritten = metered(source, metering);
    if (!rewritten) return rewritten.error();
    // wasm2c 1.0.32 stops on SIMD with an abort and no message: say why before it runs.
    if (uses_simd((*rewritten)->bytes))
        return fail(error_kind::load_error, "module " + source.name() +
                                                " uses SIMD (v128), which the compiled engine does not support in this "
                                                "build (wasm2c 1.0.32 cannot translate it); use the interpreter engine "
                                                "(--engine interp)");
    auto parsed = wasm::detail::parse_ir((*rewritten)->bytes, /*validate=*/false);
    if (!parsed) return parsed.error();
    wabt::Module& ir = **parsed;

    detail::glue_input in;
    in.c_name = c_name;
    in.module_sha256 = std::string(module_sha256);
    in.metering_key = metering.key();
    const std::string host_module = c_name + "_host";
    std::uint32_t next_function = 0;
    std::vector<wabt::GlobalImport*> meter_globals;
    for (wabt::Import* import : ir.imports) {
        const std::string qualified = import->module_name + "." + import->field_name;
        if (auto* f = wabt::dyn_cast<wabt::FuncImport>(import)) {
            in.imports.push_back(wasm::detail::from_wabt(f->func.decl.sig));
            import->field_name = "f" + std::to_string(next_function++);
            import->module_name = host_module;
        } else if (auto* g = wabt::dyn_cast<wabt::GlobalImport>(import); g && import->module_name == meter_abi::module) {
            meter_globals.push_back(g);
        } else {
            return fail(error_kind::load_error, "module imports " + qualified + "; only function imports can be provided");
        }
    }
    if (ir.num_global_imports != meter_globals.size())
        return fail(error_kind::load_error, "module imports globals; only function imports can be provided");
    // The meter's globals become globals of the module itself, in the same index positions (the
    // module imports no others, so they stay first), exported for the host as g_<name>.
    std::vector<std::pair<std::string, wabt::Type>> meter_types;
    for (wabt::GlobalImport* g : meter_globals) meter_types.emplace_back(g->field_name, g->global.type);
    std::erase_if(ir.imports, [](wabt::Import* import) { return wabt::isa<wabt::GlobalImport>(import); });
    for (auto it = ir.fields.begin(); it != ir.fields.end();) {
        auto* field = wabt::dyn_cast<wabt::ImportModuleField>(&*it);
        if (field && wabt::isa<wabt::GlobalImport>(field->import.get())) it = ir.fields.erase(it);
        else ++it;
    }
    ir.num_global_imports = 0;
    for (std::size_t i = 0; i < meter_types.size(); ++i) {
        auto field = std::make_unique<wabt::GlobalModuleField>();
        field->global.type = meter_types[i].second;
        field->global.mutable_ = true;
        field->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(
            meter_types[i].second == wabt::Type::I64 ? wabt::Const::I64(0) : wabt::Const::I32(0)));
        ir.globals[i] = &field->global;
        ir.fields.push_back(std::move(field));
        in.meter_globals.push_back(meter_types[i].first);
    }

    // The start function runs when the host says, after it has set the meter.
    std::optional<wabt::Index> start;
    if (!ir.starts.empty()) {
        start = ir.GetFuncIndex(*ir.starts.front());
        ir.starts.clear();
        for (auto it = ir.fields.begin(); it != ir.fields.end();) {
            if (it->type() == wabt::ModuleFieldType::Start) it = ir.fields.erase(it);
            else ++it;
        }
    }

    // Exports: the functions under predictable names, memory 0 as "mem"; nothing else is needed.
    for (const wabt::Export* e : ir.exports) {
        if (e->kind != wabt::ExternalKind::Func) continue;
        const wabt::Func* f = ir.GetFunc(e->var);
        if (!f) return fail(error_kind::load_error, "export " + e->name + " names no function");
        in.exports.push_back({e->name, wasm::detail::from_wabt(f->decl.sig)});
    }
    std::vector<wabt::Index> export_functions;
    for (const wabt::Export* e : ir.exports)
        if (e->kind == wabt::ExternalKind::Func) export_functions.push_back(ir.GetFuncIndex(e->var));
    for (auto it = ir.fields.begin(); it != ir.fields.end();) {
        if (it->type() == wabt::ModuleFieldType::Export) it = ir.fields.erase(it);
        else ++it;
    }
    ir.exports.clear();
    ir.export_bindings.clear();
    auto add_export = [&](std::string name, wabt::ExternalKind kind, wabt::Index index) {
        auto field = std::make_unique<wabt::ExportModuleField>();
        field->export_.name = std::move(name);
        field->export_.kind = kind;
        field->export_.var = wabt::Var(index, wabt::Location());
        ir.AppendField(std::move(field));
    };
    for (std::size_t k = 0; k < export_functions.size(); ++k)
        add_export("e" + std::to_string(k), wabt::ExternalKind::Func, export_functions[k]);
    if (!ir.memories.empty()) {
        add_export("mem", wabt::ExternalKind::Memory, 0);
        in.has_memory = true;
    }
    for (std::size_t i = 0; i < in.meter_globals.size(); ++i)
        add_export("g_" + in.meter_globals[i], wabt::ExternalKind::Global, static_cast<wabt::Index>(i));
    if (start) {
        add_export("start", wabt::ExternalKind::Func, *start);
        in.has_start = true;
    }

    auto bytes = wasm::detail::write_ir(ir);
    if (!bytes) return bytes.error();
    auto glue = detail::glue_source(in, mode);
    if (!glue) return glue.error();
    return translation{std::move(c_name), std::move(*bytes), std::move(*glue)};
}

} // namespace cordon::wasm::compiled_translate
