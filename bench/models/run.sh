#!/usr/bin/env bash
# k-NN predict, k-means fit, Gaussian naive Bayes fit and elastic-net fit: Slipway vs
# scikit-learn on the same data, both on 2 threads.
#
# Usage: bench/models/run.sh [OUT_DIR]   (default bench/out/models)
# Env: PYTHON (default bench/.venv/bin/python, made by bench/run.sh), CARGO_TARGET_DIR (default target),
#      REPEATS (default 3).
#
# Runs the scikit-learn side, then the Slipway side (never concurrently), and prints the
# `name: value unit` lines of both plus `*_time_ratio: X x` (slipway / sklearn, best-of-N).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/bench/out/models}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REPEATS="${REPEATS:-3}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p slipway-learn --example models_bench)

echo "== scikit-learn"
"$PYTHON" "$ROOT/bench/models/reference.py" "$OUT" --repeats "$REPEATS" | tee "$OUT/sklearn.txt"
echo "== slipway"
"$TARGET/release/examples/models_bench" "$OUT" "$REPEATS" | tee "$OUT/slipway.txt"

echo "== ratios (slipway / sklearn)"
for name in knn_predict kmeans_given_init_fit kmeans_pp_fit gnb_fit enet_fit; do
  sk=$(awk -v k="sklearn_${name}_s:" '$1 == k {print $2}' "$OUT/sklearn.txt")
  sw=$(awk -v k="slipway_${name}_s:" '$1 == k {print $2}' "$OUT/slipway.txt")
  awk -v n="$name" -v a="$sw" -v b="$sk" 'BEGIN { printf "%s_time_ratio: %.3f x\n", n, a / b }'
done
