#!/usr/bin/env bash
# Builds the libFuzzer targets of the matrix readers (tests/fuzz: clang++, ASan + UBSan) and fuzzes each reader
# for a bounded time from its seed corpus (tests/fuzz/corpus/READER) and dictionary (tests/fuzz/READER.dict).
# Fails on the first crash, uncaught exception, broken promise (fuzz_common.hpp), sanitizer report, leak,
# timeout (10 s for one input) or memory use (1 GiB RSS, 256 MiB in one allocation); the input that did it is
# saved as build/fuzz/artifacts/READER-crash-* (replay: build/fuzz/fuzz_READER FILE). Needs clang and
# libclang-rt-14-dev (scripts/deps.sh).
# Usage: scripts/fuzz.sh [SECONDS_PER_READER (default 60)] [READER...  (default: csv mtx npy)]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(csv mtx npy)

cmake -S tests/fuzz -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz -j2
mkdir -p build/fuzz/artifacts
# The readers are fuzzed at the same time (each for SECONDS of wall time), then their results checked.
pids=()
for r in "${readers[@]}"; do
  # New inputs go to a scratch corpus in build/fuzz; the committed seed corpus is only read.
  work=build/fuzz/corpus/$r
  mkdir -p "$work"
  echo "fuzz: $r for ${seconds}s (log: build/fuzz/fuzz_$r.log)"
  build/fuzz/fuzz_"$r" "$work" "tests/fuzz/corpus/$r" -dict="tests/fuzz/$r.dict" -max_total_time="$seconds" \
    -max_len=4096 -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/artifacts/$r-" >"build/fuzz/fuzz_$r.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!readers[@]}"; do
  r=${readers[$i]}
  log=build/fuzz/fuzz_$r.log
  rc=0
  wait "${pids[$i]}" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz: fuzz_$r failed (exit $rc); the input is in build/fuzz/artifacts/" >&2
    failed=1
    continue
  fi
  echo "fuzz: $r"
  grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$log" | sed 's/^/  /'
done
exit "$failed"
