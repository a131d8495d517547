# Warning flags for the project's own targets (tests, tools, examples, benchmarks). They are not
# put on the exported INTERFACE targets: a consumer's flags are the consumer's business.
function(cordon_project_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # fmt 9's headers trip this false positive under g++ 12 at -O2.
    target_compile_options(${target} PRIVATE -Wno-error=restrict)
  endif()
endfunction()
