# cordon_add_native_plugin(): builds C sources against cordon/guest/cordon.h into a native plugin
# (a shared object the process backend loads in its confined child).
#
#   cordon_add_native_plugin(NAME SOURCES a.c ...)
#
# The plugin is built plainly even in the sanitizer builds: a sanitizer's runtime makes system
# calls of its own that the child's filters rightly refuse.
set(_cordon_native_plugin_include "${CMAKE_CURRENT_LIST_DIR}/../include")

function(cordon_add_native_plugin name)
  cmake_parse_arguments(arg "" "" "SOURCES" ${ARGN})
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "cordon_add_native_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_include_directories(${name} PRIVATE "${_cordon_native_plugin_include}")
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wpedantic -Werror -fno-sanitize=all)
  target_link_options(${name} PRIVATE -fno-sanitize=all)
endfunction()
