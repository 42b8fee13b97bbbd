#!/usr/bin/env bash
# Adult by sex: Slipway's per-group thresholds (fairness: {mitigation: {method:
# threshold_optimizer}}) against Fairlearn 0.15's ThresholdOptimizer on the same out-of-fold
# training scores and the same held-out file, for demographic parity and equalized odds.
#
# Usage: bench/fairness/thresholds.sh [OUT_DIR]   (default bench/out/fairness-thresholds)
# Needs a Python with fairlearn 0.15 and pandas: FAIRNESS_PYTHON (default
# /work/venv-fairness/bin/python). Prints the before/after table (Markdown) and writes
# OUT_DIR/results.json. Not a timing: any build of slipway gives the same figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/fairness-thresholds}"
PY="${FAIRNESS_PYTHON:-/work/venv-fairness/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
SLIPWAY="${SLIPWAY:-$CARGO_TARGET_DIR/debug/slipway}"
[ -x "$SLIPWAY" ] || cargo build --quiet -p slipway
rm -rf "$OUT" && mkdir -p "$OUT"
: > "$OUT/results.jsonl"
for c in demographic_parity equalized_odds; do
  sed "s/CONSTRAINT/$c/; s#\.\./\.\./examples#$PWD/examples#" bench/fairness/adult_thresholds.yaml \
    > "$OUT/$c.yaml"
  "$SLIPWAY" train --config "$OUT/$c.yaml" --output "$OUT/$c" --no-track > "$OUT/$c.train.txt" 2>&1
  "$SLIPWAY" predict --model "$OUT/$c/model" --input examples/adult/adult_test.csv \
    --output "$OUT/$c/predictions.csv" --keep sex --keep income > /dev/null
  "$PY" bench/fairness/compare_thresholds.py "$c" "$OUT/$c/threshold_scores.csv" \
    "$OUT/$c/predictions.csv" 42 >> "$OUT/results.jsonl"
done
"$PY" - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"Adult by sex: {rows[0]['fit_rows']} training rows (out-of-fold logistic regression scores), "
      f"{rows[0]['held_out_rows']} held-out rows; Fairlearn {rows[0]['fairlearn']}")
print()
print("| constraint | metric | before | Slipway after | Fairlearn after |")
print("|---|---|---|---|---|")
for r in rows:
    for k, name in [("demographic_parity_difference", "demographic parity difference"),
                    ("equalized_odds_difference", "equalized odds difference"),
                    ("accuracy", "accuracy")]:
        print(f"| {r['constraint']} | {name} | {r['before'][k]:.4f} | {r['slipway'][k]:.4f} | {r['fairlearn_after'][k]:.4f} |")
print()
for r in rows:
    print(f"{r['constraint']}: largest |Slipway - Fairlearn| per-row probability: {r['max_abs_probability_difference']:.3g}")
PY
