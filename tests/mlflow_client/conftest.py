"""Starts the real `slipway serve` binary on a free loopback port with a temporary home."""

import os
import re
import signal
import subprocess
import time
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


@pytest.fixture(scope="session")
def slipway_server(tmp_path_factory):
    """The base URL of a running server; the process is stopped at the end of the session."""
    home = tmp_path_factory.mktemp("slipway-home")
    log_path = home / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--home", str(home / "data")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
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
    try:
        yield url
    finally:
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


@pytest.fixture()
def client(slipway_server, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", slipway_server)
    mlflow.set_tracking_uri(slipway_server)
    return MlflowClient(tracking_uri=slipway_server)
