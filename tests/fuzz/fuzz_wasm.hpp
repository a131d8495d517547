// What the wasm harnesses share: loading fuzzed bytes as a module the way a host would, with a
// size cap that keeps each input cheap.
#pragma once

#include <cordon/wasm/module.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace cordon::fuzz {

inline result<wasm::module> load_fuzzed_module(const std::uint8_t* data, std::size_t size) {
    wasm::load_options options;
    options.max_bytes = 1u << 20;
    return wasm::module::from_bytes(std::span{data, size}, options);
}

} // namespace cordon::fuzz
