# Run with cmake -P after the native plugin is built: copies ENTRY into DIR and writes DIR/plugin.json
# from TEMPLATE with the copy's SHA-256 (a native plugin's digest is known only once it is built).
file(MAKE_DIRECTORY "${DIR}")
get_filename_component(name "${ENTRY}" NAME)
file(COPY_FILE "${ENTRY}" "${DIR}/${name}" ONLY_IF_DIFFERENT)
file(SHA256 "${DIR}/${name}" ENTRY_SHA256)
configure_file("${TEMPLATE}" "${DIR}/plugin.json" @ONLY)
