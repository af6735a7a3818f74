"""``mlcask experiments``: MLflow's verbs, options and messages; JSON with the REST API's field names."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.entities.messages import experiment_to_message
from tests.support import invoke_cli as invoke


@pytest.fixture
def store(tracking):
    """The tracking store with "first" (tagged, one run) and "second" (deleted)."""
    client = mlcask.MlflowClient()
    first = client.create_experiment("first", tags={"team": "a"})
    second = client.create_experiment("second")
    client.delete_experiment(second)
    with mlcask.start_run(experiment_id=first, run_name="only") as run:
        mlcask.log_metric("acc", 0.9)
        mlcask.log_param("C", 2)
    return tracking, first, second, run.info.run_id


def test_search_views_and_table(store):
    uri, first, second, _ = store
    code, out = invoke(uri, "experiments", "search")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["EXPERIMENT", "ID", "NAME", "ARTIFACT", "LOCATION"]
    assert [line.split()[:2] for line in lines[2:]] == [["0", "Default"], [first, "first"]]
    code, out = invoke(uri, "experiments", "search", "--view", "deleted_only")
    assert code == 0 and [line.split()[1] for line in out.splitlines()[2:]] == ["second"]
    code, out = invoke(uri, "experiments", "search", "-v", "ALL", "--max-results", "2")
    assert code == 0 and len(out.splitlines()) == 4
    code, out = invoke(uri, "experiments", "search", "-v", "gone")
    assert code == 2 and "Invalid value for '--view' / '-v': 'gone' is not one of" in out


def test_search_and_list_json_have_the_rest_apis_fields(store):
    uri, first, second, _ = store
    client = mlcask.MlflowClient()
    code, out = invoke(uri, "experiments", "search", "--view", "all", "--output", "json")
    assert code == 0
    found = {e["experiment_id"]: e for e in json.loads(out)}
    assert found == {e: experiment_to_message(client.get_experiment(e)) for e in ("0", first, second)}
    assert found[first]["tags"] == [{"key": "team", "value": "a"}] and found[second]["lifecycle_stage"] == "deleted"
    assert set(found[first]) == {"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time",
                                 "last_update_time", "tags"}
    code, out = invoke(uri, "experiments", "list", "--output", "json")
    assert code == 0 and sorted(e["name"] for e in json.loads(out)) == ["Default", "first"]
    code, out = invoke(uri, "experiments", "list", "--view", "deleted")
    assert code == 0 and "second" in out and "first" not in out


def test_get_by_id_or_name(store):
    uri, first, _, _ = store
    code, out = invoke(uri, "experiments", "get", "-x", first, "--output", "json")
    shown = json.loads(out)
    assert code == 0 and shown["name"] == "first" and shown["tags"] == {"team": "a"}
    assert set(shown) == {"artifact_location", "creation_time", "experiment_id", "last_update_time",
                          "lifecycle_stage", "name", "tags"}
    code, out = invoke(uri, "experiments", "get", "-n", "first")
    assert code == 0 and "team=a" in out and first in out
    for args in ([], ["-x", first, "-n", "first"]):
        code, out = invoke(uri, "experiments", "get", *args)
        assert code == 2 and "Must specify exactly one of --experiment-id or --experiment-name." in out
    code, out = invoke(uri, "experiments", "get", "-n", "nope")
    assert code == 2 and "Invalid value for '--experiment-name': no experiment is named 'nope'" in out


def test_create_with_mlflows_message(store, tmp_path):
    uri, _, _, _ = store
    code, out = invoke(uri, "experiments", "create", "-n", "third", "-l", str(tmp_path / "elsewhere"))
    experiment = mlcask.MlflowClient().get_experiment_by_name("third")
    assert code == 0 and out == f"Created experiment 'third' with id {experiment.experiment_id}\n"
    assert experiment.artifact_location == str(tmp_path / "elsewhere")
    code, out = invoke(uri, "experiments", "create", "--experiment-name", "third")
    assert code == 2 and "Invalid value for '--experiment-name':" in out and "third" in out


def test_rename(store):
    uri, first, second, _ = store
    code, out = invoke(uri, "experiments", "rename", "-x", first, "--new-name", "renamed")
    assert code == 0 and out == f"Experiment with id {first} has been renamed to 'renamed'.\n"
    assert mlcask.MlflowClient().get_experiment(first).name == "renamed"
    code, out = invoke(uri, "experiments", "rename", "-x", first, "--new-name", "Default")
    assert code == 2 and "Invalid value for '--new-name':" in out and "already exists" in out
    code, out = invoke(uri, "experiments", "rename", "--experiment-id", second, "--new-name", "x")
    assert code == 2 and f"Invalid value for '--experiment-id': experiment {second} ('second') is deleted" in out
    code, out = invoke(uri, "experiments", "rename", "-x", first)
    assert code == 2 and "Missing option '--new-name'" in out


def test_delete_and_restore(store):
    uri, first, second, run_id = store
    code, out = invoke(uri, "experiments", "delete", "-x", first)
    assert code == 0 and out == f"Experiment with ID {first} has been deleted.\n"
    client = mlcask.MlflowClient()
    assert client.get_experiment(first).lifecycle_stage == "deleted"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    code, out = invoke(uri, "experiments", "delete", "-x", first)
    assert code == 2 and "Invalid value for '--experiment-id':" in out and "already deleted" in out
    code, out = invoke(uri, "experiments", "restore", "--experiment-id", first)
    assert code == 0 and out == f"Experiment with id {first} has been restored.\n"
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    code, out = invoke(uri, "experiments", "restore", "-x", first)
    assert code == 2 and "Invalid value for '--experiment-id':" in out and "is not deleted" in out
    code, out = invoke(uri, "experiments", "delete", "-x", "99")
    assert code == 2 and "Invalid value for '--experiment-id': no experiment has id '99'" in out
    code, out = invoke(uri, "experiments", "delete")
    assert code == 2 and "Missing option '--experiment-id' / '-x'" in out


def test_csv(store, tmp_path):
    uri, first, _, run_id = store
    code, out = invoke(uri, "experiments", "csv", "-x", first)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1
    assert rows[0]["run_id"] == run_id and rows[0]["metrics.acc"] == "0.9" and rows[0]["params.C"] == "2"
    target = tmp_path / "runs.csv"
    code, out = invoke(uri, "experiments", "csv", "-x", first, "-o", str(target))
    assert code == 0 and out == f"Experiment with ID {first} has been exported as a CSV to file: {target}.\n"
    assert list(csv.DictReader(target.open()))[0]["run_id"] == run_id


def test_write_commands_do_not_create_a_missing_store(tmp_path, monkeypatch):
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    missing = tmp_path / "none.db"
    for args in (["delete", "-x", "1"], ["restore", "-x", "1"], ["rename", "-x", "1", "--new-name", "b"],
                 ["search"]):
        code, out = invoke(f"sqlite:///{missing}", "experiments", *args)
        assert code == 1 and "No tracking database at" in out
    assert not missing.exists()


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A running ``mlcask server`` over a fresh database (its URL)."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.support import free_port

    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLCASK_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlcask.cli", "server", "--backend-store-uri", f"sqlite:///{tmp_path / 's.db'}",
         "--artifacts-destination", str(tmp_path / "served"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_the_verbs_work_against_a_tracking_server(server, tmp_path):
    code, out = invoke(server, "experiments", "create", "-n", "remote")
    assert code == 0 and out.startswith("Created experiment 'remote' with id ")
    experiment_id = out.split()[-1]
    code, out = invoke(server, "experiments", "search", "--output", "json")
    assert code == 0 and {e["name"] for e in json.loads(out)} == {"Default", "remote"}
    client = mlcask.MlflowClient(server)
    run = client.create_run(experiment_id)
    local = tmp_path / "f.txt"
    local.write_text("proxied")
    code, out = invoke(server, "artifacts", "log-artifact", "-l", str(local), "-r", run.info.run_id)
    assert code == 0, out
    code, out = invoke(server, "artifacts", "list", "-r", run.info.run_id, "--output", "json")
    assert code == 0 and json.loads(out) == [{"path": "f.txt", "is_dir": False, "file_size": 7}]
    code, out = invoke(server, "artifacts", "download", "-r", run.info.run_id, "-a", "f.txt", "-d", str(tmp_path / "d"))
    assert code == 0 and (tmp_path / "d" / "f.txt").read_text() == "proxied"
    code, out = invoke(server, "runs", "delete", "--run-id", run.info.run_id)
    assert code == 0 and client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    result = CliRunner().invoke(cli, ["gc", "--tracking-uri", server])
    assert result.exit_code == 2 and "MLflow's REST API has no permanent deletion" in result.output
