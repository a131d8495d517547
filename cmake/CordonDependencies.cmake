# Finds the Debian packages cordon builds on. Components whose dependencies are missing are
# left out with a message instead of failing the whole configure.
include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)        # Boost.Hana is header-only
find_package(fmt 9 CONFIG REQUIRED)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(sodium QUIET IMPORTED_TARGET GLOBAL libsodium)
endif()

# The wasm component: WABT for both engines; libsodium for the compiled engine's cache keys.
find_package(wabt CONFIG QUIET)
set(CORDON_HAVE_WASM OFF)
if(wabt_FOUND AND sodium_FOUND)
  set(CORDON_HAVE_WASM ON)
endif()

set(CORDON_HAVE_PROCESS OFF)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(CORDON_HAVE_PROCESS ON)
endif()

find_package(nlohmann_json 3 CONFIG QUIET)
set(CORDON_HAVE_PLUGIN OFF)
if(sodium_FOUND AND nlohmann_json_FOUND)
  set(CORDON_HAVE_PLUGIN ON)
endif()

foreach(component WASM PROCESS PLUGIN)
  if(NOT CORDON_HAVE_${component})
    message(STATUS "cordon: component ${component} disabled (dependencies not found)")
  endif()
endforeach()
