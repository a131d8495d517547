# Installs cordon into a fresh prefix (find_package mode) or points the consumer at the source tree
# (add_subdirectory mode), configures and builds tests/consumer/project, and runs it.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(consumer_args "-DCORDON_CONSUMER_MODE=${MODE}")
if(MODE STREQUAL "find_package")
  run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/cordon-build" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_C_COMPILER=${C}" -DCMAKE_BUILD_TYPE=Release
      -DCORDON_BUILD_TESTS=OFF -DCORDON_BUILD_BENCHMARKS=OFF -DCORDON_BUILD_EXAMPLES=OFF -DCORDON_BUILD_TOOLS=OFF
      -DCORDON_INSTALL=ON "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix")
  run("${CMAKE_COMMAND}" --build "${WORK_DIR}/cordon-build")   # the build-time tools (cordon-wasm2c)
  run("${CMAKE_COMMAND}" --install "${WORK_DIR}/cordon-build")
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
else()
  list(APPEND consumer_args "-DCORDON_SOURCE_DIR=${SOURCE_DIR}")
endif()

run("${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/project" -B "${WORK_DIR}/consumer-build" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_C_COMPILER=${C}" ${consumer_args})
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer-build")
run("${WORK_DIR}/consumer-build/consumer")
string(FIND "${last_output}" "fib(20) = 6765" found)
if(found EQUAL -1)
  message(FATAL_ERROR "the consumer ran but printed:\n${last_output}")
endif()
message(STATUS "${last_output}")
run("${WORK_DIR}/consumer-build/consumer_compiled")
string(FIND "${last_output}" "compiled fib(20) = 6765" found)
if(found EQUAL -1)
  message(FATAL_ERROR "the compiled consumer ran but printed:\n${last_output}")
endif()
message(STATUS "${last_output}")
