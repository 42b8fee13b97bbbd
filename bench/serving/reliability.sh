#!/usr/bin/env bash
# Reliability under load: RELIABILITY_REQUESTS (1,000,000) single-row V2 infer requests over
# RELIABILITY_CONNECTIONS (64) keep-alive connections to `slipway serve --model adult@champion`
# (the store under a fresh SLIPWAY_HOME), with the alias moved from version 1 to version 2 by
# another process half-way. Checks, and prints as `name: value unit` lines:
# - every request answered 200 (none refused, none dropped);
# - both versions served, and the server's request counters add up to what was sent;
# - every prediction logged (exported from the store after a SIGTERM flush) or counted shed.
# Exits non-zero when a check fails.
#
# Usage: bench/serving/reliability.sh [OUT_DIR]   (default bench/out/reliability)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/reliability}"
N="${RELIABILITY_REQUESTS:-1000000}"
CONN="${RELIABILITY_CONNECTIONS:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cargo build --quiet --release --bin slipway --example serving_load
SLIPWAY="$CARGO_TARGET_DIR/release/slipway"
LOAD="$CARGO_TARGET_DIR/release/examples/serving_load"
export SLIPWAY_HOME="$OUT/home"
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"

# Two versions of one model: GBDTs of 100 trees on Adult with different seeds.
for v in 1 2; do
  cat > "$OUT/v$v.yaml" <<YAML
name: adult
data: {train: $(pwd)/examples/adult/adult_train.csv}
target: income
roles: {ignored: [fnlwgt]}
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 100, num_leaves: 31, learning_rate: 0.1}}
cv: {folds: 2}
seed: $v
YAML
  "$SLIPWAY" train -c "$OUT/v$v.yaml" --output "$OUT/bundle$v" --no-track >/dev/null 2>"$OUT/train$v.log"
  "$SLIPWAY" models register --bundle "$OUT/bundle$v/model" --name adult >/dev/null
done
"$SLIPWAY" models alias adult champion 1 >/dev/null

# One Adult test row as a V2 request (one tensor per column).
python3 - "$OUT" <<'PYEOF'
import csv, json, sys
out = sys.argv[1]
row = next(csv.DictReader(open("examples/adult/adult_test.csv")))
row.pop("income"); row.pop("fnlwgt")
inputs = []
for k, v in row.items():
    try:
        inputs.append({"name": k, "shape": [1], "datatype": "FP64", "data": [float(v)]})
    except ValueError:
        inputs.append({"name": k, "shape": [1], "datatype": "BYTES", "data": [v]})
json.dump({"inputs": inputs}, open(f"{out}/v2_1.json", "w"))
PYEOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SLIPWAY" serve --model adult@champion --host 127.0.0.1 --port "$port" --reload-interval 1 \
  >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 3000); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break
  sleep 0.01
done
url="http://127.0.0.1:$port/v2/models/adult/infer"
curl -sf -H 'content-type: application/json' --data @"$OUT/v2_1.json" "$url" >/dev/null

SERVING_LOAD_REQUESTS="$N" "$LOAD" "$url" "$OUT/v2_1.json" application/json "$CONN" 1 \
  >"$OUT/load.txt" &
load=$!
# Half-way (by the server's own request count), another process moves the alias.
count() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^slipway_requests_total\{/ {s += $2} END {printf "%d", s}'
}
while [ "$(count)" -lt $((N / 2)) ] && kill -0 $load 2>/dev/null; do sleep 0.2; done
"$SLIPWAY" models alias adult champion 2 >/dev/null
echo "alias_moved_after: $(count) requests"
wait $load
sed 's/^/load_/' "$OUT/load.txt"
curl -s "http://127.0.0.1:$port/metrics" >"$OUT/metrics.txt"
kill -TERM $server
wait $server || true
trap - EXIT

"$SLIPWAY" predictions export --model adult -o "$OUT/log.parquet" --json >"$OUT/export.json"
python3 - "$OUT" "$N" <<'PYEOF'
import json, re, sys
out, n = sys.argv[1], int(sys.argv[2])
load = dict(l.split(":", 1) for l in open(f"{out}/load.txt"))
ok = int(load["answered_200"].split()[0]); bad = int(load["non_200"].split()[0])
per_version, shed = {}, 0
client_errors = server_errors = 0
for line in open(f"{out}/metrics.txt"):
    m = re.match(r'slipway_requests_total\{model="adult",version="(\d+)",protocol="v2"\} (\d+)', line)
    if m:
        per_version[m[1]] = per_version.get(m[1], 0) + int(m[2])
    if line.startswith("slipway_request_client_errors_total{"):
        client_errors += int(line.split()[-1])
    if line.startswith("slipway_request_server_errors_total{"):
        server_errors += int(line.split()[-1])
    if line.startswith("slipway_prediction_log_shed_rows_total "):
        shed = int(float(line.split()[1]))
export = json.load(open(f"{out}/export.json"))
logged = export["rows"]
# The warm-up request before the load is counted and logged too.
sent = n + 1
for v in sorted(per_version):
    print(f"served_by_version_{v}: {per_version[v]} requests")
print(f"answered_200: {ok} requests")
print(f"non_200_or_dropped: {bad + (n - ok - bad)} requests")
print(f"server_4xx: {client_errors} requests")
print(f"server_5xx: {server_errors} requests")
print(f"logged_rows: {logged} rows")
print(f"shed_rows: {shed} rows")
print(f"unaccounted_rows: {sent - logged - shed} rows")
checks = {
    "every request answered 200": ok == n and bad == 0,
    "both versions served": len(per_version) == 2 and all(c > 0 for c in per_version.values()),
    "the server counted every request": sum(per_version.values()) == sent,
    "no 4xx or 5xx": client_errors == 0 and server_errors == 0,
    "every prediction logged or shed": logged + shed == sent,
}
failed = [k for k, v in checks.items() if not v]
for k in failed:
    print(f"FAILED: {k}", file=sys.stderr)
sys.exit(1 if failed else 0)
PYEOF
