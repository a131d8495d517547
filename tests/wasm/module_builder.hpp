// Writes WebAssembly binaries byte by byte for tests that need modules no assembler would make:
// malformed constant expressions, nesting a million deep, tens of thousands of locals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace cordon::wasm::testing {

using bytes = std::vector<std::uint8_t>;

inline void put_leb(bytes& out, std::uint64_t n) {
    do {
        std::uint8_t b = n & 0x7Fu;
        n >>= 7;
        out.push_back(n ? b | 0x80u : b);
    } while (n);
}

inline void append(bytes& out, const bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

/// A section: its id, its size, its contents.
inline bytes section(std::uint8_t id, const bytes& body) {
    bytes out{id};
    put_leb(out, body.size());
    append(out, body);
    return out;
}

/// The module header followed by `sections`.
inline bytes wasm_module(std::initializer_list<bytes> sections) {
    bytes out{0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
    for (const bytes& s : sections) append(out, s);
    return out;
}

/// A code section with one body: `local_groups` pairs of (count, type), then `code` (which
/// must end with the function's `end`).
inline bytes code_section(std::initializer_list<std::pair<std::uint32_t, std::uint8_t>> local_groups, const bytes& code) {
    bytes body;
    put_leb(body, local_groups.size());
    for (auto [count, type] : local_groups) {
        put_leb(body, count);
        body.push_back(type);
    }
    append(body, code);
    bytes contents{0x01};
    put_leb(contents, body.size());
    append(contents, body);
    return section(10, contents);
}

/// One function of type 0, exported as "f".
inline bytes one_function(const bytes& type_section_body,
                          std::initializer_list<std::pair<std::uint32_t, std::uint8_t>> local_groups, const bytes& code) {
    return wasm_module({section(1, type_section_body), section(3, {0x01, 0x00}), section(7, {0x01, 0x01, 'f', 0x00, 0x00}),
                        code_section(local_groups, code)});
}

/// A body of `depth` nested blocks, empty inside.
inline bytes nested_blocks(std::size_t depth) {
    bytes code;
    code.reserve(depth * 3 + 1);
    for (std::size_t i = 0; i < depth; ++i) {
        code.push_back(0x02);  // block
        code.push_back(0x40);  // of no type
    }
    code.insert(code.end(), depth + 1, 0x0B);  // every end, then the function's
    return code;
}

/// Type section body with the one type () -> ().
inline const bytes void_type{0x01, 0x60, 0x00, 0x00};

} // namespace cordon::wasm::testing
