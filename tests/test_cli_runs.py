"""``mlcask runs`` (list with MLflow's --view, describe as MLflow's JSON, delete, restore) and
``mlcask models list --output json``."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.entities.messages import logged_model_to_message, registered_model_to_message, run_to_message


@pytest.fixture
def store(tracking):
    experiment_id = mlcask.set_experiment("runs-cli").experiment_id
    with mlcask.start_run(run_name="kept") as kept:
        mlcask.log_param("C", 1)
        mlcask.log_metric("acc", 0.9)
        mlcask.log_metric("odd", math.nan)
    with mlcask.start_run(run_name="gone") as gone:
        pass
    mlcask.MlflowClient().delete_run(gone.info.run_id)
    return tracking, experiment_id, kept.info.run_id, gone.info.run_id


def invoke(uri, *args):
    result = CliRunner().invoke(cli, [*args, "--tracking-uri", uri])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_list_views(store):
    uri, experiment_id, kept, gone = store
    code, out = invoke(uri, "runs", "list", "--experiment-id", experiment_id)
    assert code == 0 and kept in out and gone not in out and "acc=0.9" in out
    code, out = invoke(uri, "runs", "list", "--experiment-id", experiment_id, "-v", "deleted_only")
    assert code == 0 and gone in out and kept not in out and out.splitlines()[0].split()[4] == "STAGE"
    code, out = invoke(uri, "runs", "list", "--experiment-name", "runs-cli", "--view", "all")
    assert code == 0 and gone in out and kept in out
    code, out = invoke(uri, "runs", "list", "--experiment-id", experiment_id, "--view", "active")
    assert code == 2 and "Invalid value for '--view' / '-v'" in out


def test_list_json_is_the_rest_apis_run(store):
    uri, experiment_id, kept, _ = store
    code, out = invoke(uri, "runs", "list", "--experiment-id", experiment_id, "--output", "json")
    assert code == 0
    listed = json.loads(out)
    assert listed == [run_to_message(mlcask.MlflowClient().get_run(kept))]
    run = listed[0]
    assert run["info"]["run_id"] == kept and run["info"]["run_name"] == "kept"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics == {"acc": 0.9, "odd": "NaN"}  # NaN as MLflow's server writes it: valid JSON
    assert run["data"]["params"] == [{"key": "C", "value": "1"}]


def test_describe_json_is_mlflows(store):
    uri, _, kept, _ = store
    code, out = invoke(uri, "runs", "describe", "--run-id", kept, "--output", "json")
    assert code == 0
    shown = json.loads(out)
    assert set(shown) == {"info", "data", "inputs", "outputs"}
    assert set(shown["info"]) == {"artifact_uri", "end_time", "experiment_id", "lifecycle_stage", "run_id",
                                  "run_name", "start_time", "status", "user_id"}
    assert shown["info"]["status"] == "FINISHED" and shown["data"]["params"] == {"C": "1"}
    assert shown["data"]["metrics"]["acc"] == 0.9
    assert shown["inputs"] == {"model_inputs": [], "dataset_inputs": []} and shown["outputs"] == {"model_outputs": []}
    code, out = invoke(uri, "runs", "describe", "--run-id", kept)
    assert code == 0 and "lifecycle_stage  active" in out and "acc" in out


def test_delete_and_restore(store):
    uri, _, kept, gone = store
    client = mlcask.MlflowClient()
    code, out = invoke(uri, "runs", "delete", "--run-id", kept)
    assert code == 0 and out == f"Run with ID {kept} has been deleted.\n"
    assert client.get_run(kept).info.lifecycle_stage == "deleted"
    code, out = invoke(uri, "runs", "restore", "--run-id", gone)
    assert code == 0 and out == f"Run with id {gone} has been restored.\n"
    assert client.get_run(gone).info.lifecycle_stage == "active"
    code, out = invoke(uri, "runs", "delete", "--run-id", "0" * 32)
    assert code == 2 and f"Invalid value for '--run-id': no run has id '{'0' * 32}'" in out
    code, out = invoke(uri, "runs", "restore")
    assert code == 2 and "Missing option '--run-id'" in out


def test_a_run_of_a_deleted_experiment_is_restored_with_it(store):
    uri, experiment_id, kept, _ = store
    mlcask.MlflowClient().delete_experiment(experiment_id)
    code, out = invoke(uri, "runs", "restore", "--run-id", kept)
    assert code == 2 and f"Invalid value for '--run-id': run {kept} is in the deleted experiment {experiment_id}" in out
    assert f"mlcask experiments restore -x {experiment_id}" in out
    assert mlcask.MlflowClient().get_run(kept).info.lifecycle_stage == "deleted"


def test_models_list_json(tracking):
    client = mlcask.MlflowClient()
    experiment_id = mlcask.set_experiment("models-cli").experiment_id
    model = client.create_logged_model(experiment_id, "clf", tags={"k": "v"}, params={"depth": "3"})
    client.create_registered_model("registered", description="a model")
    result = CliRunner().invoke(cli, ["models", "list", "--output", "json", "--tracking-uri", tracking])
    assert result.exit_code == 0
    assert json.loads(result.output) == [logged_model_to_message(client.get_logged_model(model.model_id))]
    info = json.loads(result.output)[0]["info"]
    assert info["model_id"] == model.model_id and info["tags"] == [{"key": "k", "value": "v"}]
    result = CliRunner().invoke(cli, ["models", "list", "--registered", "--output", "json", "--tracking-uri", tracking])
    assert result.exit_code == 0
    assert json.loads(result.output) == [registered_model_to_message(client.get_registered_model("registered"))]
    result = CliRunner().invoke(cli, ["models", "list", "--output", "yaml", "--tracking-uri", tracking])
    assert result.exit_code == 2 and "Invalid value for '--output': 'yaml' is not one of 'table', 'json'." in result.output
