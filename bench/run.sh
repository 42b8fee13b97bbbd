#!/usr/bin/env bash
# Side-by-side benchmarks: Slipway and the reference tools on the same data, on this machine,
# in one run. Prints `name: value unit` lines; ratios are slipway / reference.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/requirements.txt
fi
export BENCH_PY="$PWD/$VENV/bin/python"
export BENCH_OUT="${BENCH_OUT:-$PWD/bench/out}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
mkdir -p "$BENCH_OUT"
cargo build --release -q -p slipway-learn --examples
echo "machine_cores: $(nproc) cores"
echo "bench_threads: $BENCH_THREADS threads"
bash bench/gbdt/run.sh
bash bench/linear/run.sh
