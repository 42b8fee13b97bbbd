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

run_pytest() {
    local status
    set +e
    (cd "$here" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
    status=$?
    set -e
    if [ "$status" -eq 5 ]; then
        echo "error: pytest collected no tests" >&2
        return 1
    fi
    return "$status"
}

echo "== mlflow client tests (metadata in SQLite)"
started=$SECONDS
run_pytest "$@" .
echo "== SQLite pass: $((SECONDS - started)) s"

# The tracking and registry tests again, with the server's metadata in PostgreSQL.
if [ -n "${SLIPWAY_TEST_POSTGRES_URL:-}" ]; then
    echo "== mlflow client tests (metadata in PostgreSQL)"
    started=$SECONDS
    SLIPWAY_MLFLOW_BACKEND=postgres run_pytest "$@" test_tracking.py test_registry.py
    echo "== PostgreSQL pass: $((SECONDS - started)) s"
elif [ "${CI:-}" = "true" ]; then
    echo "error: CI=true but SLIPWAY_TEST_POSTGRES_URL is unset: source tests/postgres/start.sh" >&2
    exit 1
else
    echo "skipping the PostgreSQL pass: SLIPWAY_TEST_POSTGRES_URL is unset"
fi
