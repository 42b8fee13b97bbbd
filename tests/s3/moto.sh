#!/usr/bin/env bash
# Starts moto (an S3-compatible server) on a free loopback port for the S3 tests.
# Usage: source tests/s3/moto.sh   → exports SLIPWAY_S3_TEST_ENDPOINT and MOTO_PID.
# Creates its venv (pinned in tests/s3/requirements.txt) if missing.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$repo/target"
moto_venv="${MOTO_VENV:-$repo/target/moto-venv}"
if ! "$moto_venv/bin/python" -c "import moto.server" 2>/dev/null; then
    python3 -m venv "$moto_venv"
    "$moto_venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/tests/s3/requirements.txt"
fi
moto_port="$("$moto_venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > "$repo/target/moto.log" 2>&1 &
export MOTO_PID=$!
export SLIPWAY_S3_TEST_ENDPOINT="http://127.0.0.1:$moto_port"
"$moto_venv/bin/python" - "$SLIPWAY_S3_TEST_ENDPOINT" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(sys.argv[1] + "/", timeout=1)
        sys.exit(0)
    except Exception as e:
        if getattr(e, "code", None):
            sys.exit(0)
        time.sleep(0.1)
sys.exit("moto did not start: see target/moto.log")
PY
echo "moto S3 server at $SLIPWAY_S3_TEST_ENDPOINT (pid $MOTO_PID)"
