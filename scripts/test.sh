#!/usr/bin/env bash
# The test command (README; CI runs it through .ci/run). Builds tapegrad (Release, warnings as errors) and runs
# every test with CTest; then the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, the
# threads test under ThreadSanitizer, and a bounded fuzzing run of each matrix reader (docs/bad-inputs.md,
# "Fuzzing and sanitizers"). Set TAPEGRAD_FUZZ_SECONDS to change the fuzzing time per reader (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
step() { echo "== $1 ($(date +%T))"; }

step "release build, warnings as errors: every test"
cmake --preset ci
cmake --build --preset ci -j2
ctest --preset ci -j2

step "ASan + UBSan: every test (no benchmarks or examples) and the no-MPI package install check"
cmake --preset asan
cmake --build --preset asan -j2
ctest --preset asan -j2

step "ThreadSanitizer: concurrent SVDs (the test_threads target only)"
cmake --preset tsan
cmake --build --preset tsan -j2
ctest --preset tsan

step "fuzzing the readers, ${TAPEGRAD_FUZZ_SECONDS:-30}s each"
bash scripts/fuzz.sh "${TAPEGRAD_FUZZ_SECONDS:-30}"
step "done"
