// A cheap structural pass over a wasm binary before any parser sees it: section bounds, vector
// counts against the bytes that could hold them, locals per function, so no length field can
// make the host allocate without bound.
#pragma once

#include <cordon/result.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <iterator>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace cordon::wasm {

/// How deep blocks, loops and ifs may nest in a function body. WABT's IR holds nested blocks as
/// nested lists and destroys, validates and writes them recursively, so the depth it is given is
/// bounded before it sees a module. Compilers stay far below: a switch becomes a block per case,
/// and real code has a few hundred cases at most. The metering rewrite adds one level.
inline constexpr std::uint32_t block_nesting_bound = 1'000;

/// Caps applied while loading a module; the defaults suit plugins, hosts may tighten them.
struct load_options {
    std::size_t max_bytes = std::size_t{64} << 20;  // whole module
    std::uint32_t max_functions = 100'000;
    std::uint32_t max_imports = 10'000;
    std::uint32_t max_exports = 10'000;
    std::uint32_t max_types = 10'000;
    std::uint32_t max_globals = 10'000;
    std::uint32_t max_segments = 100'000;      // data and element segments
    std::uint32_t max_locals_per_function = 50'000;
    std::uint32_t max_function_body_bytes = 8u << 20;
    std::uint32_t max_block_nesting = block_nesting_bound;  // tighter only: larger values are clamped
};

namespace detail {

class byte_reader {
public:
    byte_reader(std::span<const std::uint8_t> bytes, std::size_t base) : bytes_{bytes}, base_{base} {}

    [[nodiscard]] std::size_t offset() const noexcept { return base_ + pos_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size(); }

    std::optional<std::uint8_t> byte() {
        if (at_end()) return std::nullopt;
        return bytes_[pos_++];
    }
    /// Unsigned LEB128 of at most 32 bits, as the spec requires for lengths and counts.
    std::optional<std::uint32_t> u32() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            auto b = byte();
            if (!b) return std::nullopt;
            value |= std::uint64_t{*b & 0x7Fu} << shift;
            if ((*b & 0x80u) == 0) {
                if (value > 0xFFFF'FFFFu) return std::nullopt;
                return static_cast<std::uint32_t>(value);
            }
        }
        return std::nullopt;
    }
    /// Skips a LEB128 number of at most `max_bytes` bytes (5 for 32 bits, 10 for 64).
    bool skip_leb(int max_bytes) {
        for (int i = 0; i < max_bytes; ++i) {
            auto b = byte();
            if (!b) return false;
            if ((*b & 0x80u) == 0) return true;
        }
        return false;
    }
    bool skip(std::size_t n) {
        if (n > remaining()) return false;
        pos_ += n;
        return true;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        auto part = bytes_.subspan(pos_, n);
        pos_ += n;
        return part;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t base_;
    std::size_t pos_ = 0;
};

inline error scan_error(std::size_t offset, const std::string& what) {
    char where[32];
    std::snprintf(where, sizeof where, "0x%zx", offset);
    return fail(error_kind::load_error, "malformed module at offset " + std::string(where) + ": " + what);
}

inline const char* section_name(std::uint8_t id) {
    static constexpr const char* names[] = {"custom", "type",    "import", "function", "table",
                                            "memory", "global",  "export", "start",    "element",
                                            "code",   "data",    "data count"};
    return id < std::size(names) ? names[id] : "unknown";
}

inline result<void> check_count(byte_reader& section, std::uint8_t id, std::uint32_t cap,
                                std::uint32_t* out = nullptr) {
    const std::size_t at = section.offset();
    auto count = section.u32();
    if (!count) return scan_error(at, std::string("truncated count in ") + section_name(id) + " section");
    // Every entry takes at least one byte, so a count larger than the bytes left is a lie
    // meant to make a parser reserve memory for it.
    if (*count > section.remaining())
        return scan_error(at, std::string(section_name(id)) + " section claims " + std::to_string(*count) +
                                  " entries in " + std::to_string(section.remaining()) + " bytes");
    if (*count > cap)
        return scan_error(at, std::string(section_name(id)) + " section has " + std::to_string(*count) +
                                  " entries, more than the limit of " + std::to_string(cap));
    if (out) *out = *count;
    return {};
}

inline result<void> check_code_section(byte_reader& section, const load_options& options) {
    std::uint32_t bodies = 0;
    if (auto ok = check_count(section, 10, options.max_functions, &bodies); !ok) return ok;
    for (std::uint32_t i = 0; i < bodies; ++i) {
        const std::size_t at = section.offset();
        auto size = section.u32();
        if (!size || *size > section.remaining())
            return scan_error(at, "function body " + std::to_string(i) + " runs past the code section");
        if (*size > options.max_function_body_bytes)
            return scan_error(at, "function body " + std::to_string(i) + " is larger than the limit of " +
                                      std::to_string(options.max_function_body_bytes) + " bytes");
        byte_reader body{section.take(*size), section.offset() - *size};
        std::uint32_t groups = 0;
        if (auto ok = check_count(body, 10, options.max_locals_per_function, &groups); !ok) return ok;
        std::uint64_t locals = 0;
        for (std::uint32_t g = 0; g < groups; ++g) {
            const std::size_t group_at = body.offset();
            auto n = body.u32();
            if (!n || !body.byte()) return scan_error(group_at, "truncated local declaration");
            locals += *n;
            if (locals > options.max_locals_per_function)
                return scan_error(group_at, "function body " + std::to_string(i) + " declares more than " +
                                                std::to_string(options.max_locals_per_function) + " locals");
        }
    }
    if (!section.at_end()) return scan_error(section.offset(), "junk after the last function body");
    return {};
}

/// A custom section starts with its name: a length within the section, then valid UTF-8.
inline result<void> check_custom_section(byte_reader& section) {
    const std::size_t at = section.offset();
    auto length = section.u32();
    if (!length || *length > section.remaining()) return scan_error(at, "custom section without a whole name");
    auto name = section.take(*length);
    for (std::size_t i = 0; i < name.size();) {
        const std::uint8_t lead = name[i];
        const std::size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
        bool ok = n != 0 && i + n <= name.size();
        std::uint32_t cp = n == 1 ? lead : n == 2 ? (lead & 0x1Fu) : n == 3 ? (lead & 0x0Fu) : (lead & 0x07u);
        for (std::size_t k = 1; ok && k < n; ++k) {
            ok = (name[i + k] & 0xC0u) == 0x80u;
            cp = (cp << 6) | (name[i + k] & 0x3Fu);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
        static constexpr std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (!ok || cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return scan_error(at + 1 + i, "custom section name is not UTF-8");
        i += n;
    }
    return {};
}

/// A data segment's offset: one constant instruction and `end`, as the spec allows them.
inline result<void> skip_offset_expression(byte_reader& section) {
    for (;;) {
        const std::size_t at = section.offset();
        auto op = section.byte();
        bool ok = op.has_value();
        if (ok) {
            switch (*op) {
            case 0x0B: return {};                        // end
            case 0x41: ok = section.skip_leb(5); break;  // i32.const
            case 0x42: ok = section.skip_leb(10); break; // i64.const
            case 0x23: ok = section.u32().has_value(); break;  // global.get
            default: return scan_error(at, "data segment offset is not a constant expression");
            }
        }
        if (!ok) return scan_error(at, "truncated data segment offset");
    }
}

/// Data segments: flags 0 (active, memory 0), 1 (passive) or 2 (active, memory index), each
/// with its offset and bytes inside the section. Other flags WABT would read as a passive
/// segment with a memory index, which it then writes back as bytes it cannot read.
inline result<void> check_data_section(byte_reader& section, const load_options& options, std::uint32_t& count) {
    if (auto ok = check_count(section, 11, options.max_segments, &count); !ok) return ok;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::size_t at = section.offset();
        auto flags = section.u32();
        if (!flags) return scan_error(at, "truncated data segment " + std::to_string(i));
        if (*flags > 2) return scan_error(at, "data segment " + std::to_string(i) + " has invalid flags " + std::to_string(*flags));
        if (*flags == 2 && !section.u32()) return scan_error(at, "truncated memory index in data segment " + std::to_string(i));
        if (*flags != 1)
            if (auto ok = skip_offset_expression(section); !ok) return ok;
        const std::size_t size_at = section.offset();
        auto size = section.u32();
        if (!size || !section.skip(*size))
            return scan_error(size_at, "data segment " + std::to_string(i) + " runs past the data section");
    }
    if (!section.at_end()) return scan_error(section.offset(), "junk after the last data segment");
    return {};
}

/// The data count section: one count, which the data section must match (a module without
/// one has none). WABT's interpreter reader (the interpreter engine's loader) reserves room for
/// that many segments as soon as it reads the count, so a 14-byte module claiming 19 million
/// would make the host allocate gigabytes before any parser saw that no segment follows.
inline result<void> check_data_count_section(byte_reader& section, const load_options& options,
                                             std::uint32_t& declared) {
    const std::size_t at = section.offset();
    auto count = section.u32();
    if (!count) return scan_error(at, "truncated count in data count section");
    if (!section.at_end()) return scan_error(section.offset(), "junk after the count in the data count section");
    if (*count > options.max_segments)
        return scan_error(at, "data count section claims " + std::to_string(*count) +
                                  " segments, more than the limit of " + std::to_string(options.max_segments));
    declared = *count;
    return {};
}

/// Checks the outer structure of a module; the full parse and validation come after.
inline result<void> scan_module(std::span<const std::uint8_t> bytes, const load_options& options) {
    if (bytes.size() > options.max_bytes)
        return fail(error_kind::load_error, "module is " + std::to_string(bytes.size()) +
                                                " bytes, more than the limit of " +
                                                std::to_string(options.max_bytes));
    static constexpr std::uint8_t magic[] = {0x00, 0x61, 0x73, 0x6D};
    if (bytes.size() < 8) return scan_error(bytes.size(), "truncated header (a module starts with 8 bytes)");
    if (!std::equal(std::begin(magic), std::end(magic), bytes.begin()))
        return scan_error(0, "not a WebAssembly module (bad magic number)");
    if (bytes[4] != 1 || bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0)
        return fail(error_kind::load_error,
                    "unsupported binary version (only WebAssembly 1.0 core modules are supported; "
                    "components are not)");
    byte_reader reader{bytes.subspan(8), 8};
    int last_ordered = 0;
    std::optional<std::uint32_t> declared_data_count;
    std::uint32_t data_segments = 0;
    while (!reader.at_end()) {
        const std::size_t at = reader.offset();
        const std::uint8_t id = *reader.byte();
        auto size = reader.u32();
        if (!size) return scan_error(at, "truncated section header");
        if (*size > reader.remaining())
            return scan_error(at, std::string(section_name(id)) + " section of " + std::to_string(*size) +
                                      " bytes runs past the end of the module (" +
                                      std::to_string(reader.remaining()) + " bytes left)");
        byte_reader section{reader.take(*size), reader.offset() - *size};
        if (id == 13)
            return fail(error_kind::load_error, "unsupported feature: exception handling (tag section)");
        if (id > 12) return scan_error(at, "unknown section id " + std::to_string(id));
        if (id != 0) {
            // Ordering is checked again by the parser; checking it here keeps duplicate sections
            // from slipping past the count caps.
            const int order = id == 12 ? 10 : (id >= 10 ? id + 1 : id);
            if (order <= last_ordered)
                return scan_error(at, std::string(section_name(id)) + " section out of order or repeated");
            last_ordered = order;
        }
        result<void> ok{};
        switch (id) {
        case 1: ok = check_count(section, id, options.max_types); break;
        case 2: ok = check_count(section, id, options.max_imports); break;
        case 3: ok = check_count(section, id, options.max_functions); break;
        case 4:
        case 5:
        case 6: ok = check_count(section, id, options.max_globals); break;
        case 7: ok = check_count(section, id, options.max_exports); break;
        case 0: ok = check_custom_section(section); break;
        case 9: ok = check_count(section, id, options.max_segments); break;
        case 11: ok = check_data_section(section, options, data_segments); break;
        case 12: ok = check_data_count_section(section, options, declared_data_count.emplace()); break;
        case 10: ok = check_code_section(section, options); break;
        default: break;
        }
        if (!ok) return ok;
    }
    if (declared_data_count && *declared_data_count != data_segments)
        return scan_error(bytes.size(), "data count section says " + std::to_string(*declared_data_count) +
                                            " segments, the data section has " + std::to_string(data_segments));
    return {};
}

} // namespace detail
} // namespace cordon::wasm
