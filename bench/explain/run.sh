#!/usr/bin/env bash
# TreeSHAP benchmark: the bench/serving model (LightGBM, Adult, 200 trees, 63 leaves),
# imported into Slipway as `slipway models import --lightgbm` does; the Adult test set
# (16,281 rows) explained by Slipway's TreeSHAP, by shap.TreeExplainer(...).shap_values and by
# LightGBM's predict(pred_contrib=True), the same rows, 2 threads, one run each; and
# interventional TreeSHAP with 100 background rows on the first 1,000 rows, Slipway vs shap.
#
# Usage: bench/explain/run.sh [OUT_DIR]   (default bench/out/explain)
# Prints `name: value unit` lines and the ratios; every figure comes from this one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/explain}"
THREADS=2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${EXPLAIN_VENV:-bench/explain/.venv}"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s bench/explain/requirements.txt "$VENV/requirements.txt"; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/explain/requirements.txt
  cp bench/explain/requirements.txt "$VENV/requirements.txt"
fi
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --quiet --release -p slipway-explain --example treeshap_bench
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"
OMP_NUM_THREADS=$THREADS "$VENV/bin/python" bench/explain/bench.py "$OUT" \
  examples/adult/adult_train.csv examples/adult/adult_test.csv | tee "$OUT/python.txt"
"$CARGO_TARGET_DIR/release/examples/treeshap_bench" "$OUT/model.txt" "$OUT/sample.csv" \
  "$OUT/rows.csv" "$THREADS" "$OUT/reference.csv" "$OUT/background.csv" | tee "$OUT/slipway.txt"
awk -F': ' '
  FNR == NR && /^shap_tree_explainer:/ { split($2, a, " "); shap = a[1] }
  FNR == NR && /^lightgbm_pred_contrib:/ { split($2, a, " "); lgb = a[1] }
  FNR == NR && /^shap_interventional:/ { split($2, a, " "); shapi = a[1] }
  FNR != NR && /^slipway_tree_shap:/ { split($2, a, " "); slip = a[1] }
  FNR != NR && /^slipway_interventional:/ { split($2, a, " "); slipi = a[1] }
  END {
    printf "ratio_vs_shap: %.1f x\n", slip / shap
    printf "ratio_vs_pred_contrib: %.1f x\n", slip / lgb
    printf "ratio_interventional_vs_shap: %.1f x\n", slipi / shapi
  }' "$OUT/python.txt" "$OUT/slipway.txt"
