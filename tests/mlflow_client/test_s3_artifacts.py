"""The official mlflow client logging and downloading artifacts through `slipway serve`
whose artifact store is an S3 bucket (moto in server mode)."""

import urllib.request
import uuid
import xml.etree.ElementTree as ET

import mlflow
from mlflow.tracking import MlflowClient


def _keys(endpoint, bucket, prefix):
    url = f"{endpoint}/{bucket}?list-type=2&prefix={prefix}"
    with urllib.request.urlopen(url, timeout=10) as r:
        root = ET.fromstring(r.read())
    return sorted(el.text for el in root.iter() if el.tag.endswith("Key"))


def test_artifacts_round_trip_through_s3(slipway_s3_server, tmp_path, monkeypatch):
    url, endpoint, bucket, prefix = slipway_s3_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    mlflow.set_tracking_uri(url)
    client = MlflowClient(tracking_uri=url)
    mlflow.set_experiment(f"s3-{uuid.uuid4().hex[:8]}")

    src = tmp_path / "hello.txt"
    src.write_text("hello from s3\n")
    blob = bytes(range(256)) * 4096  # 1 MiB of every byte value
    (tmp_path / "model.bin").write_bytes(blob)
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        exp_id = run.info.experiment_id
        mlflow.log_artifact(str(src), artifact_path="notes")
        mlflow.log_artifact(str(tmp_path / "model.bin"), artifact_path="model")
        mlflow.log_text("inline", "inline.txt")

    names = sorted(f.path for f in client.list_artifacts(run_id))
    assert names == ["inline.txt", "model", "notes"]
    model = client.list_artifacts(run_id, "model")
    assert [(f.path, f.is_dir, f.file_size) for f in model] == [
        ("model/model.bin", False, len(blob))
    ]

    dst = tmp_path / "download"
    whole = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(dst))
    assert open(f"{whole}/notes/hello.txt").read() == "hello from s3\n"
    assert open(f"{whole}/model/model.bin", "rb").read() == blob
    assert open(f"{whole}/inline.txt").read() == "inline"

    # The bytes really are in the bucket, under the configured prefix.
    base = f"{prefix}/{exp_id}/{run_id}/artifacts"
    assert _keys(endpoint, bucket, prefix) == [
        f"{base}/inline.txt",
        f"{base}/model/model.bin",
        f"{base}/notes/hello.txt",
    ]
