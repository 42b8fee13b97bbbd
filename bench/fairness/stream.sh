#!/usr/bin/env bash
# Streamed fairness benchmark: a GBDT trained on Adult scores a large file of Adult rows
# (examples/adult/adult_train.csv repeated to FAIR_ROWS rows, written to a temporary
# directory and deleted after) with `slipway fairness --bundle ... --protected sex,race
# --intersect` (default 1,000 bootstrap replicates), under /usr/bin/time -v, and the same
# for a file 10x smaller: peak RSS should not grow with the rows.
#
# Usage: bench/fairness/stream.sh
#   SLIPWAY_BIN: a slipway binary to use (default: build the release binary).
#   FAIR_ROWS (5000000): rows of the large file.  FAIR_TMP: where the files go (default
#   a new directory under /tmp).
# Prints `name: value unit` lines; every figure comes from this one run on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${FAIR_ROWS:-5000000}"
if [ -z "${SLIPWAY_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
  cargo build --quiet --release --bin slipway
  SLIPWAY_BIN="$CARGO_TARGET_DIR/release/slipway"
fi
TMP="${FAIR_TMP:-$(mktemp -d /tmp/slipway-fair-stream.XXXXXX)}"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
cp "$SLIPWAY_BIN" "$TMP/slipway"
SLIPWAY="$TMP/slipway"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"

cat > "$TMP/gbdt.yaml" <<YAML
name: adult
data: {train: $(pwd)/examples/adult/adult_train.csv}
target: income
roles: {ignored: [fnlwgt], protected: [sex, race]}
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 100, num_leaves: 31, learning_rate: 0.1}}
cv: {folds: 2}
seed: 1
YAML
SLIPWAY_HOME="$TMP/home" "$SLIPWAY" train -c "$TMP/gbdt.yaml" --output "$TMP/gbdt" --no-track >/dev/null

# Adult's rows, repeated until the file holds `rows` rows.
write_rows() {
  local rows=$1 out=$2
  awk -v n="$rows" 'NR == 1 { print; next } { body[++m] = $0 }
    END { for (i = 0; i < n; i++) print body[i % m + 1] }' examples/adult/adult_train.csv >"$out"
}

# "h:mm:ss" or "m:ss.ss" → seconds.
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }
elapsed() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | seconds; }
peak_mib() { grep 'Maximum resident set size' "$1" | awk '{printf "%.0f", $NF / 1024}'; }

run() {
  local name=$1 rows=$2
  write_rows "$rows" "$TMP/$name.csv"
  echo "${name}_input_size: $(du -m "$TMP/$name.csv" | cut -f1) MiB"
  /usr/bin/time -v "$SLIPWAY" --json fairness --bundle "$TMP/gbdt/model" --data "$TMP/$name.csv" \
    --protected sex,race --intersect >"$TMP/$name.json" 2>"$TMP/$name.time"
  rm -f "$TMP/$name.csv"
  echo "${name}_rows: $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rows'])" "$TMP/$name.json") rows"
  echo "${name}_seconds: $(elapsed "$TMP/$name.time") s"
  echo "${name}_peak_rss: $(peak_mib "$TMP/$name.time") MiB"
}
run small $((ROWS / 10))
run large "$ROWS"
