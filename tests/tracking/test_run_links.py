"""When a run ends on a tracking server (the fluent API's end_run, or the client's set_terminated), mlcask
prints the UI's links to it, as MLflow does:
``🏃 View run <name> at: <server>/#/experiments/<id>/runs/<run_id>`` and
``🧪 View experiment at: <server>/#/experiments/<id>``. Not for a local store, not when
``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT`` is true, and never with the URI's credentials."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import mlcask
from tests.server.conftest import launch

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    server = launch(tmp_path_factory.mktemp("links-server"))
    yield server
    server.stop()


def _links(text: str) -> list[str]:
    return [line for line in text.splitlines() if "View run" in line or "View experiment" in line]


def test_ending_a_run_on_a_server_prints_its_links(tracking_server, tracking_state, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    tracking_state(tracking_server.url + "/", tracking_server.folder)  # the trailing slash is not doubled
    experiment_id = mlcask.set_experiment("links").experiment_id
    with mlcask.start_run(run_name="outer") as outer:
        with mlcask.start_run(run_name="inner", nested=True) as inner:
            mlcask.log_metric("loss", 0.5)
    experiment_url = f"{tracking_server.url}/#/experiments/{experiment_id}"
    assert _links(capsys.readouterr().out) == [
        f"🏃 View run inner at: {experiment_url}/runs/{inner.info.run_id}",
        f"🧪 View experiment at: {experiment_url}",
        f"🏃 View run outer at: {experiment_url}/runs/{outer.info.run_id}",
        f"🧪 View experiment at: {experiment_url}",
    ]
    assert mlcask.get_run(outer.info.run_id).info.status == "FINISHED"
    # tests/ui/test_entry_points.py opens such a link in Chromium.


def test_a_failed_run_prints_its_links_too(tracking_server, tracking_state, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    tracking_state(tracking_server.url, tracking_server.folder)
    mlcask.set_experiment("links-failed")
    with pytest.raises(RuntimeError), mlcask.start_run(run_name="broken") as run:
        raise RuntimeError("training failed")
    links = _links(capsys.readouterr().out)
    assert len(links) == 2 and links[0].endswith(f"/runs/{run.info.run_id}") and "View run broken at" in links[0]
    assert mlcask.get_run(run.info.run_id).info.status == "FAILED"


def test_the_clients_set_terminated_prints_them_too(tracking_server, tracking_state, capsys, monkeypatch):
    """MLflow prints them from ``MlflowClient.set_terminated``, which the fluent end_run calls."""
    from mlcask.tracking import MlcaskClient

    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    tracking_state(tracking_server.url, tracking_server.folder)
    client = MlcaskClient(tracking_server.url)
    run = client.create_run("0", run_name="by-client")
    assert _links(capsys.readouterr().out) == []
    client.set_terminated(run.info.run_id)
    assert _links(capsys.readouterr().out) == [
        f"🏃 View run by-client at: {tracking_server.url}/#/experiments/0/runs/{run.info.run_id}",
        f"🧪 View experiment at: {tracking_server.url}/#/experiments/0"]


def test_the_links_carry_no_credentials(tracking_server, tracking_state, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    with_user = tracking_server.url.replace("http://", "http://ana:s3cret-token@")
    tracking_state(with_user + "?token=abc", tracking_server.folder)
    with mlcask.start_run(run_name="private") as run:
        pass
    printed = capsys.readouterr().out
    links = _links(printed)
    assert links == [f"🏃 View run private at: {tracking_server.url}/#/experiments/0/runs/{run.info.run_id}",
                     f"🧪 View experiment at: {tracking_server.url}/#/experiments/0"]
    assert "s3cret" not in printed and "ana" not in printed and "token" not in printed


@pytest.mark.parametrize("name", ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "MLCASK_SUPPRESS_PRINTING_URL_TO_STDOUT"])
def test_suppressed_by_the_environment(tracking_server, tracking_state, capsys, monkeypatch, name):
    monkeypatch.setenv(name, "true")
    tracking_state(tracking_server.url, tracking_server.folder)
    with mlcask.start_run(run_name="quiet") as run:
        pass
    assert _links(capsys.readouterr().out) == []
    assert mlcask.get_run(run.info.run_id).info.status == "FINISHED"


def test_an_evaluation_run_prints_nothing(tracking_server, tracking_state, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    tracking_state(tracking_server.url, tracking_server.folder)
    with mlcask.start_run(tags={"mlflow.runType": "genai_evaluate"}):
        pass
    assert _links(capsys.readouterr().out) == []


def test_a_local_store_prints_nothing(tracking, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    with mlcask.start_run(run_name="local") as run:
        mlcask.log_metric("loss", 1.0)
    captured = capsys.readouterr()
    assert _links(captured.out) == [] and _links(captured.err) == []
    assert re.fullmatch(r"[0-9a-f]{32}", run.info.run_id)
    assert mlcask.get_run(run.info.run_id).info.status == "FINISHED"


@pytest.mark.interop
@pytest.mark.slow
def test_the_lines_are_mlflows(tracking_server, tracking_state, capsys, monkeypatch):
    """MLflow's own client, ending a run on the same server, prints the same two lines (ids aside)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from bench.mlflow_env import run_in_mlflow

    printed = run_in_mlflow(f"""
        import os, warnings
        os.environ["MLFLOW_TRACKING_URI"] = {tracking_server.url!r}
        warnings.filterwarnings("ignore")
        import mlflow
        mlflow.set_experiment("links-mlflow")
        with mlflow.start_run(run_name="same") as run:
            pass
        print("ids", run.info.experiment_id, run.info.run_id)
    """, cwd=tracking_server.folder)
    experiment_id, mlflow_run_id = printed.split("ids ", 1)[1].split()
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    tracking_state(tracking_server.url, tracking_server.folder)
    mlcask.set_experiment("links-mlflow")
    with mlcask.start_run(run_name="same") as run:
        pass
    ours = _links(capsys.readouterr().out)
    assert ours and ours == [line.replace(mlflow_run_id, run.info.run_id) for line in _links(printed)]
    assert experiment_id in ours[1]
