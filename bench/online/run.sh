#!/usr/bin/env bash
# Online learning benchmark: Slipway vs River 0.26 in one run, on the same streams
# (River's Phishing, 1,250 rows, and Bananas, 5,300 rows, exported to
# crates/slipway-monitor/tests/reference/online_*.csv): progressive validation
# (test-then-train) rows/s and accuracy of the Hoeffding tree and the adaptive random
# forest (10 trees), and ADWIN updates/s on 1,000,000 Bernoulli errors; and on River's
# TrumpApproval (1,001 rows) and ChickWeights (578 rows) regression streams, rows/s and MAE of
# the Hoeffding tree regressor and the ARF regressor (10 trees, median), both behind a
# standard scaler.
#
# Usage: [PROFILE=dev] bench/online/run.sh   (RIVER_PY=python with river 0.26; default /work/venv-online)
# Prints `name: value unit` lines and Slipway/River ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${RIVER_PY:-/work/venv-online/bin/python}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# PROFILE=dev uses the workspace's dev profile (optimized, with debug info) to skip a release build.
PROFILE="${PROFILE:-release}"
cargo build --quiet --profile "$PROFILE" -p slipway-monitor --example online_bench
DIR="$PROFILE"; [ "$PROFILE" = dev ] && DIR=debug
STREAMS="crates/slipway-monitor/tests/reference/online_phishing.csv crates/slipway-monitor/tests/reference/online_bananas.csv"
STREAMS="$STREAMS --regression crates/slipway-monitor/tests/reference/online_trump_approval.csv crates/slipway-monitor/tests/reference/online_chick_weights.csv"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"
OUT="$(mktemp)"
"$CARGO_TARGET_DIR/$DIR/examples/online_bench" $STREAMS | tee "$OUT"
"$PY" bench/online/bench_river.py $STREAMS | tee -a "$OUT"
awk -F': ' '
  { split($2, v, " "); val[$1] = v[1] }
  END {
    for (k in val) if (k ~ /^slipway_.*_per_s$/) {
      r = k; sub(/^slipway_/, "river_", r)
      if (r in val && val[r] > 0) { n = k; sub(/^slipway_/, "", n); printf "ratio_%s: %.1f x\n", n, val[k] / val[r] }
    }
  }' "$OUT" | sort
rm -f "$OUT"
