#!/usr/bin/env bash
# Logistic regression fit time, Slipway vs scikit-learn, on the same 320,000 x 28 data.
#
# Usage: bench/linear/run.sh [OUT_DIR]   (default bench/out/linear)
# Env: PYTHON (default bench/.venv/bin/python, made by bench/run.sh), CARGO_TARGET_DIR (default target).
#
# Runs the scikit-learn side, then the Slipway side (never concurrently), both on 2 threads,
# and prints `logreg_fit_time_ratio: X x` (slipway / sklearn, best-of-3 fit times).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/bench/out/linear}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p slipway-learn --example linear_bench)

echo "== scikit-learn"
"$PYTHON" "$ROOT/bench/linear/reference.py" "$OUT" | tee "$OUT/sklearn.txt"
echo "== slipway"
"$TARGET/release/examples/linear_bench" "$OUT" | tee "$OUT/slipway.txt"

sk=$(awk '/^sklearn_logreg_fit_s:/ {print $2}' "$OUT/sklearn.txt")
sw=$(awk '/^slipway_logreg_fit_s:/ {print $2}' "$OUT/slipway.txt")
awk -v a="$sw" -v b="$sk" 'BEGIN { printf "logreg_fit_time_ratio: %.3f x\n", a / b }'
