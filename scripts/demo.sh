#!/usr/bin/env bash
# Installs what cordon needs, builds the release preset, and runs the tour of the examples:
# plugins under different policies, blocked escapes, telemetry and enforcement reports.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec ./examples/tour.sh build/release
