#!/usr/bin/env bash
# Drift benchmark: the same univariate drift computation by Slipway (`slipway monitor drift`),
# NannyML 0.13.1 (`UnivariateDriftCalculator`, KS for numbers and chi-square for categories,
# as issue 15 measures it: once with NannyML's default KS, which bins the reference above
# 10,000 rows, once with exact KS) and Evidently 0.7.23 (`DataDriftPreset`, its default
# statistics), each in its own process under /usr/bin/time -v (wall time and peak RSS), on
#   1. employment_ma: reference.parquet vs analysis.parquet, all 17 features (AGEP and
#      predicted_probability numeric, 15 categorical), chunks of 20,000 rows;
#   2. a synthetic set: a current file of SYN_ROWS rows x 50 columns (40 numeric, 10
#      categorical) against a reference of SYN_REF_ROWS rows, chunks of 100,000 rows.
# Slipway summarizes the reference once (`slipway monitor summarize`, timed on its own) and
# every drift run reads that summary and streams the current file; a one-shot run
# (`monitor drift --reference FILE`: summary and drift in one process) is timed too, and the
# ratios are given both ways. Slipway computes every statistic (KS with scipy's p-value on
# the exact statistic, PSI, exact Wasserstein, Jensen-Shannon, Hellinger / chi-square, PSI,
# Jensen-Shannon, Hellinger, L-infinity) and writes the HTML report. Evidently has no
# chunks: it compares the whole current file, and Slipway is timed the same way for that
# ratio.
#
# Usage: bench/monitor/run.sh [OUT_DIR]   (default bench/out/monitor)
#   SYN_ROWS (1000000), SYN_REF_ROWS (1000000), SKIP_EVIDENTLY=1 to leave Evidently out,
#   NANNYML_ALL=1 to also time NannyML with eight statistics (KS, JS, Wasserstein,
#   Hellinger / chi-square, JS, Hellinger, L-infinity),
#   SLIPWAY_BIN=path to time an already built binary instead of building the release one,
#   SYN_DATA=DIR to use the synthetic files `tools.py make-synthetic DIR ROWS REF_ROWS` wrote.
# Prints `name: value unit` lines and ratios; every figure comes from this one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/monitor}"
SYN_ROWS="${SYN_ROWS:-1000000}"
SYN_REF_ROWS="${SYN_REF_ROWS:-1000000}"
DATA="${EMPLOYMENT_MA:-$(cd .. && pwd)/shared/data/employment_ma}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VENV=bench/monitor/.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/monitor/requirements.txt
fi
PY="$VENV/bin/python"
if [ -z "${SLIPWAY_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
  cargo build --quiet --release --bin slipway
  SLIPWAY_BIN="$CARGO_TARGET_DIR/release/slipway"
fi
mkdir -p "$OUT/bin" && cp "$SLIPWAY_BIN" "$OUT/bin/slipway"
SLIPWAY="$OUT/bin/slipway"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"
echo "# evidently $("$PY" -c 'import evidently; print(evidently.__version__)'), nannyml $("$PY" -c 'import nannyml; print(nannyml.__version__)' 2>/dev/null)"

seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }
elapsed() { grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | seconds; }
peak_mib() { grep 'Maximum resident set size' "$1" | awk '{printf "%.0f", $NF / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }

# timed NAME CMD...: runs CMD under time -v, prints NAME_wall and NAME_peak_rss.
timed() {
  local name=$1; shift
  /usr/bin/time -v "$@" >"$OUT/$name.out" 2>"$OUT/$name.time" || { cat "$OUT/$name.time" >&2; exit 1; }
  grep -E '^[a-z_]+: ' "$OUT/$name.out" || true
  echo "${name}_wall: $(elapsed "$OUT/$name.time") s"
  echo "${name}_peak_rss: $(peak_mib "$OUT/$name.time") MiB"
}

bench() {
  local set=$1 ref=$2 cur=$3 chunk=$4 numeric=$5 categorical=$6
  local cols="$numeric,$categorical"
  local sum="$OUT/${set}.summary"
  timed "${set}_slipway_summarize" "$SLIPWAY" monitor summarize --reference "$ref" --columns "$cols" --out "$sum"
  echo "${set}_summary_size: $(du -k "$sum" | cut -f1) KiB"
  local t_sum; t_sum=$(elapsed "$OUT/${set}_slipway_summarize.time")
  timed "${set}_slipway_chunks" "$SLIPWAY" --json monitor drift --reference-summary "$sum" --current "$cur" \
    --chunk-size "$chunk" --output "$OUT/${set}_report.html"
  timed "${set}_slipway_oneshot_chunks" "$SLIPWAY" --json monitor drift --reference "$ref" --current "$cur" \
    --columns "$cols" --chunk-size "$chunk"
  local t_chunks t_oneshot
  t_chunks=$(elapsed "$OUT/${set}_slipway_chunks.time")
  t_oneshot=$(elapsed "$OUT/${set}_slipway_oneshot_chunks.time")
  local modes="default exact"
  [ -n "${NANNYML_ALL:-}" ] && modes="$modes all"
  for mode in $modes; do
    timed "${set}_nannyml_${mode}_chunks" "$PY" bench/monitor/tools.py nannyml "$ref" "$cur" "$chunk" "$numeric" "$categorical" "$mode"
    local t; t=$(elapsed "$OUT/${set}_nannyml_${mode}_chunks.time")
    echo "${set}_nannyml_${mode}_over_slipway: $(ratio "$t" "$t_chunks")x (stored summary)"
    echo "${set}_nannyml_${mode}_over_slipway_oneshot: $(ratio "$t" "$t_oneshot")x (one process, summary included)"
    echo "${set}_nannyml_${mode}_over_slipway_summarize_plus_drift: $(ratio "$t" "$(awk -v a="$t_sum" -v b="$t_chunks" 'BEGIN {print a + b}')")x"
  done
  if [ -z "${SKIP_EVIDENTLY:-}" ]; then
    timed "${set}_slipway_whole" "$SLIPWAY" --json monitor drift --reference-summary "$sum" --current "$cur"
    timed "${set}_slipway_oneshot_whole" "$SLIPWAY" --json monitor drift --reference "$ref" --current "$cur" --columns "$cols"
    timed "${set}_evidently_whole" "$PY" bench/monitor/tools.py evidently "$ref" "$cur" "$numeric" "$categorical"
    local t; t=$(elapsed "$OUT/${set}_evidently_whole.time")
    echo "${set}_evidently_over_slipway: $(ratio "$t" "$(elapsed "$OUT/${set}_slipway_whole.time")")x (stored summary)"
    echo "${set}_evidently_over_slipway_oneshot: $(ratio "$t" "$(elapsed "$OUT/${set}_slipway_oneshot_whole.time")")x (one process, summary included)"
  fi
  echo "${set}_report_html_size: $(du -k "$OUT/${set}_report.html" | cut -f1) KiB"
}

NUM=AGEP,predicted_probability
CAT=SCHL,MAR,RELP,DIS,ESP,CIT,MIG,MIL,ANC,NATIVITY,DEAR,DEYE,DREM,SEX,RAC1P
bench employment_ma "$DATA/reference.parquet" "$DATA/analysis.parquet" 20000 "$NUM" "$CAT"

if [ -n "${SYN_DATA:-}" ]; then
  # Files an earlier `tools.py make-synthetic DIR ROWS REF_ROWS` wrote (the same seed).
  ln -s "$(cd "$SYN_DATA" && pwd)/synthetic_reference.parquet" "$(cd "$SYN_DATA" && pwd)/synthetic_current.parquet" "$OUT/"
else
  "$PY" bench/monitor/tools.py make-synthetic "$OUT" "$SYN_ROWS" "$SYN_REF_ROWS"
fi
echo "synthetic_rows: $SYN_ROWS rows (reference $SYN_REF_ROWS rows), 50 columns"
NUM=$(seq -s, -f 'num_%g' 0 39)
CAT=$(seq -s, -f 'cat_%g' 0 9)
bench synthetic "$OUT/synthetic_reference.parquet" "$OUT/synthetic_current.parquet" 100000 "$NUM" "$CAT"
rm -f "$OUT"/synthetic_*.parquet "$OUT"/*.summary
