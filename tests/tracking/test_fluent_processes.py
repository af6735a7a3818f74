"""Processes and threads, as in MLflow: a set tracking URI reaches child processes, a forked child
does not inherit (nor end) its parent's active run, and the active run stack, last active run and
last logged model are per thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

import mlcask
from mlcask.tracking import context, fluent


def test_a_set_tracking_uri_is_inherited_by_child_processes(tracking, tmp_path):
    uri = f"sqlite:///{tmp_path / 'child.db'}"
    mlcask.set_tracking_uri(uri)
    assert os.environ["MLFLOW_TRACKING_URI"] == uri and mlcask.is_tracking_uri_set()
    code = ("import mlcask\n"
            "with mlcask.start_run() as run:\n"
            "    mlcask.log_param('from', 'child')\n"
            "print(mlcask.get_tracking_uri(), run.info.run_id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    child_uri, run_id = out.stdout.split()
    assert child_uri == uri
    assert mlcask.get_run(run_id).data.params == {"from": "child"}


def test_the_active_experiment_is_inherited_by_child_processes(tracking):
    experiment = mlcask.set_experiment("for children")
    assert os.environ["MLFLOW_EXPERIMENT_ID"] == experiment.experiment_id
    code = "import mlcask\nprint(mlcask.tracking.fluent._get_experiment_id())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == experiment.experiment_id


def test_reset_puts_the_environment_back(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    monkeypatch.delenv("MLCASK_TRACKING_URI", raising=False)
    context.set_tracking_uri(f"sqlite:///{tmp_path / 'a.db'}")
    context.set_tracking_uri(f"sqlite:///{tmp_path / 'b.db'}")
    assert os.environ["MLCASK_TRACKING_URI"] == os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / 'b.db'}"
    context.reset()
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5999" and "MLCASK_TRACKING_URI" not in os.environ
    assert context.get_tracking_uri() == "http://127.0.0.1:5999"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_without_the_parents_run(tracking):
    experiment = mlcask.set_experiment("forked")
    with mlcask.start_run() as run:
        mlcask.initialize_logged_model(name="parents")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: look at its state, run the exit hook, and leave without touching the store
            os.close(read)
            state = (mlcask.active_run() is None, context.last_logged_model_id() is None,
                     context.active_experiment_id() == experiment.experiment_id)  # per process: inherited
            fluent._end_runs_at_exit()  # would end the parent's run if the stack had been inherited
            os.write(write, repr(state).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            seen = pipe.read()
        assert os.waitpid(pid, 0)[1] == 0
        assert seen == "(True, True, True)"
        assert mlcask.active_run().info.run_id == run.info.run_id
        assert mlcask.get_run(run.info.run_id).info.status == "RUNNING"
    assert mlcask.get_run(run.info.run_id).info.status == "FINISHED"


def test_the_active_run_and_last_active_run_are_per_thread(tracking):
    seen = {}

    def worker():
        seen["active at start"] = mlcask.active_run()
        with mlcask.start_run() as run:  # no "already active" error: the main thread's run is not this thread's
            seen["own"] = run.info.run_id
        seen["last"] = mlcask.last_active_run().info.run_id

    with mlcask.start_run() as main_run:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert mlcask.active_run().info.run_id == main_run.info.run_id
    assert seen["active at start"] is None and seen["last"] == seen["own"] != main_run.info.run_id
    assert mlcask.last_active_run().info.run_id == main_run.info.run_id


def test_last_active_run_is_the_run_ended_last(tracking):
    assert mlcask.last_active_run() is None
    with mlcask.start_run() as parent:
        with mlcask.start_run(nested=True) as child:
            assert mlcask.last_active_run().info.run_id == child.info.run_id  # the active run itself
            mlcask.log_metric("a", 1.0)
            mlcask.log_param("b", 2)
    last = mlcask.last_active_run()
    assert last.info.run_id == parent.info.run_id and last.info.status == "FINISHED"
    assert mlcask.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert mlcask.get_parent_run(parent.info.run_id) is None


def test_start_run_errors_use_mlflows_wording(tracking):
    with mlcask.start_run() as outer:
        with pytest.raises(Exception, match=f"Run with UUID {outer.info.run_id} is already active. To start a new "
                                            "run, first end the current run with mlflow.end_run\\(\\). To start a "
                                            "nested run, call start_run with nested=True"):
            mlcask.start_run()
        with mlcask.start_run(nested=True):
            with pytest.raises(Exception, match="Run with UUID .+ is already active"):
                mlcask.start_run()  # the outermost run is named, as MLflow does
        with pytest.raises(mlcask.MlflowException, match="does not match the specified parent_run_id"):
            mlcask.start_run(nested=True, parent_run_id="0" * 32)
    with pytest.raises(mlcask.MlflowException, match="Invalid experiment id: "):
        mlcask.start_run(experiment_id=["a", "b"])
    with pytest.raises(mlcask.MlflowException, match="Description is already set via the tag mlflow.note.content"):
        mlcask.start_run(tags={"mlflow.note.content": "x"}, description="y")
    mlcask.delete_run(outer.info.run_id)
    with pytest.raises(mlcask.MlflowException,
                       match=f"Cannot start run with ID {outer.info.run_id} because it is in the deleted state"):
        mlcask.start_run(outer.info.run_id)


def test_resume_from_mlflow_run_id(tracking, monkeypatch):
    with mlcask.start_run() as first:
        pass
    monkeypatch.setenv("MLFLOW_RUN_ID", first.info.run_id)
    with mlcask.start_run(description="again") as resumed:
        assert resumed.info.run_id == first.info.run_id and resumed.info.status == "RUNNING"
        assert resumed.data.tags["mlflow.note.content"] == "again"
        assert "MLFLOW_RUN_ID" not in os.environ
    assert mlcask.get_run(first.info.run_id).info.status == "FINISHED"


def test_experiment_errors_and_environment(tracking, monkeypatch):
    with pytest.raises(mlcask.MlflowException, match="Must specify exactly one of: `experiment_id` or "
                                                     "`experiment_name`."):
        mlcask.set_experiment()
    with pytest.raises(mlcask.MlflowException, match="Experiment with ID '12345' does not exist."):
        mlcask.set_experiment(experiment_id="12345")
    gone = mlcask.create_experiment("gone")
    mlcask.delete_experiment(gone)
    with pytest.raises(mlcask.MlflowException, match="Cannot set a deleted experiment 'gone' as the active "
                                                     "experiment. You can restore the experiment"):
        mlcask.set_experiment("gone")
    mlcask.restore_experiment(gone)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mlcask.start_run() as run:
        pass
    assert mlcask.get_experiment(run.info.experiment_id).name == "from-env"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", gone)
    with pytest.raises(mlcask.MlflowException, match=f"environment variable value `{gone}` does not match the "
                                                     "experiment id"):
        mlcask.start_run()
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "999")
    with pytest.raises(mlcask.MlflowException, match="`999` does not exist in the tracking server"):
        mlcask.start_run()
    with pytest.raises(mlcask.MlflowException, match="Only experiment_ids or experiment_names can be used"):
        mlcask.search_runs(experiment_ids=["0"], experiment_names=["x"])
    assert mlcask.search_runs(experiment_names=[None, "no such"], output_format="list") == []
