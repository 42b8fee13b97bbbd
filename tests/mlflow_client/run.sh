#!/usr/bin/env bash
# Runs the official mlflow client against a real `slipway serve`.
# Creates its venv (from PyPI, pinned in requirements.txt) if missing, builds the binary,
# runs pytest. Exit 0 only when tests ran and passed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${MLFLOW_CLIENT_VENV:-$repo/target/mlflow-client-venv}"
python="${PYTHON:-python3}"

# A venv made from an older requirements.txt is brought up to date (the copy in the venv
# records what it was installed from).
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
    echo "== preparing $venv"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
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
