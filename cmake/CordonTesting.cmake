# Helpers for the project's tests: one GoogleTest executable per call, discovered by ctest.
find_package(GTest REQUIRED)
include(GoogleTest)

# cordon_add_test(NAME SOURCES a.cpp b.cpp LIBS cordon::wasm [LABELS x] [TIMEOUT s] [ENVIRONMENT VAR=value ...])
function(cordon_add_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  cordon_project_options(${name})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  # A list of labels must reach the generated test file as one escaped value.
  string(REPLACE ";" "\\;" labels "${arg_LABELS}")
  string(REPLACE ";" "\\;" environment "${arg_ENVIRONMENT}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "${labels}" ENVIRONMENT "${environment}")
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
