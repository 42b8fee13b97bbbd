#!/usr/bin/env bash
# A/B test and canary walk-through against a running `slipway serve` (the README's
# "Walk-through: an A/B test and a canary" shows one run of it, output and all).
#
# 1. Train three small models on Adult (2,000 rows): logistic regression (the champion),
#    GBDT (the challenger), and a logistic regression that keeps `fnlwgt` as a feature (the
#    traffic lacks it: a faulty challenger). Register them as versions 1, 2, 3 of `adult`.
# 2. Serve `adult@champion`; create an A/B test keyed by the `x-user-id` header; send 3,000
#    simulated users (traffic.py) with their conversions as feedback; read the report.
# 3. A canary of version 2 with 4-second periods: it steps 20 → 40 → 60 % and is promoted.
# 4. A canary of version 3: its requests fail, and it is rolled back after one period.
#
# Usage: examples/rollout/walkthrough.sh [WORK_DIR]   (default /tmp/slipway-rollout)
#   SLIPWAY: the binary (default: slipway on PATH); PORT (5077)
set -euo pipefail
cd "$(dirname "$0")/../.."
SLIPWAY="${SLIPWAY:-slipway}"
WORK="${1:-/tmp/slipway-rollout}"
PORT="${PORT:-5077}"
S="http://127.0.0.1:$PORT"
rm -rf "$WORK" && mkdir -p "$WORK"
export SLIPWAY_HOME="$WORK/home"
# Prints a command as typed (arguments with spaces quoted, the work folder as $WORK), runs it.
show() {
  local line="\$"
  for a in "$@"; do
    case $a in *" "*) line+=" \"$a\"" ;; *) line+=" $a" ;; esac
  done
  echo "$line" | sed "s|$WORK|\$WORK|g; s|$SLIPWAY |slipway |"
  "$@"
}

head -2001 examples/adult/adult_train.csv > "$WORK/train.csv"
model() {  # NAME TYPE PARAMS IGNORED
  cat > "$WORK/$1.yaml" <<YAML
name: $1
data: {train: $WORK/train.csv}
target: income
roles: {ignored: [$4]}
models:
  - {name: $1, type: $2, params: $3}
cv: {folds: 3}
seed: 1
YAML
  "$SLIPWAY" train -c "$WORK/$1.yaml" --output "$WORK/$1" --no-track >/dev/null 2>&1
}
model champion logistic_regression "{c: 1.0}" fnlwgt
model challenger gbdt "{n_estimators: 50, num_leaves: 15}" fnlwgt
model faulty logistic_regression "{c: 1.0}" education_num
for m in champion challenger faulty; do
  show "$SLIPWAY" models register --bundle "$WORK/$m/model" --name adult
done
show "$SLIPWAY" models alias adult champion 1

"$SLIPWAY" serve --model adult@champion --port "$PORT" > "$WORK/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf -o /dev/null "$S/ready" && break; sleep 0.1; done
echo "\$ slipway serve --model adult@champion --port $PORT &"

echo
echo "## A/B test"
show "$SLIPWAY" deploy create adult-ab --server "$S" --model adult --strategy ab \
  --challenger 2 --split 50 --key-header x-user-id
echo "\$ curl -s $S/predict -H 'content-type: application/json' -H 'x-user-id: user-42' -d '{\"age\": 39, ...}'"
python3 -c '
import csv, json, sys
r = next(csv.DictReader(open("examples/adult/adult_test.csv")))
print(json.dumps({k: (int(v) if v.isdigit() else v) for k, v in r.items() if k not in ("income", "fnlwgt")}))' \
  > "$WORK/row.json"
curl -s "$S/predict" -H 'content-type: application/json' -H 'x-user-id: user-42' -d @"$WORK/row.json"
echo
show python3 examples/rollout/traffic.py "$S" --users 3000 --feedback
show "$SLIPWAY" deploy report adult-ab --server "$S" --segment sex --out "$WORK/ab-report"
show "$SLIPWAY" deploy report adult-ab --server "$S" --covariate hours_per_week
show "$SLIPWAY" deploy end adult-ab --server "$S" --reason "readout done"

echo
echo "## Canary: a healthy challenger"
show "$SLIPWAY" deploy create adult-canary --server "$S" --model adult --strategy canary \
  --challenger 2 --initial 20 --step 20 --max 60 --evaluation-seconds 4 --min-requests 20
python3 examples/rollout/traffic.py "$S" --users 500 --offset 5000 --seconds 30 > "$WORK/canary-traffic.txt" &
traffic=$!
for _ in $(seq 60); do
  sleep 1
  status=$("$SLIPWAY" deploy status adult-canary --server "$S" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["deployment"]["status"])')
  [ "$status" = running ] || break
done
show "$SLIPWAY" deploy status adult-canary --server "$S"
wait $traffic
echo "\$ python3 examples/rollout/traffic.py $S --users 500 --offset 5000 --seconds 30   # in the background"
cat "$WORK/canary-traffic.txt"
show "$SLIPWAY" models show adult

echo
echo "## Canary: a faulty challenger"
show "$SLIPWAY" deploy create adult-faulty --server "$S" --model adult --strategy canary \
  --challenger 3 --initial 20 --evaluation-seconds 4 --min-requests 20
python3 examples/rollout/traffic.py "$S" --users 500 --offset 6000 --seconds 12 > "$WORK/faulty-traffic.txt" &
traffic=$!
for _ in $(seq 30); do
  sleep 1
  status=$("$SLIPWAY" deploy status adult-faulty --server "$S" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["deployment"]["status"])')
  [ "$status" = running ] || break
done
show "$SLIPWAY" deploy status adult-faulty --server "$S"
wait $traffic
cat "$WORK/faulty-traffic.txt"
show "$SLIPWAY" deploy list --server "$S"
