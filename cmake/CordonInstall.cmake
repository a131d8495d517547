# Install rules: headers, the exported targets, cordon-config.cmake and its version file, so that
# find_package(cordon CONFIG REQUIRED [COMPONENTS wasm process plugin]) works from a prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/cordon" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/cmake/CordonWasmPlugin.cmake" "${PROJECT_SOURCE_DIR}/cmake/CordonCompiledWasm.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/cordon" OPTIONAL)

set(_cordon_targets cordon_core)
foreach(component wasm process plugin)
  if(TARGET cordon_${component})
    list(APPEND _cordon_targets cordon_${component})
  endif()
endforeach()
install(TARGETS ${_cordon_targets} EXPORT cordon-targets)
install(EXPORT cordon-targets NAMESPACE cordon:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/cordon")
if(TARGET cordon-wasm2c)
  install(EXPORT cordon-tools NAMESPACE cordon:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/cordon")
endif()

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/cordon-config.cmake.in"
  "${PROJECT_BINARY_DIR}/cordon-config.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/cordon")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cordon-config-version.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/cordon-config.cmake" "${PROJECT_BINARY_DIR}/cordon-config-version.cmake"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/cordon")
