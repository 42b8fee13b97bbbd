#!/usr/bin/env bash
# GBDT benchmark: LightGBM (reference.py) then Slipway (examples/gbdt_bench.rs), one after the
# other, then the ratios. Usage: bench/gbdt/run.sh [--repeat N]
#   PYTHON           interpreter with lightgbm, scikit-learn, pandas (default /tmp/refvenv/bin/python)
#   GBDT_BENCH_OUT   data and results directory (default bench/out/gbdt)
#   CARGO_TARGET_DIR cargo target directory (default /work/target)
# Prints `name: value unit` lines; ratios are slipway / lightgbm (train time: lower is better,
# prediction throughput: higher is better); auc_diff is slipway - lightgbm.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=1
if [[ "${1:-}" == "--repeat" ]]; then REPEAT="$2"; fi
PY="${PYTHON:-/tmp/refvenv/bin/python}"
OUT="${GBDT_BENCH_OUT:-bench/out/gbdt}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
mkdir -p "$OUT"

cargo build --quiet --release -p slipway-learn --example gbdt_bench
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "# load average before the run: $load (timings are noisy when other work runs)" >&2

"$PY" bench/gbdt/reference.py --out "$OUT" --repeat "$REPEAT" | tee "$OUT/lightgbm.txt"
"$CARGO_TARGET_DIR/release/examples/gbdt_bench" --data "$OUT" --repeat "$REPEAT" | tee "$OUT/slipway.txt"

awk '
  FNR == NR { lg[$1] = $2; next }
  { sw[$1] = $2 }
  END {
    n = split("synthetic adult", sets, " ")
    for (i = 1; i <= n; i++) {
      s = sets[i]
      t = "_" s "_train_s:"; p = "_" s "_predict_rows_per_s:"; a = "_" s "_auc:"
      if (("lightgbm" t) in lg && ("slipway" t) in sw)
        printf "gbdt_%s_train_time_ratio: %.3f x\n", s, sw["slipway" t] / lg["lightgbm" t]
      if (("lightgbm" p) in lg && ("slipway" p) in sw)
        printf "gbdt_%s_predict_throughput_ratio: %.3f x\n", s, sw["slipway" p] / lg["lightgbm" p]
      if (("lightgbm" a) in lg && ("slipway" a) in sw)
        printf "gbdt_%s_auc_diff: %+.5f auc\n", s, sw["slipway" a] - lg["lightgbm" a]
    }
  }' "$OUT/lightgbm.txt" "$OUT/slipway.txt" | tee "$OUT/ratios.txt"
