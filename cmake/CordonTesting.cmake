# Helpers for the project's tests: one GoogleTest executable per call, discovered by ctest.
find_package(GTest REQUIRED)
include(GoogleTest)

# cordon_add_test(NAME SOURCES a.cpp b.cpp LIBS cordon::wasm [LABELS x] [PROPERTIES ...])
function(cordon_add_test name)
  cmake_parse_arguments(arg "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  cordon_project_options(${name})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 120)
  endif()
  # A list of labels must reach the generated test file as one escaped value.
  string(REPLACE ";" "\\;" labels "${arg_LABELS}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "${labels}")
endfunction()
