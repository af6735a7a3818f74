"""``mlcask artifacts``: list (table, or MLflow's JSON), download (by run, runs:/, models:/ or a path),
log-artifact and log-artifacts, with MLflow's options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlcask
from mlcask.tracking.artifacts import local_path_of
from tests.support import invoke_cli as invoke


@pytest.fixture
def run(tracking):
    with mlcask.start_run() as active:
        mlcask.log_text("hello", "dir/x.txt")
        mlcask.log_text("hi", "top.txt")
    return tracking, mlcask.MlflowClient().get_run(active.info.run_id)


def test_list_table_and_mlflows_json(run):
    uri, logged = run
    run_id = logged.info.run_id
    code, out = invoke(uri, "artifacts", "list", "-r", run_id)
    assert code == 0 and out.splitlines()[2:] == ["dir/     folder", "top.txt  file    2 B"]
    code, out = invoke(uri, "artifacts", "list", "--run-id", run_id, "--output", "json")
    assert code == 0  # what `mlflow artifacts list` prints
    assert json.loads(out) == [{"path": "dir", "is_dir": True}, {"path": "top.txt", "is_dir": False, "file_size": 2}]
    code, out = invoke(uri, "artifacts", "list", "-r", run_id, "-a", "dir", "--output", "json")
    assert code == 0 and json.loads(out) == [{"path": "dir/x.txt", "is_dir": False, "file_size": 5}]
    code, out = invoke(uri, "artifacts", "list", "-r", run_id, "-a", "nothing-here", "--output", "json")
    assert code == 0 and json.loads(out) == []


def test_list_errors(run):
    uri, logged = run
    code, out = invoke(uri, "artifacts", "list", "-r", "0" * 32)
    assert code == 2 and f"Invalid value for '--run-id': no run has id '{'0' * 32}'" in out
    code, out = invoke(uri, "artifacts", "list", "-r", logged.info.run_id, "-a", "../escape")
    assert code == 2 and "Invalid value for '--artifact-path':" in out and "../escape" in out
    code, out = invoke(uri, "artifacts", "list")
    assert code == 2 and "Missing option '--run-id' / '-r'" in out


def test_download_by_run(run, tmp_path):
    uri, logged = run
    run_id = logged.info.run_id
    code, out = invoke(uri, "artifacts", "download", "-r", run_id, "-a", "dir", "-d", str(tmp_path / "new" / "dst"))
    copied = tmp_path / "new" / "dst" / "dir"
    assert code == 0 and out == f"{copied}\n" and (copied / "x.txt").read_text() == "hello"
    code, out = invoke(uri, "artifacts", "download", "--run-id", run_id, "--artifact-path", "top.txt")
    stored = local_path_of(logged.info.artifact_uri) / "top.txt"
    assert code == 0 and out == f"{stored}\n"  # already local: its own path, as MLflow
    code, out = invoke(uri, "artifacts", "download", "-r", run_id, "-a", "missing.txt")
    assert code == 2 and "Invalid value for '--artifact-path': No artifact at 'missing.txt'" in out


def test_download_by_uri(run, tmp_path):
    uri, logged = run
    run_id = logged.info.run_id
    code, out = invoke(uri, "artifacts", "download", "-u", f"runs:/{run_id}/dir/x.txt", "-d", str(tmp_path / "a"))
    assert code == 0 and Path(out.strip()).read_text() == "hello" and Path(out.strip()).parent == tmp_path / "a"
    folder = local_path_of(logged.info.artifact_uri) / "dir"
    code, out = invoke(uri, "artifacts", "download", "-u", f"file://{folder}", "-d", str(tmp_path / "b"))
    assert code == 0 and out == f"{tmp_path / 'b' / 'dir'}\n" and (tmp_path / "b" / "dir" / "x.txt").is_file()
    # --artifact-uri wins over --run-id and --artifact-path, as in MLflow
    code, out = invoke(uri, "artifacts", "download", "-u", str(folder / "x.txt"), "-r", "0" * 32, "-a", "nope")
    assert code == 0 and out == f"{folder / 'x.txt'}\n"
    code, out = invoke(uri, "artifacts", "download", "-u", f"runs:/{'0' * 32}/x")
    assert code == 2 and "Invalid value for '--artifact-uri': no run has id" in out
    code, out = invoke(uri, "artifacts", "download", "-u", "ftp://host/x")
    assert code == 2 and "Invalid value for '--artifact-uri':" in out and "'ftp:' is not supported" in out
    code, out = invoke(uri, "artifacts", "download")
    assert code == 2 and "Either --artifact-uri or --run-id must be provided" in out


def test_download_a_logged_model(tracking, tmp_path):
    client = mlcask.MlflowClient()
    model = client.create_logged_model(mlcask.set_experiment("m").experiment_id, "clf")
    folder = local_path_of(model.artifact_location)
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    code, out = invoke(tracking, "artifacts", "download", "-u", f"models:/{model.model_id}", "-d", str(tmp_path))
    assert code == 0 and (Path(out.strip()) / "MLmodel").read_text() == "flavors: {}\n"
    assert Path(out.strip()).parent == tmp_path


def test_log_artifact_and_artifacts(run, tmp_path):
    uri, logged = run
    run_id = logged.info.run_id
    local = tmp_path / "model.txt"
    local.write_text("weights")
    code, out = invoke(uri, "artifacts", "log-artifact", "-l", str(local), "-r", run_id, "-a", "up/deep")
    assert code == 0 and out == f"Logged artifact from local file {local} to artifact_path=up/deep\n"
    root = local_path_of(logged.info.artifact_uri)
    assert (root / "up" / "deep" / "model.txt").read_text() == "weights"
    folder = tmp_path / "bundle"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "a.txt").write_text("a")
    code, out = invoke(uri, "artifacts", "log-artifacts", "--local-dir", str(folder), "--run-id", run_id)
    assert code == 0 and out == f"Logged artifact from local dir {folder} to artifact_path=None\n"
    assert (root / "inner" / "a.txt").read_text() == "a"


def test_log_artifact_errors(run, tmp_path):
    uri, logged = run
    run_id = logged.info.run_id
    code, out = invoke(uri, "artifacts", "log-artifact", "-l", str(tmp_path / "absent.txt"), "-r", run_id)
    assert code == 2 and "Invalid value for '--local-file' / '-l'" in out and "does not exist" in out
    code, out = invoke(uri, "artifacts", "log-artifacts", "-l", str(tmp_path / "absent"), "-r", run_id)
    assert code == 2 and "Invalid value for '--local-dir' / '-l'" in out
    local = tmp_path / "f.txt"
    local.write_text("x")
    code, out = invoke(uri, "artifacts", "log-artifact", "-l", str(local), "-r", run_id, "-a", "../out")
    assert code == 2 and "Invalid value for '--artifact-path':" in out
    assert not (local_path_of(logged.info.artifact_uri).parent / "out").exists()
    code, out = invoke(uri, "artifacts", "log-artifact", "-l", str(local), "-r", "0" * 32)
    assert code == 2 and "Invalid value for '--run-id': no run has id" in out
