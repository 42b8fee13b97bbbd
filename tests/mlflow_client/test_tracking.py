"""The official mlflow client, unchanged, against `slipway serve`."""

import time
import uuid

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_experiments(client):
    name = unique("exp")
    exp_id = client.create_experiment(name, tags={"team": "slipway"})
    exp = client.get_experiment(exp_id)
    assert exp.name == name
    assert exp.tags == {"team": "slipway"}
    assert exp.artifact_location == f"mlflow-artifacts:/{exp_id}"
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment_by_name(unique("missing")) is None

    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.set_experiment_tag(exp_id, "stage", "e2e")
    client.rename_experiment(exp_id, name + "-renamed")
    found = client.search_experiments(filter_string=f"name LIKE '{name}%'", order_by=["name DESC"])
    assert [e.experiment_id for e in found] == [exp_id]
    assert found[0].tags == {"team": "slipway", "stage": "e2e"}

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert exp_id in [e.experiment_id for e in deleted]
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_run_logging_search_history_and_artifacts(client, tmp_path):
    exp_name = unique("runs")
    mlflow.set_experiment(exp_name)
    exp_id = client.get_experiment_by_name(exp_name).experiment_id

    with mlflow.start_run(run_name="main") as run:
        run_id = run.info.run_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        for step in range(10):
            mlflow.log_metric("loss", 1.0 - step * 0.1, step=step)
        mlflow.set_tag("phase", "train")
        mlflow.set_tags({"owner": "e2e", "to_delete": "x"})
        client.delete_tag(run_id, "to_delete")
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric("acc", 0.5 + i / 10, now + i, i) for i in range(4)],
            params=[Param("batch_size", "32")],
            tags=[RunTag("batched", "yes")],
        )
        # Re-logging a param with the same value is fine; a new value is refused.
        mlflow.log_param("lr", 0.01)
        with pytest.raises(MlflowException) as err:
            client.log_param(run_id, "lr", "0.5")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"

        src = tmp_path / "hello.txt"
        src.write_text("hello from the mlflow client\n")
        mlflow.log_artifact(str(src), artifact_path="notes")
        mlflow.log_text("inline text", "inline.txt")

    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "main"
    assert got.info.end_time is not None
    assert got.data.params == {
        "lr": "0.01",
        "layers": "3",
        "optimizer": "adam",
        "batch_size": "32",
    }
    assert got.data.metrics["loss"] == pytest.approx(0.1)
    assert got.data.metrics["acc"] == pytest.approx(0.8)
    assert got.data.tags["phase"] == "train"
    assert got.data.tags["batched"] == "yes"
    assert "to_delete" not in got.data.tags
    assert got.data.tags["mlflow.runName"] == "main"

    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(10))
    assert [round(m.value, 6) for m in history] == [round(1.0 - s * 0.1, 6) for s in range(10)]

    # Artifacts: listing and download round trip through the proxied artifact API.
    names = sorted(f.path for f in client.list_artifacts(run_id))
    assert names == ["inline.txt", "notes"]
    notes = client.list_artifacts(run_id, "notes")
    assert [(f.path, f.is_dir, f.file_size) for f in notes] == [("notes/hello.txt", False, 29)]
    dst = tmp_path / "download"
    dst.mkdir()
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="notes/hello.txt", dst_path=str(dst)
    )
    assert open(local).read() == "hello from the mlflow client\n"
    whole = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "all"))
    assert open(f"{whole}/inline.txt").read() == "inline text"

    # More runs for search.
    for i, acc in enumerate([0.1, 0.3, 0.9]):
        with mlflow.start_run(run_name=f"s{i}"):
            mlflow.log_metric("acc", acc)
            mlflow.log_param("grp", "odd" if i % 2 else "even")
    with mlflow.start_run(run_name="no-acc"):
        mlflow.log_param("grp", "none")

    runs = client.search_runs(
        [exp_id], filter_string="metrics.acc > 0.25", order_by=["metrics.acc DESC"]
    )
    assert [r.info.run_name for r in runs] == ["s2", "main", "s1"]
    runs = client.search_runs(
        [exp_id], filter_string="params.grp = 'even' and attributes.status = 'FINISHED'"
    )
    assert [r.info.run_name for r in runs] == ["s2", "s0"]
    runs = client.search_runs([exp_id], order_by=["metrics.acc ASC"])
    assert runs[-1].info.run_name == "no-acc", "runs without the key sort last"
    page = client.search_runs([exp_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_runs([exp_id], max_results=10, page_token=page.token)
    assert len(rest) == 3
    with pytest.raises(MlflowException) as err:
        client.search_runs([exp_id], filter_string="metrics.acc >> 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    # Delete and restore a run; a deleted run refuses writes.
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert run_id not in [r.info.run_id for r in client.search_runs([exp_id])]
    deleted = client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run_id]
    with pytest.raises(MlflowException) as err:
        client.log_metric(run_id, "late", 1.0)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.log_metric(run_id, "late", 1.0)


def test_missing_things_are_404(client):
    with pytest.raises(MlflowException) as err:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.get_experiment("98765432109")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_nan_and_infinite_metrics(client):
    exp_id = client.create_experiment(unique("nan"))
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "m", float("nan"), step=0)
    client.log_metric(run.info.run_id, "m", float("inf"), step=1)
    history = client.get_metric_history(run.info.run_id, "m")
    values = [m.value for m in history]
    assert values[0] != values[0]  # NaN
    assert values[1] == float("inf")


def test_dataset_inputs(client):
    """`mlflow.log_input` (what autologging calls for each fit) and the inputs read back."""
    import pandas as pd

    exp_name = unique("inputs")
    mlflow.set_experiment(exp_name)
    exp_id = client.get_experiment_by_name(exp_name).experiment_id
    df = pd.DataFrame({"age": [39, 50, 38], "hours": [40, 13, 40], "label": [0, 1, 0]})
    train = mlflow.data.from_pandas(df, name="adult-train", targets="label")
    test = mlflow.data.from_pandas(df.head(2), name="adult-test", targets="label")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training")
        mlflow.log_input(test, context="testing", tags={"split": "holdout"})
        mlflow.log_input(train, context="ignored")  # the same input again: kept as first logged
    with mlflow.start_run() as other:
        mlflow.log_input(train, context="evaluation")

    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest) for i in inputs] == [
        ("adult-train", train.digest),
        ("adult-test", test.digest),
    ]
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}
    assert {t.key: t.value for t in inputs[1].tags} == {
        "mlflow.data.context": "testing",
        "split": "holdout",
    }
    assert inputs[0].dataset.source_type == train.source._get_source_type()
    assert inputs[0].dataset.schema == train._to_mlflow_entity().schema
    assert inputs[0].dataset.profile == train._to_mlflow_entity().profile

    found = client.search_runs([exp_id], order_by=["attributes.start_time ASC"])
    assert [r.info.run_id for r in found] == [run.info.run_id, other.info.run_id]
    assert [i.dataset.name for i in found[0].inputs.dataset_inputs] == ["adult-train", "adult-test"]
    assert {t.key: t.value for t in found[1].inputs.dataset_inputs[0].tags} == {
        "mlflow.data.context": "evaluation"
    }
    # MLflow's `datasets.` filters: true when one of the run's inputs passes.
    by_filter = lambda f: [r.info.run_id for r in client.search_runs([exp_id], f)]  # noqa: E731
    assert by_filter("datasets.name = 'adult-test'") == [run.info.run_id]
    assert by_filter("datasets.context = 'evaluation'") == [other.info.run_id]
    assert set(by_filter(f"datasets.digest IN ('{train.digest}')")) == {
        run.info.run_id,
        other.info.run_id,
    }


def test_metrics_of_a_logged_model(client):
    """MLflow 3 metrics that name a logged model (what autologging logs for each fit) are
    the model's metrics too, with their run and dataset."""
    import pandas as pd

    exp_name = unique("model-metrics")
    mlflow.set_experiment(exp_name)
    exp_id = client.get_experiment_by_name(exp_name).experiment_id
    data = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="holdout")
    with mlflow.start_run() as run:
        model = client.create_logged_model(exp_id, name="scorer", source_run_id=run.info.run_id)
        mlflow.log_metric("acc", 0.5, step=1, model_id=model.model_id, dataset=data)
        mlflow.log_metrics({"acc": 0.75, "f1": 0.6}, step=2, model_id=model.model_id)
        mlflow.log_metric("run_only", 1.0)

    got = mlflow.get_logged_model(model.model_id).metrics
    assert [(m.key, m.value, m.step) for m in got] == [("acc", 0.5, 1), ("acc", 0.75, 2), ("f1", 0.6, 2)]
    assert {m.run_id for m in got} == {run.info.run_id}
    assert {m.model_id for m in got} == {model.model_id}
    assert (got[0].dataset_name, got[0].dataset_digest) == ("holdout", data.digest)
    assert got[1].dataset_name is None
    assert client.get_run(run.info.run_id).data.metrics == {"acc": 0.75, "f1": 0.6, "run_only": 1.0}
    found = mlflow.search_logged_models(
        experiment_ids=[exp_id], filter_string="metrics.acc > 0.7", output_format="list"
    )
    assert [m.model_id for m in found] == [model.model_id]
    assert not mlflow.search_logged_models(
        experiment_ids=[exp_id], filter_string="metrics.f1 > 0.7", output_format="list"
    )
