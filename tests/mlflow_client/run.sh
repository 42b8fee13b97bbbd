#!/usr/bin/env bash
# Runs the official mlflow client against a real `slipway serve`.
# Creates its venv (from PyPI, pinned in requirements.txt) if missing, builds the binary,
# runs pytest. Exit 0 only when tests ran and passed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${MLFLOW_CLIENT_VENV:-$repo/target/mlflow-client-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mlflow, pytest" 2>/dev/null; then
    echo "== creating $venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

if [ -z "${SLIPWAY_BIN:-}" ]; then
    echo "== building slipway"
    (cd "$repo" && cargo build --quiet -p slipway)
    target="${CARGO_TARGET_DIR:-$repo/target}"
    export SLIPWAY_BIN="$target/debug/slipway"
fi

echo "== mlflow client tests"
set +e
(cd "$here" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .)
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
