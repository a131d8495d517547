#!/usr/bin/env bash
# Installs what cordon needs, then builds and runs every test: the g++ 12 build (warnings as
# errors) and the clang++ 14 build under ASan + UBSan (benchmarks are built by the first only),
# each with unit, compile-fail, consumer, example and backend tests, then the libFuzzer harnesses
# for a short run each (CORDON_FUZZ_SECONDS, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
for preset in ${CORDON_TEST_PRESETS:-dev clang}; do
  echo "== cordon: workflow preset '${preset}'"
  cmake --workflow --preset "${preset}" --fresh
done
if [[ "${CORDON_TEST_FUZZ:-1}" != 0 ]]; then
  echo "== cordon: workflow preset 'fuzz' (${CORDON_FUZZ_SECONDS:-30} s per harness)"
  cmake --preset fuzz --fresh -DCORDON_FUZZ_SECONDS="${CORDON_FUZZ_SECONDS:-30}"
  cmake --build --preset fuzz
  ctest --preset fuzz
fi
