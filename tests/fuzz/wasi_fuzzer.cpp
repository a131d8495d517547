// Fuzzes the WASI layer as a guest drives it: a module built here imports every WASI function,
// its memory is filled from the input, and the input picks the calls and their pointer arguments.
#include "fuzz_support.hpp"

#include <cordon/host/context.hpp>
#include <cordon/wasm/interpreter.hpp>
#include <cordon/wasm/sandbox_state.hpp>
#include <cordon/wasm/wasi.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

using cordon::fuzz::require;
namespace wasm = cordon::wasm;

// ---- a minimal WebAssembly binary writer --------------------------------------------------------

void put_uleb(std::vector<std::uint8_t>& out, std::uint64_t v) {
    do {
        std::uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v != 0) byte |= 0x80;
        out.push_back(byte);
    } while (v != 0);
}
void put_name(std::vector<std::uint8_t>& out, std::string_view name) {
    put_uleb(out, name.size());
    out.insert(out.end(), name.begin(), name.end());
}
void put_section(std::vector<std::uint8_t>& module, std::uint8_t id, const std::vector<std::uint8_t>& body) {
    module.push_back(id);
    put_uleb(module, body.size());
    module.insert(module.end(), body.begin(), body.end());
}
std::uint8_t type_code(cordon::value_type type) { return type == cordon::value_type::i64 ? 0x7e : 0x7f; }

struct wasi_import {
    std::string name;
    cordon::host::signature sig;
};

// Every WASI function: those cordon implements with their own types, the rest (answered ENOSYS
// by a stand-in that takes the import's type) as (i32, i32) -> i32.
const std::vector<wasi_import>& wasi_imports() {
    static const std::vector<wasi_import> imports = [] {
        std::vector<wasi_import> out;
        for (std::string_view name : wasm::wasi::all_functions) {
            cordon::host::signature sig{{cordon::value_type::i32, cordon::value_type::i32}, {cordon::value_type::i32}};
            for (const auto& f : wasm::wasi_host_api())
                if (f.name == name) sig = f.sig;
            out.push_back({std::string(name), sig});
        }
        return out;
    }();
    return imports;
}

// The module: import i is wrapped by export "w<i>" of the same type (an import re-exported as
// is would not be a guest call); one page of memory; and "fill", which copies the call's input
// bytes to address 0 through cordon.input_read, so one loaded module serves every input.
std::vector<std::uint8_t> build_module() {
    const auto& imports = wasi_imports();
    const std::size_t n = imports.size();
    const std::size_t input_read = n, fill_type = n + 1;  // type and import indices after the WASI ones
    std::vector<std::uint8_t> module{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    std::vector<std::uint8_t> types, import_section, functions, exports, code;
    put_uleb(types, n + 2);
    put_uleb(import_section, n + 1);
    put_uleb(functions, n + 1);
    put_uleb(exports, n + 2);
    put_uleb(code, n + 1);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& sig = imports[i].sig;
        types.push_back(0x60);
        put_uleb(types, sig.params.size());
        for (auto t : sig.params) types.push_back(type_code(t));
        put_uleb(types, sig.results.size());
        for (auto t : sig.results) types.push_back(type_code(t));

        put_name(import_section, wasm::wasi::module);
        put_name(import_section, imports[i].name);
        import_section.push_back(0x00);  // a function
        put_uleb(import_section, i);

        put_uleb(functions, i);
        put_name(exports, "w" + std::to_string(i));
        exports.push_back(0x00);
        put_uleb(exports, n + 1 + i);

        std::vector<std::uint8_t> body{0x00};  // no locals
        for (std::size_t p = 0; p < sig.params.size(); ++p) {
            body.push_back(0x20);  // local.get
            put_uleb(body, p);
        }
        body.push_back(0x10);  // call
        put_uleb(body, i);
        body.push_back(0x0b);
        put_uleb(code, body.size());
        code.insert(code.end(), body.begin(), body.end());
    }
    types.insert(types.end(), {0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f});  // (i32, i32) -> i32
    types.insert(types.end(), {0x60, 0x00, 0x01, 0x7f});              // () -> i32
    put_name(import_section, "cordon");
    put_name(import_section, "input_read");
    import_section.push_back(0x00);
    put_uleb(import_section, input_read);
    put_uleb(functions, fill_type);
    put_name(exports, "fill");
    exports.push_back(0x00);
    put_uleb(exports, n + 1 + n);
    // i32.const 0, i32.const 65536, call input_read, drop, i32.const 0
    std::vector<std::uint8_t> fill{0x00, 0x41, 0x00, 0x41, 0x80, 0x80, 0x04, 0x10};
    put_uleb(fill, n);
    fill.insert(fill.end(), {0x1a, 0x41, 0x00, 0x0b});
    put_uleb(code, fill.size());
    code.insert(code.end(), fill.begin(), fill.end());
    put_name(exports, "memory");
    exports.push_back(0x02);
    put_uleb(exports, 0);

    put_section(module, 1, types);
    put_section(module, 2, import_section);
    put_section(module, 3, functions);
    put_section(module, 5, {0x01, 0x01, 0x01, 0x01});  // one memory, 1 page, at most 1
    put_section(module, 7, exports);
    put_section(module, 10, code);
    return module;
}

const wasm::module& harness_module() {
    static const wasm::module module = [] {
        auto loaded = wasm::module::from_bytes(build_module());
        require(loaded.has_value(), "the harness's own module loads");
        return *loaded;
    }();
    return module;
}

std::filesystem::path scratch_root() {
    return std::filesystem::temp_directory_path() / ("cordon-fuzz-wasi-" + std::to_string(::getpid()));
}
void remove_scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(scratch_root(), ignored);
}

// A scratch tree the guest may read beneath: data.txt, sub/, and a symlink pointing out of it.
// Removed when the fuzzer exits (libFuzzer ends with exit()).
const std::filesystem::path& scratch() {
    static const std::filesystem::path root = [] {
        auto dir = scratch_root();
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir / "allowed" / "sub");
        std::ofstream(dir / "allowed" / "data.txt") << "hello from the scratch tree\n";
        std::ofstream(dir / "secret.txt") << "outside every scope\n";
        std::filesystem::create_symlink("../secret.txt", dir / "allowed" / "escape");
        std::atexit(remove_scratch);
        return dir;
    }();
    return root;
}

/// The policy every input runs under: reading inside one scope, writes in the ceiling but not
/// granted (refused), small limits.
cordon::host::owned_context fuzz_context() {
    cordon::policy_spec spec;
    for (const char* p : {"clock", "random", "env"}) spec.grant(p);
    spec.grant("fs.read", (scratch() / "allowed").string());
    spec.admit("fs.write");  // inside the ceiling, not granted: writes are refused
    using cordon::limit::kind;
    spec.limits.set(kind::memory, 4u << 20);
    spec.limits.set(kind::fuel, 100'000);
    spec.limits.set(kind::wall_time_ms, 2000);
    spec.limits.set(kind::output_bytes, 64u << 10);
    spec.limits.set(kind::open_files, 8);
    cordon::host::owned_context context{std::move(spec)};
    context->environment = {{"HOME", (scratch() / "allowed").string()}, {"LANG", "C"}};
    return context;
}

wasm::engine_options fuzz_options() {
    wasm::engine_options options;
    options.args = {"guest", "--flag", "value"};
    return options;
}

inline constexpr std::size_t max_calls = 32;

std::int32_t biased_pointer(cordon::fuzz::input& in) {
    // Most pointers should land in the page, some anywhere at all.
    const auto raw = in.take<std::uint32_t>();
    return static_cast<std::int32_t>((raw & 0x80000000u) != 0 ? raw : raw & 0xffffu);
}

/// One sandbox serves every input (instantiating per input made the harness a hundred times
/// slower than the code it fuzzes); each input starts with what the last one left undone: its
/// files closed, the whole memory page rewritten, its output taken.
struct shared_sandbox {
    cordon::host::owned_context context = fuzz_context();
    std::unique_ptr<wasm::interpreter_instance> box = [this] {
        auto created = wasm::interpreter_instance::create(harness_module(), context, fuzz_options());
        require(created.has_value(), "the harness's own module instantiates");
        return std::move(*created);
    }();

    wasm::interpreter_instance& fresh() {
        auto& handles = box->state().handles;
        for (std::uint32_t h = wasm::handle_table::first_handle; h < wasm::handle_table::first_handle + 256; ++h)
            (void)handles.close(h);  // preopens stay: close refuses them
        require(handles.opened() == 0, "no file outlives its input");
        (void)context->take_stdout();
        (void)context->take_stderr();
        (void)context->take_logs();
        return *box;
    }
};

} // namespace

// Input: a data offset (u16), the memory bytes (a u16 length, then the bytes), then calls: a
// function selector byte and the arguments of that function.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static shared_sandbox shared;
    cordon::fuzz::input in{data, size};
    const std::size_t offset = in.take<std::uint16_t>();
    auto bytes = in.take_bytes(4096);
    bytes = bytes.first(std::min<std::size_t>(bytes.size(), 65536 - offset));
    wasm::interpreter_instance& box = shared.fresh();
    std::vector<std::uint8_t> memory(65536, 0);  // the whole page, so no input sees the last one's bytes
    std::copy(bytes.begin(), bytes.end(), memory.begin() + static_cast<std::ptrdiff_t>(offset));
    require(box.call_bytes("fill", memory).has_value(), "the memory fills");
    const auto& imports = wasi_imports();
    for (std::size_t n = 0; n < max_calls && !in.empty(); ++n) {
        const std::size_t which = in.take<std::uint8_t>() % imports.size();
        std::vector<cordon::value> args;
        for (auto type : imports[which].sig.params) {
            if (type == cordon::value_type::i64) args.push_back(cordon::value::of(in.take<std::int64_t>()));
            else args.push_back(cordon::value::of(biased_pointer(in)));
        }
        auto answer = box.call("w" + std::to_string(which), args);
        if (answer) require(answer->size() == imports[which].sig.results.size(), "a WASI call returns its results");
    }
    return 0;
}
