# Runs one compile-fail case: the control build must succeed, the real one must fail with the
# expected text in the compiler's output.
file(STRINGS "${SOURCE}" expect_lines REGEX "^// expect: ")
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE} has no '// expect: <message>' line")
endif()
set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic)
foreach(dir IN LISTS INCLUDES)
  if(dir)
    list(APPEND flags "-I${dir}")
  endif()
endforeach()

execute_process(COMMAND "${COMPILER}" ${flags} -DCORDON_COMPILE_FAIL_CONTROL "${SOURCE}"
  RESULT_VARIABLE control_rc OUTPUT_VARIABLE control_out ERROR_VARIABLE control_err)
if(NOT control_rc EQUAL 0)
  message(FATAL_ERROR "the control variant of ${SOURCE} does not compile:\n${control_err}")
endif()

execute_process(COMMAND "${COMPILER}" ${flags} "${SOURCE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must be rejected with: ${expect_lines}")
endif()
# Every "// expect:" line must appear: the message, and where it helps, the note naming the culprit.
foreach(line IN LISTS expect_lines)
  string(REGEX REPLACE "^// expect: " "" expected "${line}")
  string(FIND "${out}${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${SOURCE} was rejected, but not with '${expected}':\n${err}")
  endif()
  message(STATUS "rejected as expected: ${expected}")
endforeach()
