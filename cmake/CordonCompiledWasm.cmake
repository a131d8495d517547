# cordon_add_compiled_wasm_module(): the build-time path of the compiled engine. Meters a .wasm,
# translates it with wasm2c and compiles the C into TARGET, which then creates sandboxes from it
# by name: cordon::wasm::compiled_module("NAME") with sandbox<cordon::wasm::compiled, Policy>.
#
#   cordon_add_compiled_wasm_module(TARGET NAME name WASM file.wasm [DEPENDS target-or-file ...])
#
# NAME is lower-case letters, digits and '_'. TARGET must be an executable or a shared library
# (its objects are linked whole, so the registration runs when the program starts), and the
# project must enable the C language.
find_program(CORDON_WASM2C NAMES wasm2c DOC "wasm2c from WABT")

function(cordon_add_compiled_wasm_module target)
  cmake_parse_arguments(arg "" "NAME;WASM" "DEPENDS" ${ARGN})
  if(NOT arg_NAME OR NOT arg_WASM)
    message(FATAL_ERROR "cordon_add_compiled_wasm_module(${target}): NAME and WASM are required")
  endif()
  if(NOT arg_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "cordon_add_compiled_wasm_module(${target}): NAME '${arg_NAME}' must be lower-case letters, digits and '_'")
  endif()
  if(NOT CORDON_WASM2C)
    message(FATAL_ERROR "cordon_add_compiled_wasm_module(${target}): wasm2c not found (Debian package wabt)")
  endif()
  if(NOT TARGET cordon::wasm2c)
    message(FATAL_ERROR "cordon_add_compiled_wasm_module(${target}): the cordon-wasm2c tool is not available")
  endif()
  get_filename_component(wasm "${arg_WASM}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/cordon_wasm2c/${arg_NAME}")
  set(c_name "cordon_${arg_NAME}")
  # Two meterings: without call-depth counting (policies without a call_depth limit) and with.
  set(c_sources "${dir}/${c_name}.c" "${dir}/${c_name}_glue.c" "${dir}/${c_name}_depth.c" "${dir}/${c_name}_depth_glue.c")
  add_custom_command(
    OUTPUT ${c_sources} "${dir}/${c_name}.h" "${dir}/${c_name}_depth.h" "${dir}/${c_name}_register.cpp"
    COMMAND "$<TARGET_FILE:cordon::wasm2c>" --name "${arg_NAME}" --wasm "${wasm}" --out-dir "${dir}"
            --wasm2c "${CORDON_WASM2C}"
    DEPENDS "${wasm}" cordon::wasm2c ${arg_DEPENDS}
    COMMENT "Translating wasm module ${arg_NAME} for the compiled engine"
    VERBATIM)
  target_sources(${target} PRIVATE ${c_sources} "${dir}/${c_name}_register.cpp")
  # The translation is generated code: compiled optimised whatever the build type, warnings off,
  # with stack clash protection (a frame larger than a page must not step over the guard page),
  # and without the test programs' C++ precompiled header.
  set_source_files_properties(${c_sources} TARGET_DIRECTORY ${target} PROPERTIES
    SKIP_PRECOMPILE_HEADERS ON
    COMPILE_OPTIONS "-O2;-w;-fstack-clash-protection"
    COMPILE_DEFINITIONS "WASM_RT_MEMCHECK_SIGNAL_HANDLER=1;NDEBUG"
    INCLUDE_DIRECTORIES "${dir}")
  target_link_libraries(${target} PRIVATE cordon::wasm)
endfunction()
