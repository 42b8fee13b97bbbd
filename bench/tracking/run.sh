#!/usr/bin/env bash
# Tracking benchmark: the official mlflow client (bench/tracking/load.py) against `mlflow
# server` (full mlflow, SQLite backend, default workers) and then against `slipway serve`
# (release build), one server at a time, same operations and client threads. Then the raw-HTTP
# client (crates/slipway/examples/tracking_load.rs) against each, to show what the servers
# sustain without the Python client's own overhead.
# Usage: bench/tracking/run.sh [OUT_DIR]   (default bench/out/tracking)
#   TRACKING_RUNS (2000), TRACKING_THREADS (8), TRACKING_STEPS (1000)
# Prints `name: value unit` lines; ratios are slipway / mlflow (higher is better).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/tracking}"
RUNS="${TRACKING_RUNS:-2000}"
THREADS="${TRACKING_THREADS:-8}"
STEPS="${TRACKING_STEPS:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV=bench/tracking/.venv
if [ ! -x "$VENV/bin/mlflow" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/tracking/requirements.txt
fi
PY="$VENV/bin/python"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cargo build --quiet --release -p slipway --bin slipway --example tracking_load
SLIPWAY="$CARGO_TARGET_DIR/release/slipway"
RAW="$CARGO_TARGET_DIR/release/examples/tracking_load"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
echo "# load average before the run: $load (timings are noisy when other work runs)" >&2

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 600); do
    if "$PY" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/health', timeout=1)" "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "server at $1 did not come up" >&2
  return 1
}
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

bench_one() {  # label, url
  "$PY" bench/tracking/load.py --url "$2" --pid "$server_pid" --label "$1" \
    --runs "$RUNS" --threads "$THREADS" --steps "$STEPS" | tee "$OUT/$1.txt"
  "$RAW" "$2" "$1" "$RUNS" "$THREADS" | tee -a "$OUT/$1.txt"
}

# mlflow server: SQLite backend, proxied artifacts on disk, its default worker count.
port=$(free_port)
"$VENV/bin/mlflow" server --backend-store-uri "sqlite:///$OUT/mlflow.db" \
  --artifacts-destination "$OUT/mlflow-artifacts" --host 127.0.0.1 --port "$port" \
  > "$OUT/mlflow-server.log" 2>&1 &
server_pid=$!
wait_up "http://127.0.0.1:$port"
bench_one mlflow "http://127.0.0.1:$port"
stop_server

port=$(free_port)
"$SLIPWAY" serve --host 127.0.0.1 --port "$port" --home "$OUT/slipway-home" \
  > "$OUT/slipway-server.log" 2>&1 &
server_pid=$!
wait_up "http://127.0.0.1:$port"
bench_one slipway "http://127.0.0.1:$port"
stop_server

awk '
  FNR == NR { ml[$1] = $2; next }
  { sw[$1] = $2 }
  function ratio(name, a, b) { if (a > 0 && b > 0) printf "%s: %.1f x\n", name, a / b }
  END {
    ratio("tracking_runs_per_s_ratio", sw["slipway_runs_per_s:"], ml["mlflow_runs_per_s:"])
    ratio("tracking_search_speedup", ml["mlflow_search_ms:"], sw["slipway_search_ms:"])
    ratio("tracking_history_log_speedup", ml["mlflow_history_log_s:"], sw["slipway_history_log_s:"])
    ratio("tracking_history_get_speedup", ml["mlflow_history_get_ms:"], sw["slipway_history_get_ms:"])
    ratio("tracking_server_cpu_per_run_ratio", ml["mlflow_server_cpu_ms_per_run:"], sw["slipway_server_cpu_ms_per_run:"])
    ratio("tracking_server_cpu_per_search_ratio", ml["mlflow_server_cpu_ms_per_search:"], sw["slipway_server_cpu_ms_per_search:"])
    ratio("tracking_server_cpu_per_log_metric_ratio", ml["mlflow_server_cpu_ms_per_log_metric:"], sw["slipway_server_cpu_ms_per_log_metric:"])
    ratio("tracking_peak_rss_ratio", ml["mlflow_server_peak_rss_mb:"], sw["slipway_server_peak_rss_mb:"])
    ratio("tracking_raw_runs_per_s_ratio", sw["slipway_raw_runs_per_s:"], ml["mlflow_raw_runs_per_s:"])
    ratio("tracking_raw_search_speedup", ml["mlflow_raw_search_ms:"], sw["slipway_raw_search_ms:"])
  }' "$OUT/mlflow.txt" "$OUT/slipway.txt"
