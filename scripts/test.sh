#!/usr/bin/env bash
# Builds tapegrad (Release, warnings as errors) and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset ci
cmake --build --preset ci -j2
ctest --preset ci -j2
