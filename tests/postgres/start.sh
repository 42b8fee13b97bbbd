#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on a free loopback port for the PostgreSQL store tests.
# Usage: source tests/postgres/start.sh   → exports SLIPWAY_TEST_POSTGRES_URL and POSTGRES_PID
# and defines slipway_postgres_stop (stops the server and removes its data directory).
# Installs Debian's `postgresql` package when no server binaries are found (root or sudo).
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
pg_bin="${POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ ! -x "$pg_bin/initdb" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update && apt-get install -y --no-install-recommends postgresql
    else
        sudo apt-get update && sudo apt-get install -y --no-install-recommends postgresql
    fi
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/slipway-postgres.XXXXXX")"
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    chown postgres "$pg_dir"
    chmod 700 "$pg_dir"
    pg_as() { runuser -u postgres -- "$@"; }
else
    pg_as() { "$@"; }
fi
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_as "$pg_bin/initdb" --pgdata "$pg_dir/data" --username slipway --auth trust \
    --encoding UTF8 --locale C.UTF-8 > "$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log"; false; }
# fsync off: a test database is thrown away, and durability only costs time here.
pg_as "$pg_bin/pg_ctl" --pgdata "$pg_dir/data" --log "$pg_dir/server.log" --wait \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir -c fsync=off -c max_connections=200" \
    start > /dev/null || { cat "$pg_dir/server.log"; false; }
pg_as "$pg_bin/createdb" --host 127.0.0.1 --port "$pg_port" --username slipway slipway
export POSTGRES_PID="$(head -n 1 "$pg_dir/data/postmaster.pid")"
export SLIPWAY_TEST_POSTGRES_URL="postgresql://slipway@127.0.0.1:$pg_port/slipway"
export SLIPWAY_POSTGRES_DIR="$pg_dir"
slipway_postgres_stop() {
    pg_as "$pg_bin/pg_ctl" --pgdata "$SLIPWAY_POSTGRES_DIR/data" --mode fast stop > /dev/null 2>&1 || true
    rm -rf "$SLIPWAY_POSTGRES_DIR"
}
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') at $SLIPWAY_TEST_POSTGRES_URL (pid $POSTGRES_PID, data $pg_dir)"
