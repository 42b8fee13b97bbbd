#!/usr/bin/env bash
# GBDT benchmark: LightGBM (reference.py) then Slipway (examples/gbdt_bench.rs), one after the
# other, then the ratios. Usage: bench/gbdt/run.sh [OUT_DIR]   (default bench/out/gbdt)
#   PYTHON             interpreter with lightgbm, scikit-learn, pandas
#                      (default bench/.venv/bin/python, made by bench/run.sh)
#   CARGO_TARGET_DIR   cargo target directory (default target)
#   GBDT_BENCH_REPEAT  train each model this many times and report the best (default 1)
# Prints `name: value unit` lines; ratios are slipway / lightgbm (train time: lower is better,
# prediction throughput: higher is better); auc_diff is slipway - lightgbm.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/gbdt}"
REPEAT="${GBDT_BENCH_REPEAT:-1}"
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON=bench/.venv/bin/python
fi
PY="$PYTHON"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
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
