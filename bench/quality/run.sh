#!/usr/bin/env bash
# Model-quality table: every Slipway model vs its scikit-learn equivalent (gbdt: LightGBM) on
# Adult, breast cancer and diabetes, with the same split, inputs and settings, in one run.
#
# Usage: bench/quality/run.sh [OUT_DIR]   (default bench/out/quality)
# Env: PYTHON (default bench/.venv/bin/python, made by bench/run.sh), CARGO_TARGET_DIR
#      (default target).
#
# 1. reference.py writes the split, the inputs and settings.json, fits the reference models
#    and prints `sklearn_*` lines;
# 2. examples/quality_bench.rs fits Slipway's models on the same files and prints `slipway_*`;
# 3. table.py prints the markdown table (model x data set: Slipway, reference, relative
#    difference; cells outside 1% relative flagged) and `quality_*` lines.
# The two sides run one after the other, never at once, on 2 threads each.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/bench/out/quality}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p slipway-learn --example quality_bench)

echo "== scikit-learn / LightGBM"
"$PYTHON" "$ROOT/bench/quality/reference.py" "$OUT" | tee "$OUT/sklearn.txt"
echo "== slipway"
"$TARGET/release/examples/quality_bench" "$OUT" | tee "$OUT/slipway.txt"
echo "== quality table"
"$PYTHON" "$ROOT/bench/quality/table.py" "$OUT" | tee "$OUT/table.md"
