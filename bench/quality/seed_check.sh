#!/usr/bin/env bash
# More seeds for chosen cells of the quality table, both sides, same settings.
# Usage: bench/quality/seed_check.sh DATASET MODEL[,MODEL...] FIRST LAST [OUT_DIR]
#   e.g. bench/quality/seed_check.sh diabetes decision_tree,random_forest 100 400
# Env: PYTHON (default bench/.venv/bin/python), CARGO_TARGET_DIR (default target).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${5:-$ROOT/bench/out/quality_seeds}"
PYTHON="${PYTHON:-$ROOT/bench/.venv/bin/python}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 RAYON_NUM_THREADS=2
(cd "$ROOT" && cargo build --release -q -p slipway-learn --example quality_bench)
"$PYTHON" "$ROOT/bench/quality/seed_check.py" "$OUT" "$1" "$2" "$3" "$4"
"$TARGET/release/examples/quality_bench" "$OUT" | grep -v '_fit_predict_s:'
