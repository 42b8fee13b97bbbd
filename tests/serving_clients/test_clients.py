"""Real clients against `slipway serve --bundle` (see run.sh)."""

import csv
import os
import subprocess
import sys

import numpy as np
import requests
import tritonclient.http as httpclient
from prometheus_client.parser import text_string_to_metric_families

URL = os.environ["SLIPWAY_URL"]
HOST = URL.removeprefix("http://")


def rows(n):
    with open(os.environ["SLIPWAY_DATA"]) as f:
        reader = csv.DictReader(f)
        out = []
        for r in reader:
            r.pop("target")
            out.append({k: float(v) for k, v in r.items()})
            if len(out) == n:
                return out
    return out


def test_tritonclient_infers_what_predict_answers():
    client = httpclient.InferenceServerClient(HOST)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("bc")
    meta = client.get_model_metadata("bc")
    names = [i["name"] for i in meta["inputs"]]
    assert "mean_radius" in names
    batch = rows(7)
    inputs = []
    for name in names:
        t = httpclient.InferInput(name, [len(batch)], "FP64")
        t.set_data_from_numpy(np.array([r[name] for r in batch], dtype=np.float64), binary_data=False)
        inputs.append(t)
    outputs = [
        httpclient.InferRequestedOutput("predict", binary_data=False),
        httpclient.InferRequestedOutput("predict_proba", binary_data=False),
    ]
    result = client.infer("bc", inputs, outputs=outputs, request_id="req-1")
    proba = result.as_numpy("predict_proba")
    labels = result.as_numpy("predict")
    assert proba.shape == (7, 2)
    assert labels.shape == (7,)
    plain = requests.post(f"{URL}/predict", json={"rows": batch}).json()["predictions"]
    for i, p in enumerate(plain):
        assert proba[i][1] == p["probabilities"]["1"]
        assert int(labels[i]) == p["prediction"]
    # A wrong model name is an error the client raises, not a crash.
    try:
        client.infer("nope", inputs)
        raise AssertionError("infer on an unknown model succeeded")
    except Exception as e:  # tritonclient raises InferenceServerException
        assert "nope" in str(e)


def test_metrics_parse_with_prometheus_client():
    requests.post(f"{URL}/predict", json=rows(1)[0]).raise_for_status()
    bad = requests.post(f"{URL}/predict", json={"mean_radius": "wide"})
    assert bad.status_code == 422
    text = requests.get(f"{URL}/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "slipway_requests" in families
    assert "slipway_request_duration_seconds" in families
    assert "slipway_prediction_log_queue_rows" in families
    errors = [s for s in families["slipway_request_client_errors"].samples if s.labels.get("protocol") == "plain"]
    assert errors and errors[0].value >= 1
    buckets = [
        s
        for s in families["slipway_request_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["protocol"] == "plain"
    ]
    values = [s.value for s in buckets]
    assert values == sorted(values)
    assert buckets[-1].labels["le"] == "+Inf"


def test_schemathesis_finds_no_server_error_and_no_schema_violation():
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{URL}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        os.environ.get("SCHEMATHESIS_EXAMPLES", "40"),
        "--seed",
        "1",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    print(r.stdout[-6000:])
    print(r.stderr[-3000:])
    assert r.returncode == 0
