#!/usr/bin/env bash
# Builds tapegrad and runs the main job: the seed notebooks' SVD of M1 (5x4) by gradient descent,
# printing the singular values beside LAPACK's and writing results and the convergence plot to out/seed-M1/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release
cmake --build --preset release -j2 --target tapegrad-svd
data=tests/data/seed/svd/M1
set +e
build/release/bin/tapegrad-svd --recipe seed --init-dir "$data" --out out/seed-M1 "$data/M.csv"
rc=$?
set -e
echo "LAPACK (float64):  $(tr ',' ' ' < "$data/lapack_singular_values.csv")"
echo "Results and convergence plot: out/seed-M1/ (convergence.svg)"
exit $rc
