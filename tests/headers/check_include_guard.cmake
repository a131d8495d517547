# Whether a macro table (the output of the compiler's -E -dM) defines GUARD, a header's include
# guard: EXPECT=absent fails when the header was read, EXPECT=present when it was not.
cmake_minimum_required(VERSION 3.25)
if(NOT EXISTS "${MACROS}")
  message(FATAL_ERROR "no macro table at ${MACROS}: build the target first")
endif()
file(STRINGS "${MACROS}" found REGEX "^#define ${GUARD}( |$)")
if(EXPECT STREQUAL "absent" AND found)
  message(FATAL_ERROR "${MACROS} defines ${GUARD}: ${WHY}")
elseif(EXPECT STREQUAL "present" AND NOT found)
  message(FATAL_ERROR "${MACROS} does not define ${GUARD}, yet its unit includes the header: the check is blind")
endif()
message(STATUS "${GUARD}: ${EXPECT}, as expected")
