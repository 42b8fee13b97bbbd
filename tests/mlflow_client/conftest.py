"""Starts the real `slipway serve` binary on a free loopback port with a temporary home.

With SLIPWAY_MLFLOW_BACKEND=postgres (run.sh's second pass), the server keeps its metadata in a
fresh database on the PostgreSQL server at SLIPWAY_TEST_POSTGRES_URL instead of SQLite.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

# Fail fast instead of retrying a 5xx seven times with backoff.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")

REPO = Path(__file__).resolve().parents[2]


def _binary() -> str:
    explicit = os.environ.get("SLIPWAY_BIN")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "debug" / "slipway")


def _start(home: Path, extra_args=(), extra_env=None):
    """Starts `slipway serve` on a free port; returns (process, url, log file, log path)."""
    log_path = home / "server.log"
    log = open(log_path, "w")
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.Popen(
        [_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--home", str(home / "data"),
         *extra_args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    url = None
    deadline = time.time() + 30
    while time.time() < deadline and url is None:
        if proc.poll() is not None:
            raise RuntimeError(f"slipway serve exited early:\n{log_path.read_text()}")
        m = re.search(r"http://127\.0\.0\.1:(\d+)", log_path.read_text())
        if m:
            url = f"http://127.0.0.1:{m.group(1)}"
        else:
            time.sleep(0.05)
    if url is None:
        proc.kill()
        raise RuntimeError(f"slipway serve did not start:\n{log_path.read_text()}")
    with urllib.request.urlopen(url + "/health", timeout=10) as r:
        assert r.read() == b"OK"
    return proc, url, log, log_path


def _stop(proc, log, log_path):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    text = log_path.read_text()
    # An internal error anywhere in the session is a bug, even if a test tolerated it.
    assert "ERROR" not in text, text


def _postgres_tool(name):
    """A PostgreSQL client program: the newest server's own, else the one on PATH."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p)],
    )
    tool = found[-1] if found else shutil.which(name)
    if not tool:
        raise RuntimeError(f"{name} (a PostgreSQL client program) is not installed")
    return tool


def _postgres_database():
    """A fresh database on the SLIPWAY_TEST_POSTGRES_URL server: (its URL, a function that
    drops it)."""
    server = os.environ.get("SLIPWAY_TEST_POSTGRES_URL")
    if not server:
        raise RuntimeError("SLIPWAY_MLFLOW_BACKEND=postgres needs SLIPWAY_TEST_POSTGRES_URL")
    name = f"slipway_mlflow_{os.getpid()}_{int(time.time() * 1000)}"
    maintenance = f"--maintenance-db={server}"
    subprocess.run([_postgres_tool("createdb"), maintenance, name], check=True)
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(server)._replace(path="/" + name))

    def drop():
        subprocess.run([_postgres_tool("dropdb"), maintenance, "--force", name], check=True)

    return url, drop


@pytest.fixture(scope="session")
def slipway_server(tmp_path_factory):
    """The base URL of a running server; the process is stopped at the end of the session."""
    args, drop = (), None
    if os.environ.get("SLIPWAY_MLFLOW_BACKEND", "sqlite") == "postgres":
        database, drop = _postgres_database()
        args = ("--backend-store-uri", database)
    proc, url, log, log_path = _start(tmp_path_factory.mktemp("slipway-home"), args)
    try:
        yield url
    finally:
        _stop(proc, log, log_path)
        if drop:
            drop()


POLICY = """\
metrics: {holdout.auc: {min: 0.9}}
required_tags: {fairness.checked: "true"}
protected_aliases: [champion]
"""


@pytest.fixture(scope="session")
def slipway_policy_server(tmp_path_factory):
    """The base URL of a server started with `--policy` protecting `champion` (holdout.auc
    at least 0.9 and the tag fairness.checked=true)."""
    home = tmp_path_factory.mktemp("slipway-policy-home")
    policy = home / "policy.yaml"
    policy.write_text(POLICY)
    args, drop = ["--policy", str(policy)], None
    if os.environ.get("SLIPWAY_MLFLOW_BACKEND", "sqlite") == "postgres":
        database, drop = _postgres_database()
        args += ["--backend-store-uri", database]
    proc, url, log, log_path = _start(home, args)
    try:
        yield url
    finally:
        _stop(proc, log, log_path)
        if drop:
            drop()


def s3_endpoint():
    """The S3-compatible test server (moto), or a skip; under CI a missing one fails."""
    endpoint = os.environ.get("SLIPWAY_S3_TEST_ENDPOINT")
    if not endpoint:
        if os.environ.get("CI"):
            pytest.fail("CI is set but SLIPWAY_S3_TEST_ENDPOINT is not: .ci/run must start moto")
        pytest.skip("set SLIPWAY_S3_TEST_ENDPOINT to an S3-compatible server to run S3 tests")
    return endpoint.rstrip("/")


@pytest.fixture(scope="session")
def slipway_s3_server(tmp_path_factory):
    """(url, endpoint, bucket, prefix) of a server whose artifacts live in S3 (moto)."""
    endpoint = s3_endpoint()
    bucket = f"slipway-mlflow-{int(time.time() * 1000)}"
    req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    prefix = "team/mlflow"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    args = ["--artifacts-destination", f"s3://{bucket}/{prefix}", "--s3-endpoint-url", endpoint]
    proc, url, log, log_path = _start(tmp_path_factory.mktemp("slipway-s3-home"), args, env)
    try:
        yield url, endpoint, bucket, prefix
    finally:
        _stop(proc, log, log_path)


@pytest.fixture()
def client(slipway_server, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", slipway_server)
    mlflow.set_tracking_uri(slipway_server)
    return MlflowClient(tracking_uri=slipway_server)
