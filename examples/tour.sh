#!/usr/bin/env bash
# The demo: runs each example in turn from a build directory (default build/release).
set -uo pipefail
build=${1:-build/release}
run() {
  local title=$1; shift
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$title" "$*"
  "$@"
  printf '(exit code %s)\n' "$?"
}
run "The quick start of the README" "$build/examples/example_quickstart"
run "A custom permission, a host function and a custom preset" "$build/examples/example_custom_policy"
run "A plugin host: discovery, signatures, resolution, a manager" "$build/examples/plugin_host/example_plugin_host"
