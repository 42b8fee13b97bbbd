#!/usr/bin/env bash
# Random-search benchmark: scikit-learn RandomizedSearchCV(LGBMClassifier) (reference.py) then
# `slipway train --config bench/search/pipeline.yaml`, one after the other, 20 candidates x
# 5 folds of GBDT on Adult, 2 threads each. Usage: bench/search/run.sh [OUT_DIR]
#   PYTHON             interpreter with lightgbm, scikit-learn, pandas, scipy
#   CARGO_TARGET_DIR   cargo target directory (default target)
#   SLIPWAY_BIN        an already built release `slipway` binary (skips the cargo build)
# Prints `name: value unit` lines; random_search_wall_ratio is slipway / scikit-learn (lower
# is better).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/search}"
PY="${PYTHON:-bench/.venv/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
mkdir -p "$OUT"
BIN="${SLIPWAY_BIN:-}"
if [[ -z "$BIN" ]]; then
  cargo build --quiet --release -p slipway
  BIN="$CARGO_TARGET_DIR/release/slipway"
fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "# load average before the run: $load (timings are noisy when other work runs)" >&2

"$PY" bench/search/reference.py | tee "$OUT/sklearn.txt"
t0=$(date +%s.%N)
"$BIN" train --config bench/search/pipeline.yaml \
  --output "$OUT/slipway" --json > "$OUT/slipway.json"
t1=$(date +%s.%N)
"$PY" - "$OUT" "$t0" "$t1" <<'PY' | tee "$OUT/ratios.txt"
import json, sys
out, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
wall = t1 - t0
r = json.load(open(f"{out}/slipway/report.json"))
best = r["candidates"][0]["mean"]["roc_auc"]
ref = dict(l.split(": ", 1) for l in open(f"{out}/sklearn.txt").read().splitlines() if ": " in l)
sk_wall = float(ref["sklearn_random_search_wall_s"].split()[0])
sk_best = float(ref["sklearn_random_search_best_cv_roc_auc"].split()[0])
print(f"slipway_random_search_wall_s: {wall:.3f} s")
print(f"slipway_random_search_best_cv_roc_auc: {best:.5f} auc")
print(f"random_search_wall_ratio: {wall / sk_wall:.3f} x")
print(f"random_search_best_cv_auc_diff: {best - sk_best:+.5f} auc")
PY
