import json
import math

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.entities import RunStatus
from mlcask.exceptions import InvalidArgumentError, MlcaskException


def test_start_run_as_context_manager_finishes_the_run(tracking):
    with mlcask.start_run(run_name="first") as run:
        mlcask.log_param("depth", 3)
        mlcask.log_metric("acc", 0.9)
        mlcask.log_metric("acc", 0.95, step=1)
        mlcask.set_tag("team", "ml")
    stored = mlcask.get_run(run.info.run_id)
    assert stored.info.status == RunStatus.FINISHED and stored.info.end_time is not None
    assert stored.info.run_name == "first"
    assert stored.data.params == {"depth": "3"}
    assert stored.data.metrics == {"acc": 0.95}
    assert stored.data.tags["team"] == "ml" and stored.data.tags["mlflow.runName"] == "first"
    assert mlcask.active_run() is None
    assert mlcask.last_active_run().info.run_id == run.info.run_id


def test_an_exception_inside_the_run_marks_it_failed_and_propagates(tracking):
    with pytest.raises(ZeroDivisionError):
        with mlcask.start_run() as run:
            1 / 0
    assert mlcask.get_run(run.info.run_id).info.status == RunStatus.FAILED


def test_nested_runs_record_their_parent(tracking):
    with mlcask.start_run() as parent:
        with pytest.raises(MlcaskException, match="is already active.*nested=True"):
            mlcask.start_run()
        with mlcask.start_run(nested=True) as child:
            assert mlcask.active_run().info.run_id == child.info.run_id
        assert mlcask.active_run().info.run_id == parent.info.run_id
    assert mlcask.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_resume_a_run_by_id(tracking):
    with mlcask.start_run() as run:
        mlcask.log_metric("loss", 1.0)
    with mlcask.start_run(run_id=run.info.run_id):
        assert mlcask.get_run(run.info.run_id).info.status == RunStatus.RUNNING
        mlcask.log_metric("loss", 0.5, step=1)
    history = mlcask.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5)]


def test_logging_without_a_run_starts_one(tracking):
    mlcask.log_metric("x", 1.0)
    run = mlcask.active_run()
    assert run is not None
    mlcask.end_run()
    assert mlcask.get_run(run.info.run_id).info.status == RunStatus.FINISHED


def test_set_experiment_creates_it_once_and_runs_go_there(tracking):
    experiment = mlcask.set_experiment("fraud")
    again = mlcask.set_experiment("fraud")
    assert experiment.experiment_id == again.experiment_id
    with mlcask.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    with pytest.raises(InvalidArgumentError, match="exactly one of"):
        mlcask.set_experiment()


def test_param_relogged_with_another_value_is_an_error(tracking):
    with mlcask.start_run():
        mlcask.log_param("lr", 0.1)
        mlcask.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(MlcaskException, match="lr"):
            mlcask.log_param("lr", 0.2)


def test_batches_of_params_metrics_and_tags(tracking):
    with mlcask.start_run() as run:
        mlcask.log_params({"a": 1, "b": "x"})
        mlcask.log_metrics({f"m{i}": float(i) for i in range(1000)}, step=2)
        mlcask.set_tags({"t1": 1, "t2": 2})
    data = mlcask.get_run(run.info.run_id).data
    assert data.params == {"a": "1", "b": "x"} and len(data.metrics) == 1000 and data.metrics["m999"] == 999.0
    assert data.tags["t1"] == "1"


def test_nan_is_stored_and_read_back_as_nan(tracking):
    with mlcask.start_run() as run:
        mlcask.log_metric("loss", float("nan"))
    assert math.isnan(mlcask.get_run(run.info.run_id).data.metrics["loss"])


def test_search_runs_returns_a_frame_or_a_list(tracking):
    for depth, acc in ((2, 0.7), (3, 0.9), (4, 0.95)):
        with mlcask.start_run():
            mlcask.log_param("max_depth", depth)
            mlcask.log_metric("acc", acc)
    frame = mlcask.search_runs(filter_string="metrics.acc > 0.8 and params.max_depth = '3'")
    assert isinstance(frame, pd.DataFrame) and list(frame["metrics.acc"]) == [0.9]
    assert {"run_id", "status", "start_time", "params.max_depth"} <= set(frame.columns)
    runs = mlcask.search_runs(order_by=["metrics.acc DESC"], output_format="list")
    assert [r.data.metrics["acc"] for r in runs] == [0.95, 0.9, 0.7]


def test_artifacts_text_dict_and_table(tracking, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with mlcask.start_run() as run:
        mlcask.log_artifact(str(tmp_path / "notes.txt"), "docs")
        mlcask.log_text("plain", "out/text.txt")
        mlcask.log_dict({"a": 1}, "out/config.yaml")
        mlcask.log_table({"x": [1, 2]}, "table.json")
        mlcask.log_table({"x": [3]}, "table.json")
        uri = mlcask.get_artifact_uri()
    client = mlcask.MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["docs", "out", "table.json"]
    assert open(client.download_artifacts(run.info.run_id, "out/config.yaml")).read() == "a: 1\n"
    table = open(client.download_artifacts(run.info.run_id, "table.json")).read()
    assert json.loads(table)["data"] == [[1], [2], [3]]
    assert uri == run.info.artifact_uri


def test_log_input_records_the_dataset(tracking):
    df = pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]})
    dataset = mlcask.data.from_pandas(df, source="s3://bucket/train.csv", targets="y", name="train")
    with mlcask.start_run() as run:
        mlcask.log_input(dataset, context="training")
    inputs = mlcask.get_run(run.info.run_id).inputs.dataset_inputs
    assert inputs[0].dataset.name == "train" and inputs[0].dataset.digest == dataset.digest
    assert any(t.key == "mlflow.data.context" and t.value == "training" for t in inputs[0].tags)
    assert mlcask.data.from_numpy(np.zeros((3, 2))).digest != dataset.digest


def test_unsupported_tracking_uri_is_refused_at_once(tracking):
    with pytest.raises(InvalidArgumentError, match="scheme 'ftp:' is not supported"):
        mlcask.set_tracking_uri("ftp://host/x")
