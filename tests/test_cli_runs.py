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
from tests.support import invoke_cli as invoke


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


MLFLOW_SIDE = """
import json, os, mlflow
from click.testing import CliRunner
from mlflow.cli import cli
mlflow.set_experiment("parity")
with mlflow.start_run(run_name="same") as run:
    mlflow.log_param("C", 1)
    mlflow.log_metric("acc", 0.5)
    mlflow.log_text("hello", "dir/x.txt")
    mlflow.log_text("hi", "top.txt")
run_id = run.info.run_id
def out(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
print(json.dumps({
    "run_id": run_id,
    "list": out("artifacts", "list", "-r", run_id),
    "list_dir": out("artifacts", "list", "-r", run_id, "-a", "dir"),
    "describe": out("runs", "describe", "--run-id", run_id),
    "get": out("experiments", "get", "-x", run.info.experiment_id, "--output", "json"),
    "delete": out("runs", "delete", "--run-id", run_id),
    "restore": out("runs", "restore", "--run-id", run_id),
    "create": out("experiments", "create", "-n", "made"),
    "gc": out("runs", "delete", "--run-id", run_id) and out("gc", "--backend-store-uri",
                                                            os.environ["MLFLOW_TRACKING_URI"]),
}))
"""


@pytest.mark.interop
@pytest.mark.slow
def test_outputs_match_real_mlflows(tracking, tmp_path):
    """The same run logged with MLflow 3.17 and with mlcask: `mlflow artifacts list` and `mlcask artifacts list
    --output json` print the same JSON, `runs describe --output json` has MLflow's shape and values, and the
    delete/restore/create/gc messages are MLflow's."""
    from bench.mlflow_env import run_in_mlflow

    theirs = json.loads(run_in_mlflow(MLFLOW_SIDE, cwd=tmp_path).strip().splitlines()[-1])
    mlcask.set_experiment("parity")
    with mlcask.start_run(run_name="same") as run:
        mlcask.log_param("C", 1)
        mlcask.log_metric("acc", 0.5)
        mlcask.log_text("hello", "dir/x.txt")
        mlcask.log_text("hi", "top.txt")
    run_id = run.info.run_id

    def ours(*args):
        code, out = invoke(tracking, *args)
        assert code == 0, out
        return out

    assert json.loads(ours("artifacts", "list", "-r", run_id, "--output", "json")) == json.loads(theirs["list"])
    assert (json.loads(ours("artifacts", "list", "-r", run_id, "-a", "dir", "--output", "json"))
            == json.loads(theirs["list_dir"]))
    mine, mlflows = json.loads(ours("runs", "describe", "--run-id", run_id, "--output", "json")), \
        json.loads(theirs["describe"])
    assert set(mine) == set(mlflows) and set(mine["info"]) == set(mlflows["info"])
    assert {k: mine["info"][k] for k in ("run_name", "status", "lifecycle_stage")} == \
        {k: mlflows["info"][k] for k in ("run_name", "status", "lifecycle_stage")}
    assert mine["data"]["params"] == mlflows["data"]["params"] and mine["data"]["metrics"] == mlflows["data"]["metrics"]
    assert mine["inputs"] == mlflows["inputs"] and mine["outputs"] == mlflows["outputs"]
    mine_get = json.loads(ours("experiments", "get", "-x", run.info.experiment_id, "--output", "json"))
    assert set(mine_get) <= set(json.loads(theirs["get"]))
    for verb in ("delete", "restore"):
        assert ours("runs", verb, "--run-id", run_id) == theirs[verb].replace(theirs["run_id"], run_id)
    created = ours("experiments", "create", "-n", "made")
    assert created.rsplit(" ", 1)[0] == theirs["create"].rsplit(" ", 1)[0]
    ours("runs", "delete", "--run-id", run_id)
    code, out = invoke(tracking, "gc")  # gc takes --tracking-uri as the database too
    assert code == 0 and out == theirs["gc"].replace(theirs["run_id"], run_id)


@pytest.mark.parametrize("args", [["runs", "describe", "--run-id", "a" * 32], ["runs", "delete", "--run-id", "a" * 32],
                                  ["experiments", "delete", "-x", "1"], ["artifacts", "list", "-r", "a" * 32]])
def test_an_unreachable_server_is_a_store_failure_not_a_bad_value(args, monkeypatch):
    from tests.support import free_port

    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # refused at once, not after MLflow's backoff
    code, out = invoke(f"http://127.0.0.1:{free_port()}", *args)
    assert code == 1 and "Connection refused" in out and "Invalid value" not in out
