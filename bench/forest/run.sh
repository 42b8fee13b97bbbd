#!/usr/bin/env bash
# Random forest benchmark: scikit-learn (reference.py) then Slipway (examples/forest_bench.rs),
# one after the other, then the ratios. Usage: bench/forest/run.sh [OUT_DIR]
#   PYTHON             interpreter with scikit-learn, pandas (default bench/.venv/bin/python)
#   CARGO_TARGET_DIR   cargo target directory (default target)
#   FOREST_BENCH_REPEAT  fits per set on each side, the fastest reported (default 3: one fit of
#                      the Adult forest takes about a second, and single runs vary by ±30%)
# RandomForestClassifier, 100 trees, 2 threads / n_jobs=2, on make_classification 100k x 20
# and Adult. Prints `name: value unit` lines; forest_*_train_time_ratio is slipway / sklearn
# (lower is better); forest_*_accuracy_diff is slipway - sklearn.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/forest}"
PY="${PYTHON:-bench/.venv/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
mkdir -p "$OUT"

cargo build --quiet --release -p slipway-learn --example forest_bench
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "# load average before the run: $load (timings are noisy when other work runs)" >&2

REPEAT="${FOREST_BENCH_REPEAT:-3}"
"$PY" bench/forest/reference.py --out "$OUT" --repeat "$REPEAT" | tee "$OUT/sklearn.txt"
"$CARGO_TARGET_DIR/release/examples/forest_bench" --data "$OUT" --repeat "$REPEAT" | tee "$OUT/slipway.txt"

awk '
  FNR == NR { sk[$1] = $2; next }
  { sw[$1] = $2 }
  END {
    n = split("synthetic adult", sets, " ")
    for (i = 1; i <= n; i++) {
      s = sets[i]
      t = "_" s "_train_s:"; a = "_" s "_accuracy:"
      if (("sklearn" t) in sk && ("slipway" t) in sw)
        printf "forest_%s_train_time_ratio: %.3f x\n", s, sw["slipway" t] / sk["sklearn" t]
      if (("sklearn" a) in sk && ("slipway" a) in sw)
        printf "forest_%s_accuracy_diff: %+.5f accuracy\n", s, sw["slipway" a] - sk["sklearn" a]
    }
  }' "$OUT/sklearn.txt" "$OUT/slipway.txt" | tee "$OUT/ratios.txt"
