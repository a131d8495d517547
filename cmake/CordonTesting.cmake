# Helpers for the project's tests: one GoogleTest executable per call, discovered by ctest.
find_package(GTest REQUIRED)
include(GoogleTest)

# Test programs spend most of their compile time on the same headers: cordon's, GoogleTest's and
# the libraries' behind them. One precompiled header per set of components serves every test of
# that set (one for all would pull the wasm engine into programs that do not link it).
option(CORDON_TEST_PCH "Precompile the headers the test programs share" ON)
set(cordon_pch_headers_core <cordon/cordon.hpp>)
set(cordon_pch_headers_wasm <cordon/wasm.hpp>)
set(cordon_pch_headers_process <cordon/process.hpp>)
set(cordon_pch_headers_plugin <cordon/plugin/manager.hpp>)

# cordon_test_pch(TARGET LIBS...): gives TARGET the precompiled header of the components in LIBS.
function(cordon_test_pch target)
  if(NOT CORDON_TEST_PCH)
    return()
  endif()
  set(pch cordon_test_pch)
  set(headers ${cordon_pch_headers_core})
  foreach(component wasm process plugin)
    if(cordon::${component} IN_LIST ARGN)
      string(APPEND pch _${component})
      list(APPEND headers ${cordon_pch_headers_${component}})
    endif()
  endforeach()
  if(NOT TARGET ${pch})
    add_library(${pch} OBJECT "${PROJECT_SOURCE_DIR}/tests/common/pch.cpp")
    cordon_project_options(${pch})
    target_link_libraries(${pch} PRIVATE ${ARGN} GTest::gtest GTest::gmock)
    target_precompile_headers(${pch} PRIVATE ${headers} <gmock/gmock.h> <gtest/gtest.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM ${pch})
endfunction()

# cordon_add_test(NAME SOURCES a.cpp b.cpp LIBS cordon::wasm [LABELS x] [TIMEOUT s] [ENVIRONMENT VAR=value ...])
function(cordon_add_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  cordon_project_options(${name})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  cordon_test_pch(${name} ${arg_LIBS})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${arg_TIMEOUT})
  # gtest_discover_tests hands its PROPERTIES to set_tests_properties unquoted, so a second label
  # or variable became a property name of its own. Lists are set here instead, by a file ctest
  # reads after the discovered tests, over the list of names discovery leaves in <target>_TESTS.
  set(properties_file "${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake")
  file(WRITE "${properties_file}"
    "if(${name}_TESTS)\n"
    "  set_tests_properties(\${${name}_TESTS} PROPERTIES\n"
    "    LABELS [==[${arg_LABELS}]==] ENVIRONMENT [==[${arg_ENVIRONMENT}]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${properties_file}")
endfunction()

# cordon_add_compile_fail_tests(DIRECTORY dir [LABELS ...]): every dir/*.cpp must fail to compile
# with every text of its "// expect:" lines, and compile with CORDON_COMPILE_FAIL_CONTROL defined
# (tests/compile_fail/run_compile_fail.cmake runs both).
function(cordon_add_compile_fail_tests)
  cmake_parse_arguments(arg "" "DIRECTORY" "LABELS" ${ARGN})
  file(GLOB cases CONFIGURE_DEPENDS "${arg_DIRECTORY}/*.cpp")
  get_target_property(fmt_includes fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  foreach(source IN LISTS cases)
    get_filename_component(name "${source}" NAME_WE)
    add_test(NAME compile_fail.${name}
      COMMAND "${CMAKE_COMMAND}"
        "-DCOMPILER=${CMAKE_CXX_COMPILER}"
        "-DSOURCE=${source}"
        "-DINCLUDES=${PROJECT_SOURCE_DIR}/include;${Boost_INCLUDE_DIRS};${fmt_includes}"
        -P "${PROJECT_SOURCE_DIR}/tests/compile_fail/run_compile_fail.cmake")
    set_tests_properties(compile_fail.${name} PROPERTIES LABELS "compile_fail;${arg_LABELS}" TIMEOUT 120)
  endforeach()
endfunction()
