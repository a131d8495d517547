#!/usr/bin/env bash
# Installs what cordon needs, then builds and runs every test: the g++ 12 build (warnings as
# errors) and the clang++ 14 build, each with unit, compile-fail, consumer and backend tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
for preset in ${CORDON_TEST_PRESETS:-dev clang}; do
  echo "== cordon: workflow preset '${preset}'"
  cmake --workflow --preset "${preset}" --fresh
done
