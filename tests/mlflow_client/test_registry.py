"""Logged models and the model registry through the official mlflow client, unchanged."""

import uuid

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Affine(mlflow.pyfunc.PythonModel):
    """y = a * x + b on every column, with a and b fixed at construction."""

    def __init__(self, a: float, b: float):
        self.a = a
        self.b = b

    def predict(self, context, model_input, params=None):
        return model_input * self.a + self.b


INPUT = pd.DataFrame({"x": [1.0, 2.5, -3.0], "y": [0.0, 10.0, 7.25]})


def expected():
    return INPUT * 3.0 - 1.5


def log_affine(run_name: str):
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_param("a", 3.0)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Affine(3.0, -1.5), input_example=INPUT
        )
    return run.info.run_id, info


def assert_predicts(model_uri: str):
    loaded = mlflow.pyfunc.load_model(model_uri)
    got = loaded.predict(INPUT)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected()))


def test_pyfunc_log_load_and_register(client, tmp_path):
    mlflow.set_experiment(unique("pyfunc"))
    run_id, info = log_affine("affine")

    # The logged model is recorded, finalized and tied to its run.
    logged = client.get_logged_model(info.model_id)
    assert logged.name == "model"
    assert logged.source_run_id == run_id
    assert logged.params.get("a") == "3.0"
    assert str(logged.status) == "READY"
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    run = client.get_run(run_id)
    assert [o.model_id for o in run.outputs.model_outputs] == [info.model_id]

    # Load back three ways: the logged model, the run, and after registration.
    assert_predicts(info.model_uri)
    assert_predicts(f"runs:/{run_id}/model")

    name = unique("affine")
    version = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert version.version == "1"
    assert version.run_id == run_id
    assert_predicts(f"models:/{name}/1")

    client.set_registered_model_alias(name, "champion", "1")
    assert_predicts(f"models:/{name}@champion")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "1" and by_alias.aliases == ["champion"]

    # The download URI is the logged model's own artifact root.
    uri = client.get_model_version_download_uri(name, "1")
    assert uri == logged.artifact_location
    # Registering tags the logged model with its versions.
    assert name in client.get_logged_model(info.model_id).tags.get("mlflow.modelVersions", "")

    # A second registration of the same run gets the next number.
    again = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert again.version == "2"

    # Logged-model search scoped to the experiment, by name.
    exp_id = run.info.experiment_id
    found = client.search_logged_models([exp_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [info.model_id]
    assert list(client.search_logged_models([exp_id], filter_string="name = 'other'")) == []


def test_registry_flows(client):
    exp_id = client.create_experiment(unique("registry"))
    run = client.create_run(exp_id)
    source = f"runs:/{run.info.run_id}/model"
    name = unique("reg")

    created = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert created.name == name and created.description == "first"
    assert created.tags == {"team": "ml"}

    with pytest.raises(MlflowException) as err:
        client.create_registered_model(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    v1 = client.create_model_version(name, source, run_id=run.info.run_id, tags={"k": "v"})
    v2 = client.create_model_version(name, source, run_id=run.info.run_id, description="two")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.current_stage == "None" and v1.status == "READY" and v1.tags == {"k": "v"}
    assert client.get_model_version_download_uri(name, "1") == (
        f"{run.info.artifact_uri}/model"
    )

    # Tags, descriptions and aliases.
    client.set_registered_model_tag(name, "domain", "tabular")
    client.delete_registered_model_tag(name, "team")
    client.update_registered_model(name, description="updated")
    client.set_model_version_tag(name, "2", "validated", "yes")
    client.delete_model_version_tag(name, "1", "k")
    client.update_model_version(name, "1", description="one")
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    model = client.get_registered_model(name)
    assert model.tags == {"domain": "tabular"}
    assert model.description == "updated"
    assert model.aliases == {"champion": "1", "challenger": "2"}
    assert client.get_model_version(name, "1").description == "one"
    assert client.get_model_version(name, "1").tags == {}
    assert client.get_model_version(name, "2").tags == {"validated": "yes"}
    client.delete_registered_model_alias(name, "challenger")
    with pytest.raises(MlflowException) as err:
        client.get_model_version_by_alias(name, "challenger")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    # Stages: archive_existing_versions moves the old Production version to Archived.
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(
        name, "2", "Production", archive_existing_versions=True
    )
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert client.get_model_version(name, "2").current_stage == "Production"
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]
    with pytest.raises(MlflowException) as err:
        client.transition_model_version_stage(name, "1", "Bogus")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    # Search.
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    found = client.search_registered_models(filter_string=f"name LIKE '{name[:7]}%'")
    assert name in [m.name for m in found]
    versions = client.search_model_versions(
        f"name = '{name}'", order_by=["version_number ASC"]
    )
    assert [v.version for v in versions] == ["1", "2"]
    versions = client.search_model_versions(f"name = '{name}' AND tags.validated = 'yes'")
    assert [v.version for v in versions] == ["2"]
    page = client.search_model_versions(f"name = '{name}'", max_results=1)
    assert len(page) == 1 and page.token

    # Rename: versions follow; the old name is gone.
    new_name = name + "-renamed"
    client.rename_registered_model(name, new_name)
    assert client.get_model_version(new_name, "2").current_stage == "Production"
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    # Delete a version (numbers are never reused), then the model.
    client.delete_model_version(new_name, "2")
    with pytest.raises(MlflowException) as err:
        client.get_model_version(new_name, "2")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    v3 = client.create_model_version(new_name, source, run_id=run.info.run_id)
    assert v3.version == "3"
    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(new_name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registry_errors(client):
    missing = unique("missing")
    for call in (
        lambda: client.get_registered_model(missing),
        lambda: client.get_model_version(missing, "1"),
        lambda: client.delete_registered_model(missing),
        lambda: client.create_model_version(missing, "runs:/abc/model"),
    ):
        with pytest.raises(MlflowException) as err:
            call()
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    name = unique("errs")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as err:
        client.set_registered_model_alias(name, "ghost", "99")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, "/etc/passwd")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.search_registered_models(filter_string="name >> 'x'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        MlflowClient().get_logged_model("m-00000000000000000000000000000000")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_protected_alias_moves_only_through_the_servers_gate(slipway_policy_server):
    """`serve --policy` gates `set_registered_model_alias` of the official client: a version
    that breaks the policy is refused with PERMISSION_DENIED naming every broken rule."""
    client = MlflowClient(tracking_uri=slipway_policy_server)
    experiment = client.create_experiment(unique("gate"))
    name = unique("gated")
    client.create_registered_model(name)
    for auc, fair in ((0.8, False), (0.95, True)):
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "holdout.auc", auc)
        if fair:
            client.set_tag(run.info.run_id, "fairness.checked", "true")
        client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)

    with pytest.raises(MlflowException) as err:
        client.set_registered_model_alias(name, "champion", "1")
    assert err.value.error_code == "PERMISSION_DENIED"
    assert "holdout.auc: 0.8 is below the minimum 0.9" in err.value.message
    assert "fairness.checked: required but not set" in err.value.message
    assert client.get_registered_model(name).aliases == {}

    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    # Aliases the policy does not name move as in MLflow.
    client.set_registered_model_alias(name, "challenger", "1")
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "1"}
