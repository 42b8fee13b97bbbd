#!/usr/bin/env bash
# MLP fit time, Slipway (candle, CPU) vs scikit-learn MLPClassifier, on the same Adult
# matrices (standardized numeric + one-hot text columns, written by reference.py).
#
# Usage: bench/mlp/run.sh [OUT_DIR]   (default bench/out/mlp)
# Env: PYTHON (default bench/.venv/bin/python, made by bench/run.sh), CARGO_TARGET_DIR (default target).
#
# Hidden (64, 32), ReLU, Adam (lr 1e-3, alpha 1e-4), batch 256, exactly 20 epochs, seed 0,
# 2 threads on both sides. Runs scikit-learn first, then Slipway (never concurrently), and
# prints `mlp_fit_time_ratio: X x` (slipway / sklearn) and both hold-out AUCs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/bench/out/mlp}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p slipway-learn --example mlp_bench)
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "# load average before the run: $load (timings are noisy when other work runs)" >&2

echo "== scikit-learn"
"$PYTHON" "$ROOT/bench/mlp/reference.py" "$OUT" | tee "$OUT/sklearn.txt"
echo "== slipway"
"$TARGET/release/examples/mlp_bench" "$OUT/adult" | tee "$OUT/slipway.txt"

sk=$(awk '/^sklearn_mlp_fit_s:/ {print $2}' "$OUT/sklearn.txt")
sw=$(awk '/^slipway_mlp_fit_s:/ {print $2}' "$OUT/slipway.txt")
ska=$(awk '/^sklearn_mlp_auc:/ {print $2}' "$OUT/sklearn.txt")
swa=$(awk '/^slipway_mlp_auc:/ {print $2}' "$OUT/slipway.txt")
awk -v a="$sw" -v b="$sk" 'BEGIN { printf "mlp_fit_time_ratio: %.3f x\n", a / b }'
awk -v a="$swa" -v b="$ska" 'BEGIN { printf "mlp_auc_diff: %.5f (slipway - sklearn)\n", a - b }'
