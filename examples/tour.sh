#!/usr/bin/env bash
# The demo: plugins under different policies, blocked escapes, telemetry and enforcement reports.
# Runs from a build directory (default build/release) after scripts/demo.sh has built it.
set -uo pipefail
build=${1:-build/release}
cordon="$build/tools/cordon/cordon"
modules="$build/tests/wasm/modules"
step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
run() {
  printf '$ %s\n' "${*#"$build/"}"
  "$@"
  printf '(exit code %s)\n' "$?"
}

step "1. A C plugin compiled to WebAssembly, called with typed arguments under the standard level"
run "$cordon" run "$modules/fib.wasm" fib 25
run "$cordon" inspect "$modules/fib.wasm"

step "2. The same plugin under a fuel budget: stopped deterministically"
run "$cordon" run --fuel 100000 "$modules/fib.wasm" fib 25

step "3. The same plugin translated by wasm2c and compiled to native code: same results, same fuel, same limits"
run "$cordon" run --engine compiled "$modules/fib.wasm" fib 25
run "$cordon" run --engine compiled --fuel 100000 "$modules/fib.wasm" fib 25
run "$cordon" run --engine compiled "$modules/oob_write.wasm" smash

step "4. An endless loop under a 200 ms CPU limit"
run "$cordon" run --cpu 200ms "$modules/endless_loop.wasm" spin

step "5. A memory bomb under a 4 MiB limit"
run "$cordon" run --memory 4MiB "$modules/memory_bomb.wasm"

step "6. An out-of-bounds write: a trap with a backtrace, the host untouched"
run "$cordon" run "$modules/oob_write.wasm" smash

step "7. A plugin importing the plugin bus at the strict level: denied at load"
run "$cordon" run --level strict "$modules/forbidden_import.wasm"

step "8. A native program in the process backend (seccomp, landlock, namespaces, cgroups)"
run "$cordon" exec --level strict -- /bin/echo "hello from a confined process"

step "9. Escapes that are blocked: writing a file, reading /etc, then a fork bomb"
run "$cordon" exec --level standard -- /bin/sh -c 'echo pwned > /tmp/cordon-demo'
run "$cordon" exec --level strict -- /bin/cat /etc/shadow
run "$cordon" exec --level minimal --allow process --procs 8 -- /bin/sh -c 'while :; do sleep 5 & done'

step "10. The same run as one JSON object: status, result, telemetry, enforcement per element"
printf '$ cordon run --json %s fib 20   (fields shown: status, result, telemetry, two enforcement entries)\n' "${modules#"$build/"}/fib.wasm"
"$cordon" run --json "$modules/fib.wasm" fib 20 | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: d[k] for k in ("status", "result", "telemetry")}, indent=1))
print(json.dumps({k: d["enforcement"][k] for k in ("memory", "cpu_time")}, indent=1))'


step "11. The library from C++: an untrusted plugin gallery, each misbehaving plugin stopped"
run "$build/examples/example_gallery"

step "12. Plugins compiled into the host at build time: native speed, the same policies, many threads"
run "$build/examples/example_compiled"

step "13. A native .so plugin, loaded only after its process is confined"
run "$build/examples/example_native_plugin"

step "14. One policy type, two backends: telemetry and the enforcement report of each"
run "$build/examples/example_telemetry"

step "15. A custom permission and preset; the README's quick start"
run "$build/examples/example_custom_policy"
run "$build/examples/example_quickstart"

step "16. A plugin host: discovery, signatures, resolution, wasm and native plugins in one manager talking over the bus, a refused call, a manager that disables a failing plugin"
run "$build/examples/plugin_host/example_plugin_host"
