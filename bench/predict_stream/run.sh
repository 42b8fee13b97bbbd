#!/usr/bin/env bash
# Streaming predict benchmark: a GBDT trained on Adult scores a large Adult-like file
# (rows of examples/adult/adult_train.csv drawn at random and perturbed a little, made by
# crates/slipway-data/examples/adult_rows.rs) with `slipway predict`, CSV in → Parquet out
# and Parquet in → CSV out, each under /usr/bin/time -v.
#
# Usage: bench/predict_stream/run.sh [OUT_DIR]   (default bench/out/predict_stream)
#   PREDICT_ROWS (10000000): rows in the generated file; KEEP_FILES=1 keeps the big files.
# Prints `name: value unit` lines; every figure comes from this one run on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/predict_stream}"
ROWS="${PREDICT_ROWS:-10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cargo build --quiet --release --bin slipway --example adult_rows
# Copies, so that another build into the same target directory cannot swap them mid-run.
mkdir -p "$OUT/bin"
cp "$CARGO_TARGET_DIR/release/slipway" "$CARGO_TARGET_DIR/release/examples/adult_rows" "$OUT/bin/"
SLIPWAY="$OUT/bin/slipway"
GEN="$OUT/bin/adult_rows"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg); $ROWS rows"

cat > "$OUT/gbdt.yaml" <<YAML
name: adult
data: {train: $(pwd)/examples/adult/adult_train.csv}
target: income
roles: {ignored: [fnlwgt]}
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 100, num_leaves: 31, learning_rate: 0.1}}
cv: {folds: 2}
seed: 1
YAML
SLIPWAY_HOME="$OUT/home" "$SLIPWAY" train -c "$OUT/gbdt.yaml" --output "$OUT/gbdt" --no-track >/dev/null

# "h:mm:ss" or "m:ss.ss" → seconds.
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }
elapsed() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | seconds; }
peak_mib() { grep 'Maximum resident set size' "$1" | awk '{printf "%.0f", $NF / 1024}'; }

/usr/bin/time -v "$GEN" examples/adult/adult_train.csv "$ROWS" "$OUT/rows.csv" "$OUT/rows.parquet" \
  2>"$OUT/generate.time"
echo "generate_seconds: $(elapsed "$OUT/generate.time") s"
echo "input_csv_size: $(du -m "$OUT/rows.csv" | cut -f1) MiB"
echo "input_parquet_size: $(du -m "$OUT/rows.parquet" | cut -f1) MiB"

run() {
  local name=$1 input=$2 output=$3
  /usr/bin/time -v "$SLIPWAY" --json predict -m "$OUT/gbdt/model" -i "$input" -o "$output" \
    >"$OUT/$name.json" 2>"$OUT/$name.time"
  local secs rows
  secs=$(elapsed "$OUT/$name.time")
  rows=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rows'])" "$OUT/$name.json")
  echo "${name}_rows: $rows rows"
  echo "${name}_seconds: $secs s"
  echo "${name}_rows_per_second: $(awk -v r="$rows" -v s="$secs" 'BEGIN {printf "%.0f", r / s}') rows/s"
  echo "${name}_peak_rss: $(peak_mib "$OUT/$name.time") MiB"
}
run csv_to_parquet "$OUT/rows.csv" "$OUT/predictions.parquet"
run parquet_to_csv "$OUT/rows.parquet" "$OUT/predictions.csv"

if [ "${KEEP_FILES:-0}" != 1 ]; then
  rm -f "$OUT/rows.csv" "$OUT/rows.parquet" "$OUT/predictions.parquet" "$OUT/predictions.csv"
  rm -rf "$OUT/bin"
fi
