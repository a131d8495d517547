# The library's INTERFACE targets. Each component links only what it needs, so a user of one
include(GNUInstallDirs)
# backend does not pull in the others.
add_library(cordon_core INTERFACE)
add_library(cordon::core ALIAS cordon_core)
set_target_properties(cordon_core PROPERTIES EXPORT_NAME core)
target_compile_features(cordon_core INTERFACE cxx_std_20)
target_include_directories(cordon_core INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(cordon_core INTERFACE Boost::headers fmt::fmt Threads::Threads)
set(CORDON_COMPONENTS core)

if(CORDON_HAVE_WASM)
  add_library(cordon_wasm INTERFACE)
  add_library(cordon::wasm ALIAS cordon_wasm)
  set_target_properties(cordon_wasm PROPERTIES EXPORT_NAME wasm)
  target_link_libraries(cordon_wasm INTERFACE cordon_core wabt::wabt PkgConfig::sodium ${CMAKE_DL_LIBS})
  include(CordonWabtCompat)
  cordon_wabt_compat(cordon_wasm)
  include(CordonWasmPlugin)   # cordon_add_wasm_plugin(), cordon_add_wat_module()
  list(APPEND CORDON_COMPONENTS wasm)
endif()

if(CORDON_HAVE_PROCESS)
  add_library(cordon_process INTERFACE)
  add_library(cordon::process ALIAS cordon_process)
  set_target_properties(cordon_process PROPERTIES EXPORT_NAME process)
  target_link_libraries(cordon_process INTERFACE cordon_core ${CMAKE_DL_LIBS})
  list(APPEND CORDON_COMPONENTS process)
endif()

if(CORDON_HAVE_PLUGIN)
  add_library(cordon_plugin INTERFACE)
  add_library(cordon::plugin ALIAS cordon_plugin)
  set_target_properties(cordon_plugin PROPERTIES EXPORT_NAME plugin)
  target_link_libraries(cordon_plugin INTERFACE cordon_core nlohmann_json::nlohmann_json PkgConfig::sodium)
  list(APPEND CORDON_COMPONENTS plugin)
endif()
