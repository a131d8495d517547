// A loaded, validated WebAssembly module: bytes with caps, clear load errors, and inspection
// (imports, exports with signatures, memory and table limits, names). One module serves many sandboxes.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/detail/binary_scan.hpp>
#include <cordon/wasm/detail/wabt_ir.hpp>
#include <cordon/wasm/types.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

enum class extern_kind : std::uint8_t { function, table, memory, global, tag };

constexpr std::string_view to_string(extern_kind kind) noexcept {
    switch (kind) {
    case extern_kind::function: return "func";
    case extern_kind::table: return "table";
    case extern_kind::memory: return "memory";
    case extern_kind::global: return "global";
    case extern_kind::tag: return "tag";
    }
    return "?";
}

/// Initial and maximum size, in pages for memories and in elements for tables.
struct size_limits {
    std::uint64_t initial = 0;
    std::optional<std::uint64_t> maximum{};
};

struct import_info {
    std::string module;
    std::string name;
    extern_kind kind = extern_kind::function;
    std::optional<signature> func_signature{};   // for functions
    std::optional<size_limits> limits{};         // for memories and tables
};

struct export_info {
    std::string name;
    extern_kind kind = extern_kind::function;
    std::uint32_t index = 0;
    std::optional<signature> func_signature{};
};

/// What inspection tells about a module.
struct module_info {
    std::vector<import_info> imports;
    std::vector<export_info> exports;
    std::vector<size_limits> memories;           // imported ones first
    std::vector<size_limits> tables;
    std::vector<std::string> function_names;     // by function index; "func[N]" when unnamed
    std::vector<signature> function_signatures;  // by function index
    std::uint32_t imported_functions = 0;
    std::optional<std::uint32_t> start_function{};
};

namespace detail {

inline export_info make_export(const wabt::Module& ir, const wabt::Export& e) {
    export_info out{e.name, static_cast<extern_kind>(static_cast<int>(e.kind)), e.var.index(), std::nullopt};
    if (e.kind == wabt::ExternalKind::Func) out.func_signature = from_wabt(ir.funcs[e.var.index()]->decl.sig);
    return out;
}

inline module_info inspect(const wabt::Module& ir) {
    module_info info;
    for (const wabt::Import* import : ir.imports) {
        import_info out{import->module_name, import->field_name, extern_kind::function, std::nullopt, std::nullopt};
        switch (import->kind()) {
        case wabt::ExternalKind::Func:
            out.func_signature = from_wabt(wabt::cast<wabt::FuncImport>(import)->func.decl.sig);
            break;
        case wabt::ExternalKind::Table: {
            out.kind = extern_kind::table;
            const auto& l = wabt::cast<wabt::TableImport>(import)->table.elem_limits;
            out.limits = size_limits{l.initial, l.has_max ? std::optional{l.max} : std::nullopt};
            break;
        }
        case wabt::ExternalKind::Memory: {
            out.kind = extern_kind::memory;
            const auto& l = wabt::cast<wabt::MemoryImport>(import)->memory.page_limits;
            out.limits = size_limits{l.initial, l.has_max ? std::optional{l.max} : std::nullopt};
            break;
        }
        case wabt::ExternalKind::Global: out.kind = extern_kind::global; break;
        case wabt::ExternalKind::Tag: out.kind = extern_kind::tag; break;
        }
        info.imports.push_back(std::move(out));
    }
    for (const wabt::Export* e : ir.exports) info.exports.push_back(make_export(ir, *e));
    for (const wabt::Memory* m : ir.memories)
        info.memories.push_back({m->page_limits.initial,
                                 m->page_limits.has_max ? std::optional{m->page_limits.max} : std::nullopt});
    for (const wabt::Table* t : ir.tables)
        info.tables.push_back({t->elem_limits.initial,
                               t->elem_limits.has_max ? std::optional{t->elem_limits.max} : std::nullopt});
    for (std::size_t i = 0; i < ir.funcs.size(); ++i) {
        const std::string name = plain_name(ir.funcs[i]->name);
        info.function_names.push_back(name.empty() ? "func[" + std::to_string(i) + "]" : name);
        info.function_signatures.push_back(from_wabt(ir.funcs[i]->decl.sig));
    }
    info.imported_functions = ir.num_func_imports;
    if (!ir.starts.empty()) info.start_function = ir.starts.front()->index();
    return info;
}

struct module_data {
    std::vector<std::uint8_t> bytes;
    module_info info;
    std::string name;  // file name or "<bytes>", for messages

    // Artifacts derived once per module and shared by every sandbox made from it: metered
    // rewrites and engine-compiled forms, keyed by what produced them.
    mutable std::mutex derived_mutex;
    mutable std::map<std::string, std::shared_ptr<const void>> derived;
};

} // namespace detail

/// A validated module. Copies share the same immutable data.
class module {
public:
    /// Loads, checks and inspects a module held in memory (the bytes are copied).
    static result<module> from_bytes(std::span<const std::uint8_t> bytes, const load_options& options = {}) {
        if (bytes.size() > options.max_bytes)  // before copying anything
            return fail(error_kind::load_error, "module is " + std::to_string(bytes.size()) +
                                                    " bytes, more than the limit of " +
                                                    std::to_string(options.max_bytes));
        return load(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "<bytes>", options);
    }

    /// Loads a module from a file; the size cap is checked before anything is read.
    static result<module> from_file(const std::filesystem::path& path, const load_options& options = {}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (ec) return fail(error_kind::load_error, "cannot read module " + path.string() + ": " + ec.message());
        if (size > options.max_bytes)
            return fail(error_kind::load_error, "module " + path.string() + " is " + std::to_string(size) +
                                                    " bytes, more than the limit of " +
                                                    std::to_string(options.max_bytes));
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(path.c_str(), "rbe"), &std::fclose};
        if (!file) return fail(error_kind::load_error, "cannot open module " + path.string());
        std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
        if (size != 0 && std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size())
            return fail(error_kind::load_error, "cannot read module " + path.string() + " (short read)");
        auto loaded = load(std::move(bytes), path.string(), options);
        if (!loaded) return loaded.error().with_context(path.string());
        return loaded;
    }

    [[nodiscard]] const module_info& info() const noexcept { return data_->info; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return data_->bytes; }
    [[nodiscard]] const std::string& name() const noexcept { return data_->name; }
    [[nodiscard]] const std::vector<import_info>& imports() const noexcept { return data_->info.imports; }
    [[nodiscard]] const std::vector<export_info>& exports() const noexcept { return data_->info.exports; }

    [[nodiscard]] const export_info* find_export(std::string_view name) const noexcept {
        for (const auto& e : data_->info.exports)
            if (e.name == name) return &e;
        return nullptr;
    }

    /// The name of function `index` (from the name section when present, else "func[N]").
    [[nodiscard]] std::string function_name(std::uint32_t index) const {
        const auto& names = data_->info.function_names;
        return index < names.size() ? names[index] : "func[" + std::to_string(index) + "]";
    }

    /// Returns the artifact stored under `key`, building it with `make` the first time.
    /// Engines and the metering pass use this so that work is done once per module.
    template <class T, class Make>
    result<std::shared_ptr<const T>> derived(const std::string& key, Make&& make) const {
        {
            std::lock_guard lock{data_->derived_mutex};
            if (auto it = data_->derived.find(key); it != data_->derived.end())
                return std::static_pointer_cast<const T>(it->second);
        }
        // Built without the lock: making one artifact may need another (compiled needs metered).
        // Two threads racing here both build; the first to store wins and both use it.
        result<std::shared_ptr<const T>> built = make();
        if (!built) return built;
        std::lock_guard lock{data_->derived_mutex};
        auto [it, inserted] = data_->derived.emplace(key, *built);
        return std::static_pointer_cast<const T>(it->second);
    }

private:
    explicit module(std::shared_ptr<detail::module_data> data) : data_{std::move(data)} {}

    static result<module> load(std::vector<std::uint8_t> bytes, std::string name, const load_options& options) {
        if (auto scanned = detail::scan_module(bytes, options); !scanned) return scanned.error();
        auto ir = detail::parse_ir(bytes, /*validate=*/true,
                                   std::min(options.max_block_nesting, block_nesting_bound));
        if (!ir) return ir.error();
        auto data = std::make_shared<detail::module_data>();
        data->info = detail::inspect(**ir);
        data->bytes = std::move(bytes);
        data->name = std::move(name);
        return module{std::move(data)};
    }

    std::shared_ptr<detail::module_data> data_;
};

} // namespace cordon::wasm
