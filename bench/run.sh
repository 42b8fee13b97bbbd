#!/usr/bin/env bash
# Side-by-side benchmarks: Slipway and the reference tools on the same data, on this machine,
# in one run. Prints `name: value unit` lines; ratios are slipway / reference (lower is
# better for times). Each part runs the reference side, then the Slipway side, never both at
# once. Set BENCH_ONLY=<part> (one of the parts in the loop below) to run one part.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/requirements.txt
fi
export PYTHON="$PWD/$VENV/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "machine_cores: $(nproc) cores"
echo "bench_threads: 2 threads"
for part in gbdt linear models forest svm mlp search tracking quality; do
  if [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$part" ]; then
    echo "== $part"
    bash "bench/$part/run.sh" "bench/out/$part"
  fi
done
