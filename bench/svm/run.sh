#!/usr/bin/env bash
# SVM classifier (probabilities on) fit and predict_proba time, Slipway vs scikit-learn's
# SVC(probability=True), RBF and linear kernels, on the same standardized one-hot Adult rows.
#
# Usage: bench/svm/run.sh [OUT_DIR]   (default bench/out/svm)
# Env: PYTHON (default bench/.venv/bin/python, made by bench/run.sh), CARGO_TARGET_DIR (default target),
#      SVM_ROWS (training rows, default 10000), REPEATS (default 1).
#
# Runs the scikit-learn side, then the Slipway side (never concurrently), and prints the
# `name: value unit` lines of both plus `svm_*_time_ratio: X x` (slipway / sklearn).
# libsvm is single-threaded; Slipway runs the probability folds and kernel rows on 2 threads.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/bench/out/svm}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REPEATS="${REPEATS:-1}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p slipway-learn --example svm_bench)

echo "== scikit-learn"
"$PYTHON" "$ROOT/bench/svm/reference.py" "$OUT" --n-train "${SVM_ROWS:-10000}" --repeats "$REPEATS" \
  | tee "$OUT/sklearn.txt"
echo "== slipway"
"$TARGET/release/examples/svm_bench" "$OUT" "$REPEATS" | tee "$OUT/slipway.txt"

echo "== ratios (slipway / sklearn)"
for k in rbf linear; do
  for what in fit predict; do
    sk=$(awk -v n="sklearn_${k}_${what}_s:" '$1 == n {print $2}' "$OUT/sklearn.txt")
    sw=$(awk -v n="slipway_${k}_${what}_s:" '$1 == n {print $2}' "$OUT/slipway.txt")
    awk -v n="svm_${k}_${what}_time_ratio" -v a="$sw" -v b="$sk" 'BEGIN { printf "%s: %.3f x\n", n, a / b }'
  done
done
