#!/usr/bin/env bash
# Routing overhead: the server-side time of a request when the served model has a `single`
# deployment (no routing: the champion answers), an `ab` deployment (the key read from the
# row's field and hashed with MD5 on every request) and a `canary` deployment (every other
# request to the challenger), same server, same model (the challenger is the same bundle
# registered as version 2), same load, interleaved in rounds.
#
# Server-side time is the server's own histogram (`slipway_request_duration_seconds_sum` /
# `_count` on /metrics, summed over the model's versions), which counts from before the
# route is chosen to the scored answer; the difference from `single` is the routing cost.
# The prediction log is off so that its writer does not add noise.
#
# Usage: bench/serving/routing.sh OUT_DIR   (OUT_DIR from run.sh: slipway_bundle/, row.json)
#   ROUTING_SECONDS (5) per load run; ROUTING_ROUNDS (3); SERVING_CONNECTIONS (32);
#   SLIPWAY, SERVING_LOAD, ROUTING_COST: other builds of the binary, the load generator (when the load
#   generator is not built, Python threads send the requests)
# Prints `name: value unit` lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="$(cd "$1" && pwd)"
SECS="${ROUTING_SECONDS:-5}"
ROUNDS="${ROUTING_ROUNDS:-3}"
CONN="${SERVING_CONNECTIONS:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
SLIPWAY="${SLIPWAY:-$CARGO_TARGET_DIR/release/slipway}"
LOAD="${SERVING_LOAD:-$CARGO_TARGET_DIR/release/examples/serving_load}"
HOME_DIR="$OUT/routing_home"
rm -rf "$HOME_DIR"
export SLIPWAY_HOME="$HOME_DIR"
"$SLIPWAY" models register --bundle "$OUT/slipway_bundle" --name adult >/dev/null
"$SLIPWAY" models register --bundle "$OUT/slipway_bundle" --name adult >/dev/null
"$SLIPWAY" models alias adult champion 1 >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$port"
"$SLIPWAY" serve --model adult@champion --host 127.0.0.1 --port "$port" --no-prediction-log \
  >"$OUT/routing_server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 3000); do
  curl -sf -o /dev/null "$URL/ready" && break
  sleep 0.01
done
curl -sf -o /dev/null "$URL/ready" || { cat "$OUT/routing_server.log" >&2; exit 1; }

# The server's total time and count of answered requests for model "adult".
server_time() {
  curl -s "$URL/metrics" | python3 -c '
import sys
total = count = 0.0
for line in sys.stdin:
    if line.startswith("slipway_request_duration_seconds_sum{") and "model=\"adult\"" in line:
        total += float(line.split()[-1])
    elif line.startswith("slipway_request_duration_seconds_count{") and "model=\"adult\"" in line:
        count += float(line.split()[-1])
print(f"{total} {count}")'
}
# Without the load generator built: keep-alive connections from Python threads (the figure
# is the server's own time, so the client's speed matters little).
python_load() {  # PORT BODY_FILE
  python3 - "$1" "$2" "$CONN" "$SECS" <<'PYEOF'
import http.client, sys, threading, time
port, body, conns, secs = int(sys.argv[1]), open(sys.argv[2], "rb").read(), int(sys.argv[3]), float(sys.argv[4])
end = time.time() + secs
done = [0] * conns
def worker(i):
    c = http.client.HTTPConnection("127.0.0.1", port)
    while time.time() < end:
        c.request("POST", "/predict", body, {"content-type": "application/json"})
        r = c.getresponse(); r.read()
        done[i] += r.status == 200
ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"answered_200: {sum(done)} requests")
PYEOF
}
n=0
run() {  # STRATEGY EXTRA_FLAGS...: one deployment, one load run; prints "STRATEGY US_PER_REQUEST"
  local strategy=$1; shift
  n=$((n + 1))
  "$SLIPWAY" deploy create "bench-$strategy-$n" --server "$URL" --model adult \
    --strategy "$strategy" "$@" >/dev/null
  read -r t0 c0 < <(server_time)
  if [ -x "$LOAD" ]; then
    "$LOAD" "$URL/predict" "$OUT/row.json" application/json "$CONN" "$SECS" >"$OUT/routing_load_$n.txt"
  else
    python_load "$port" "$OUT/row.json" >"$OUT/routing_load_$n.txt"
  fi
  read -r t1 c1 < <(server_time)
  "$SLIPWAY" deploy end "bench-$strategy-$n" --server "$URL" >/dev/null
  python3 -c "print('$strategy', ($t1 - $t0) / ($c1 - $c0) * 1e6, $c1 - $c0)"
}
# The server's own count of routed requests and the time it spent routing them.
routing_time() {
  curl -s "$URL/metrics" | awk '/^slipway_routed_requests_total /{n=$2} /^slipway_routing_seconds_total /{t=$2} END{print t, n}'
}
: >"$OUT/routing_runs.txt"
: >"$OUT/routing_in_server.txt"
for _ in $(seq "$ROUNDS"); do
  run single >>"$OUT/routing_runs.txt"
  for s in ab canary; do
    read -r r0 n0 < <(routing_time)
    if [ "$s" = ab ]; then
      run ab --challenger 2 --split 50 --key-field age >>"$OUT/routing_runs.txt"
    else
      run canary --challenger 2 --initial 50 --max 50 --evaluation-seconds 3600 >>"$OUT/routing_runs.txt"
    fi
    read -r r1 n1 < <(routing_time)
    python3 -c "print('$s', ($r1 - $r0) / max($n1 - $n0, 1) * 1e6, $n1 - $n0)" >>"$OUT/routing_in_server.txt"
  done
done
# Measured inside the running server, same requests: the time between the request being
# read and its arm chosen, plus counting its answer for the deployment's analysis.
python3 - "$OUT/routing_in_server.txt" <<'PYEOF'
import sys
runs = {}
for line in open(sys.argv[1]):
    s, us, n = line.split()
    runs.setdefault(s, []).append((float(us), int(float(n))))
for s, v in runs.items():
    n = sum(k for _, k in v)
    mean = sum(u * k for u, k in v) / max(n, 1)
    print(f"routing_in_server_{s}: {mean:.3f} us (mean over {n} routed requests; per run "
          + ", ".join(f"{u:.3f}" for u, _ in v) + ")")
PYEOF
python3 - "$OUT/routing_runs.txt" <<'PYEOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    s, us, n = line.split()
    runs.setdefault(s, []).append((float(us), float(n)))
med = {s: statistics.median(u for u, _ in v) for s, v in runs.items()}
for s, v in runs.items():
    print(f"routing_server_time_{s}: {med[s]:.2f} us (median of {len(v)} runs: "
          + ", ".join(f"{u:.2f}" for u, _ in v) + f"; {sum(n for _, n in v):.0f} requests)")
for s in ("ab", "canary"):
    print(f"routing_overhead_{s}: {med[s] - med['single']:.2f} us")
PYEOF
# The routing decision alone, in process (no HTTP, fastest of 5 runs): what the server adds
# per request before scoring, free of the load generator's and the scheduler's noise.
COST="${ROUTING_COST:-$CARGO_TARGET_DIR/release/examples/routing_cost}"
if [ -x "$COST" ]; then
  "$COST"
else
  echo "# routing_cost not built (cargo build --release -p slipway-rollout --example routing_cost)"
fi
