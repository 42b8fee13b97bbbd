#!/usr/bin/env bash
# Real clients against a real `slipway serve --bundle`: the official Triton HTTP client
# (Open Inference Protocol v2), prometheus_client's parser on /metrics, and schemathesis
# over /openapi.json (no 5xx, answers that match the document). Creates its venv (pinned in
# requirements.txt) if missing, trains a small bundle with this build's binary, serves it and
# runs pytest. Exit 0 only when the tests ran and passed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SERVING_CLIENTS_VENV:-$repo/target/serving-clients-venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
    echo "== preparing $venv"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
fi
if [ -z "${SLIPWAY_BIN:-}" ]; then
    (cd "$repo" && cargo build --quiet --bin slipway)
    SLIPWAY_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/slipway"
fi
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp "$repo/examples/breast_cancer/breast_cancer.csv" "$work/"
cat > "$work/pipeline.yaml" <<YAML
name: bc
data: {train: breast_cancer.csv}
target: target
task: classification
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 30, num_leaves: 7}}
cv: {folds: 2}
seed: 1
YAML
SLIPWAY_HOME="$work/home" "$SLIPWAY_BIN" train -c "$work/pipeline.yaml" --output "$work/out" --no-track >/dev/null
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SLIPWAY_BIN" serve --bundle "$work/out/model" --host 127.0.0.1 --port "$port" \
    --prediction-log "$work/log" 2>"$work/serve.log" &
server=$!
for _ in $(seq 500); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break
    sleep 0.02
done
export SLIPWAY_URL="http://127.0.0.1:$port" SLIPWAY_DATA="$work/breast_cancer.csv"
set +e
(cd "$here" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .)
status=$?
set -e
if grep -q "ERROR" "$work/serve.log"; then
    echo "the server logged errors:" >&2
    cat "$work/serve.log" >&2
    status=1
fi
[ "$status" -eq 5 ] && { echo "error: pytest collected no tests" >&2; exit 1; }
exit "$status"
