# cordon_add_wasm_plugin(): builds C sources into a .wasm plugin with Debian's clang, wasm-ld and
# wasi-libc. The result's path is the target property CORDON_WASM_FILE.
#
#   cordon_add_wasm_plugin(NAME SOURCES a.c ... [NO_LIBC] [OUTPUT file.wasm] [OPTIMIZE -O2]
#                          [COMPILE_OPTIONS ...] [LINK_OPTIONS ...])
#
# Without NO_LIBC the plugin is a WASI command or reactor linked with wasi-libc (main() runs as
# _start). With NO_LIBC it is a freestanding module whose exports are marked in the source with
# __attribute__((export_name("f"))) (CORDON_EXPORT in cordon/guest/cordon.h).
find_program(CORDON_WASM_CC NAMES clang-14 clang DOC "C compiler able to target wasm32")
find_program(CORDON_WASM_LD NAMES wasm-ld-14 wasm-ld PATHS /usr/lib/llvm-14/bin DOC "wasm-ld linker")
set(CORDON_WASI_SYSROOT "/usr" CACHE PATH "Sysroot holding wasi-libc (Debian installs it under /usr)")
set(_cordon_wasm_plugin_include "${CMAKE_CURRENT_LIST_DIR}/../include")

function(cordon_add_wasm_plugin name)
  cmake_parse_arguments(arg "NO_LIBC" "OUTPUT;OPTIMIZE" "SOURCES;COMPILE_OPTIONS;LINK_OPTIONS" ${ARGN})
  if(NOT CORDON_WASM_CC OR NOT CORDON_WASM_LD)
    message(FATAL_ERROR "cordon_add_wasm_plugin(${name}): clang-14 and wasm-ld are needed (packages clang-14, lld-14)")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "cordon_add_wasm_plugin(${name}): no SOURCES")
  endif()
  if(NOT arg_OUTPUT)
    set(arg_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm")
  endif()
  if(NOT arg_OPTIMIZE)
    set(arg_OPTIMIZE -O2)
  endif()
  set(sources)
  foreach(source IN LISTS arg_SOURCES)
    get_filename_component(source "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND sources "${source}")
  endforeach()
  if(arg_NO_LIBC)
    set(target_flags --target=wasm32 -nostdlib -Wl,--no-entry)
  else()
    set(target_flags --target=wasm32-wasi "--sysroot=${CORDON_WASI_SYSROOT}")
  endif()
  # The name section stays (traps name functions); DWARF goes.
  add_custom_command(
    OUTPUT "${arg_OUTPUT}"
    COMMAND "${CORDON_WASM_CC}" ${target_flags} ${arg_OPTIMIZE} -Wall -Wextra -Werror
            "-I${_cordon_wasm_plugin_include}" ${arg_COMPILE_OPTIONS}
            "-fuse-ld=${CORDON_WASM_LD}" -Wl,--strip-debug ${arg_LINK_OPTIONS}
            ${sources} -o "${arg_OUTPUT}"
    DEPENDS ${sources} "${_cordon_wasm_plugin_include}/cordon/guest/cordon.h"
    COMMENT "Building wasm plugin ${name}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${arg_OUTPUT}")
  set_target_properties(${name} PROPERTIES CORDON_WASM_FILE "${arg_OUTPUT}")
endfunction()

# cordon_add_wat_module(NAME SOURCE file.wat): assembles a text module with wat2wasm.
find_program(CORDON_WAT2WASM NAMES wat2wasm)
function(cordon_add_wat_module name)
  cmake_parse_arguments(arg "" "SOURCE;OUTPUT" "FLAGS" ${ARGN})
  get_filename_component(source "${arg_SOURCE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT arg_OUTPUT)
    set(arg_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm")
  endif()
  add_custom_command(OUTPUT "${arg_OUTPUT}"
    COMMAND "${CORDON_WAT2WASM}" --debug-names ${arg_FLAGS} "${source}" -o "${arg_OUTPUT}"
    DEPENDS "${source}" COMMENT "Assembling ${name}.wat" VERBATIM)
  add_custom_target(${name} ALL DEPENDS "${arg_OUTPUT}")
  set_target_properties(${name} PROPERTIES CORDON_WASM_FILE "${arg_OUTPUT}")
endfunction()
