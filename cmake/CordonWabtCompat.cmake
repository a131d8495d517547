# WABT 1.0.32's interp-inl.h names two destructors with a template-id (`~FreeList<T>()`), which
# g++ 11-13 reject in C++20 mode (clang accepts it; GCC 14 made it a warning). This writes a
# corrected copy of that one header, generated from the installed package at configure time,
# into the build tree and puts it in front of the system one for users of cordon::wasm: in
# cordon's own build, and (through cordon-config.cmake, which carries this function) in the
# build of every project that finds an installed cordon with find_package.
function(cordon_wabt_compat target)
  set(installed "")
  foreach(dir IN ITEMS /usr/include /usr/local/include)
    if(EXISTS "${dir}/wabt/interp/interp-inl.h")
      set(installed "${dir}/wabt/interp/interp-inl.h")
      break()
    endif()
  endforeach()
  if(NOT installed)
    return()
  endif()
  file(READ "${installed}" text)
  string(FIND "${text}" "~FreeList<" needs_fix)
  if(needs_fix EQUAL -1)
    return()
  endif()
  string(REPLACE "::~FreeList<Ref>()" "::~FreeList()" text "${text}")
  string(REPLACE "::~FreeList<T>()" "::~FreeList()" text "${text}")
  set(compat_dir "${CMAKE_BINARY_DIR}/cordon-wabt-compat")
  file(WRITE "${compat_dir}/wabt/interp/interp-inl.h.tmp" "${text}")
  file(COPY_FILE "${compat_dir}/wabt/interp/interp-inl.h.tmp" "${compat_dir}/wabt/interp/interp-inl.h" ONLY_IF_DIFFERENT)
  # find_package may run more than once in a project; the directory goes in once.
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(dirs AND "$<BUILD_INTERFACE:${compat_dir}>" IN_LIST dirs)
    return()
  endif()
  target_include_directories(${target} BEFORE INTERFACE "$<BUILD_INTERFACE:${compat_dir}>")
endfunction()

# The text of the function above, for cordon-config.cmake.in to carry into the installed package.
file(READ "${CMAKE_CURRENT_LIST_FILE}" _cordon_wabt_compat_file)
string(REGEX MATCH "function\\(cordon_wabt_compat.*endfunction\\(\\)" CORDON_WABT_COMPAT_FUNCTION "${_cordon_wabt_compat_file}")
unset(_cordon_wabt_compat_file)
