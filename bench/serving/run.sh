#!/usr/bin/env bash
# Serving benchmark: one LightGBM model (Adult, 200 trees, 63 leaves) served by `mlflow
# models serve`, by MLServer 1.7.1 (its LightGBM runtime) and by `slipway serve --bundle`
# (the same model imported with `slipway models import --lightgbm`), one server at a time, on
# loopback, with the same load generator (crates/slipway-server/examples/serving_load.rs)
# and, where installed, wrk. Slipway's own GBDT (same size) is served too.
#
# Usage: bench/serving/run.sh [OUT_DIR]   (default bench/out/serving)
#   SERVING_SECONDS (30): seconds per load run; SERVING_CONNECTIONS (32);
#   SERVING_PREBUILT=1: use the release binaries already in $CARGO_TARGET_DIR (no build)
# Prints `name: value unit` lines; every figure comes from this one run on this machine. The
# last part, bench/serving/routing.sh, measures what a deployment's routing adds per request.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/serving}"
SECS="${SERVING_SECONDS:-30}"
CONN="${SERVING_CONNECTIONS:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="${SERVING_VENV:-bench/serving/.venv}"
if [ ! -x "$VENV/bin/mlserver" ] || ! cmp -s bench/serving/requirements.txt "$VENV/requirements.txt"; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/serving/requirements.txt
  cp bench/serving/requirements.txt "$VENV/requirements.txt"
fi
PY="$VENV/bin/python"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [ -z "${SERVING_PREBUILT:-}" ]; then
  cargo build --quiet --release --bin slipway --example serving_load --example serving_inprocess --example routing_cost
fi
SLIPWAY="$CARGO_TARGET_DIR/release/slipway"
LOAD="$CARGO_TARGET_DIR/release/examples/serving_load"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"

"$PY" bench/serving/make_model.py "$OUT" examples/adult/adult_train.csv examples/adult/adult_test.csv
"$SLIPWAY" models import --lightgbm "$OUT/model.txt" --sample "$OUT/sample.csv" --name adult \
  --output "$OUT/slipway_bundle" >/dev/null
cat > "$OUT/gbdt.yaml" <<YAML
name: adult
data: {train: $(pwd)/examples/adult/adult_train.csv}
target: income
roles: {ignored: [fnlwgt]}
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 200, num_leaves: 63, learning_rate: 0.05}}
cv: {folds: 2}
seed: 1
YAML
SLIPWAY_HOME="$OUT/home" "$SLIPWAY" train -c "$OUT/gbdt.yaml" --output "$OUT/slipway_gbdt" --no-track >/dev/null
"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
row = json.load(open(f"{out}/row.json"))
# Slipway's own GBDT reads the raw Adult columns: one test row as text categories.
import pandas as pd
t = pd.read_csv("examples/adult/adult_test.csv").drop(columns=["income", "fnlwgt"]).dropna()
r = {k: (v.item() if hasattr(v, "item") else v) for k, v in t.iloc[0].to_dict().items()}
json.dump(r, open(f"{out}/gbdt_row.json", "w"))
json.dump({"dataframe_records": [r]}, open(f"{out}/gbdt_mlflow_1.json", "w"))
rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in t.iloc[i].to_dict().items()} for i in range(1000)]
json.dump({"dataframe_records": rows}, open(f"{out}/gbdt_mlflow_1000.json", "w"))
PYEOF

"$CARGO_TARGET_DIR/release/examples/serving_inprocess" "$OUT/slipway_bundle" "$OUT/row.json" 200000 "$OUT/mlflow_1000.json" | sed 's/^/imported_lightgbm_/'
"$CARGO_TARGET_DIR/release/examples/serving_inprocess" "$OUT/slipway_gbdt/model" "$OUT/gbdt_row.json" 200000 "$OUT/gbdt_mlflow_1000.json" | sed 's/^/slipway_gbdt_/'

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Resident memory of a process and its children, in MiB.
rss_tree() {
  "$PY" - "$1" <<'PYEOF'
import os, sys
root = int(sys.argv[1])
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except OSError:
            pass
total, todo = 0, [root]
while todo:
    p = todo.pop()
    try:
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    except OSError:
        pass
    todo += kids.get(p, [])
print(f"{total / 1024:.1f}")
PYEOF
}
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    pkill -TERM -P "$server_pid" 2>/dev/null || true
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT
# start LABEL READY_URL CMD...: starts a server, prints its cold start (exec to ready 200).
start() {
  local label=$1 url=$2; shift 2
  local t0; t0=$(date +%s.%N)
  "$@" >"$OUT/$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 20000); do
    if curl -sf -o /dev/null "$url"; then
      echo "${label}_cold_start: $(echo "$(date +%s.%N) - $t0" | bc -l | awk '{printf "%.3f", $1}') s"
      return 0
    fi
    sleep 0.002
  done
  echo "$label did not become ready; log:" >&2
  cat "$OUT/$label.log" >&2
  return 1
}
# load LABEL URL BODY [RATE]
load() {
  "$LOAD" "$2" "$3" application/json "$CONN" "$SECS" ${4:-} | sed "s/^/$1_/"
}
peak() {  # the requests/s line of a load run's output
  grep requests_per_s | awk '{print $2}'
}
wrk_run() {  # LABEL URL BODY
  if command -v wrk >/dev/null; then
    cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$3", "r"); wrk.body = f:read("*a"); f:close()
LUA
    wrk -t2 -c"$CONN" -d"${SECS}s" --latency -s "$OUT/post.lua" "$2" > "$OUT/$1.wrk.txt"
    echo "$1_wrk_requests_per_s: $(awk '/Requests\/sec/ {print $2}' "$OUT/$1.wrk.txt") req/s"
    echo "$1_wrk_p50: $(awk '$1 == "50%" {print $2}' "$OUT/$1.wrk.txt")"
    echo "$1_wrk_p99: $(awk '$1 == "99%" {print $2}' "$OUT/$1.wrk.txt")"
  fi
}

# ---- mlflow models serve
port=$(free_port)
start mlflow "http://127.0.0.1:$port/ping" env PATH="$VENV/bin:$PATH" MLFLOW_TRACKING_URI="file://$OUT/mlruns" \
  "$VENV/bin/mlflow" models serve -m "$OUT/mlflow_model" --env-manager local -h 127.0.0.1 -p "$port"
curl -s -H 'content-type: application/json' --data @"$OUT/mlflow_1000.json" "http://127.0.0.1:$port/invocations" > "$OUT/mlflow_answer.json"
load mlflow_single "http://127.0.0.1:$port/invocations" "$OUT/mlflow_1.json" | tee "$OUT/mlflow_single.txt"
wrk_run mlflow_single "http://127.0.0.1:$port/invocations" "$OUT/mlflow_1.json"
load mlflow_batch1000 "http://127.0.0.1:$port/invocations" "$OUT/mlflow_1000.json" | tee "$OUT/mlflow_batch.txt"
echo "mlflow_rss: $(rss_tree "$server_pid") MiB"
stop_server

# ---- MLServer
port=$(free_port); gport=$(free_port); mport=$(free_port)
cat > "$OUT/mlserver/settings.json" <<JSON
{"http_port": $port, "grpc_port": $gport, "metrics_port": $mport, "host": "127.0.0.1"}
JSON
start mlserver "http://127.0.0.1:$port/v2/health/ready" "$VENV/bin/mlserver" start "$OUT/mlserver"
load mlserver_single "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1.json" | tee "$OUT/mlserver_single.txt"
wrk_run mlserver_single "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1.json"
load mlserver_batch1000 "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1000.json" | tee "$OUT/mlserver_batch.txt"
echo "mlserver_rss: $(rss_tree "$server_pid") MiB"
stop_server

# ---- slipway serve --bundle (the imported model)
port=$(free_port)
start slipway "http://127.0.0.1:$port/ready" "$SLIPWAY" serve --bundle "$OUT/slipway_bundle" \
  --host 127.0.0.1 --port "$port" --prediction-log "$OUT/predictions"
echo "slipway_rss_loaded: $(rss_tree "$server_pid") MiB"
curl -s -H 'content-type: application/json' --data @"$OUT/mlflow_1000.json" "http://127.0.0.1:$port/invocations" > "$OUT/slipway_answer.json"
"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
a = json.load(open(f"{out}/mlflow_answer.json"))["predictions"]
b = json.load(open(f"{out}/slipway_answer.json"))["predictions"]
print(f"mlflow_vs_slipway_invocations_max_abs_diff: {max(abs(x - y) for x, y in zip(a, b)):.3g} probability")
print(f"mlflow_vs_slipway_invocations_rows: {len(a)} vs {len(b)} rows")
PYEOF
load slipway_single_mlflow "http://127.0.0.1:$port/invocations" "$OUT/mlflow_1.json" | tee "$OUT/slipway_single_mlflow.txt"
load slipway_single_v2 "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1.json" | tee "$OUT/slipway_single_v2.txt"
wrk_run slipway_single_v2 "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1.json"
half=$(awk '{printf "%.0f", $1 / 2}' <<<"$(peak < "$OUT/slipway_single_v2.txt")")
load slipway_single_v2_at_half_peak "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1.json" "$half" | tee "$OUT/slipway_half.txt"
load slipway_batch1000_mlflow "http://127.0.0.1:$port/invocations" "$OUT/mlflow_1000.json" | tee "$OUT/slipway_batch.txt"
load slipway_batch1000_v2 "http://127.0.0.1:$port/v2/models/adult/infer" "$OUT/v2_1000.json" | tee "$OUT/slipway_batch_v2.txt"
echo "slipway_rss_after_load: $(rss_tree "$server_pid") MiB"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^slipway_prediction_log_(shed|written)' | sed 's/ /: /; s/$/ rows/'
stop_server

# ---- slipway serve --bundle (Slipway's own GBDT)
port=$(free_port)
start slipway_gbdt "http://127.0.0.1:$port/ready" "$SLIPWAY" serve --bundle "$OUT/slipway_gbdt/model" \
  --host 127.0.0.1 --port "$port" --no-prediction-log
load slipway_gbdt_single "http://127.0.0.1:$port/invocations" "$OUT/gbdt_mlflow_1.json"
load slipway_gbdt_batch1000 "http://127.0.0.1:$port/invocations" "$OUT/gbdt_mlflow_1000.json" | tee "$OUT/slipway_gbdt_batch.txt"
stop_server

# ---- ratios
"$PY" - "$OUT" <<'PYEOF'
import sys
out = sys.argv[1]
def get(f, key):
    for line in open(f"{out}/{f}"):
        if key in line:
            return float(line.split(":")[1].split()[0])
ms = get("mlserver_single.txt", "requests_per_s")
ml = get("mlflow_single.txt", "requests_per_s")
sv = get("slipway_single_v2.txt", "requests_per_s")
sm = get("slipway_single_mlflow.txt", "requests_per_s")
print(f"single_row_throughput_vs_mlserver: {sv / ms:.1f} x")
print(f"single_row_throughput_vs_mlflow: {sm / ml:.1f} x")
mb = get("mlserver_batch.txt", "requests_per_s") * 1000
fb = get("mlflow_batch.txt", "requests_per_s") * 1000
sb = get("slipway_batch_v2.txt", "requests_per_s") * 1000
sbm = get("slipway_batch.txt", "requests_per_s") * 1000
print(f"batch1000_rows_per_s_mlflow: {fb:.0f} rows/s")
print(f"batch1000_rows_per_s_mlserver: {mb:.0f} rows/s")
print(f"batch1000_rows_per_s_slipway_v2: {sb:.0f} rows/s")
print(f"batch1000_rows_per_s_slipway_mlflow: {sbm:.0f} rows/s")
print(f"batch1000_vs_mlserver: {sb / mb:.1f} x")
print(f"batch1000_vs_mlflow: {sbm / fb:.1f} x")
PYEOF

# ---- routing overhead of a deployment (single vs ab vs canary), same model, same run
CARGO_TARGET_DIR="$CARGO_TARGET_DIR" SERVING_CONNECTIONS="$CONN" bench/serving/routing.sh "$OUT"
