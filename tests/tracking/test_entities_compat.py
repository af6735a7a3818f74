"""Entities built as MLflow's tests and users build them (its constructors, positional orders and
enum helpers), and log_batch's conversions as MLflow's client makes them."""

from __future__ import annotations

import numpy as np
import pytest

import mlcask
from mlcask.entities import (
    Experiment,
    LifecycleStage,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    SourceType,
    ViewType,
)
from mlcask.exceptions import InvalidArgumentError, MlcaskException


def test_run_info_takes_mlflows_positional_order_without_run_name():
    info = RunInfo("r1", "0", "ann", RunStatus.FINISHED, 10, 20, LifecycleStage.ACTIVE)
    assert (info.run_id, info.experiment_id, info.user_id, info.status, info.start_time, info.end_time,
            info.lifecycle_stage, info.artifact_uri, info.run_name) == ("r1", "0", "ann", "FINISHED", 10, 20, "active",
                                                                         None, None)
    by_keyword = RunInfo(run_uuid="r2", run_id="r2", experiment_id="1", user_id="u", status=RunStatus.RUNNING,
                         start_time=0, end_time=0, lifecycle_stage=LifecycleStage.ACTIVE, artifact_uri="s3://b/x")
    assert by_keyword.run_uuid == "r2" and by_keyword.artifact_uri == "s3://b/x"
    assert RunInfo(run_uuid="r3", experiment_id="0", user_id="u", status=3, start_time=0).status == "FINISHED"
    assert by_keyword == RunInfo("r2", "1", "u", "RUNNING", 0, 0, "active", "s3://b/x")


def test_run_data_from_mlflows_lists_or_dicts():
    data = RunData(metrics=[Metric("mse", 0.2, 0, 0), Metric("loss", 1.2, 0, 5)], params=[Param("k", "v")],
                   tags=[RunTag("t", "x")])
    assert data.metrics == {"mse": 0.2, "loss": 1.2} and data.params == {"k": "v"} and data.tags == {"t": "x"}
    assert data.latest_metrics["loss"].step == 5 and [m.key for m in data._metric_objs] == ["mse", "loss"]
    assert RunData() == RunData(metrics=None, params=None, tags=None)
    assert RunData(metrics={"a": 1.0}).metrics == {"a": 1.0} and RunData(metrics={"a": 1.0}).latest_metrics == {}


def test_run_takes_run_info_and_run_data_by_position_or_mlflows_names():
    info = RunInfo("r", "0", "u", "RUNNING", 0, None, "active")
    run = Run(info, RunData(params=[Param("a", "1")]))
    assert run.info is info and run.data.params == {"a": "1"} and run.inputs.dataset_inputs == []
    assert Run(run_info=info, run_data=None).data == RunData()
    assert Run(info=info, data=run.data).data is run.data
    assert run.to_dictionary()["info"]["run_id"] == "r" and run.to_dictionary()["data"]["params"] == {"a": "1"}
    with pytest.raises(MlcaskException, match="run_info cannot be None"):
        Run(None, RunData())


def test_run_status_helpers():
    assert RunStatus.to_string(RunStatus.FINISHED) == "FINISHED" and RunStatus.to_string(3) == "FINISHED"
    assert RunStatus.from_string("KILLED") == RunStatus.KILLED
    assert RunStatus.to_string(RunStatus.from_string("RUNNING")) == "RUNNING"
    assert RunStatus.all_status() == ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
    assert [RunStatus.is_terminated(s) for s in RunStatus.all_status()] == [False, False, True, True, True]
    assert RunStatus.is_terminated(4) and not RunStatus.is_terminated(1)
    with pytest.raises(ValueError, match="Valid run status strings"):
        RunStatus.from_string("DONE")
    with pytest.raises(ValueError, match="Could not get string corresponding to run status 9"):
        RunStatus.to_string(9)


def test_source_type_view_type_and_lifecycle_stage():
    assert SourceType.to_string(SourceType.NOTEBOOK) == "NOTEBOOK" and SourceType.from_string("LOCAL") == 4
    assert SourceType.to_string(SourceType.from_string("JOB")) == "JOB"
    with pytest.raises(ValueError, match="source type"):
        SourceType.from_string("CLOUD")
    assert ViewType.from_string("all") == ViewType.ALL and ViewType.to_string(ViewType.DELETED_ONLY) == "deleted_only"
    with pytest.raises(ValueError, match="view type"):
        ViewType.from_string("ALL")
    assert LifecycleStage.view_type_to_stages(ViewType.ALL) == ["active", "deleted"]
    assert LifecycleStage.view_type_to_stages(ViewType.ACTIVE_ONLY) == ["active"]
    assert LifecycleStage.is_valid("deleted") and not LifecycleStage.is_valid("gone")
    assert LifecycleStage.matches_view_type(ViewType.ACTIVE_ONLY, "active")
    assert not LifecycleStage.matches_view_type(ViewType.DELETED_ONLY, "active")
    with pytest.raises(MlcaskException, match="Invalid lifecycle stage 'gone'"):
        LifecycleStage.matches_view_type(ViewType.ALL, "gone")


def test_metric_param_tag_and_experiment_constructors():
    assert Metric("m", 1.0, 5, 2).step == 2 and Metric("m", 1.0, 5).step == 0
    assert Metric("m", 1.0, 5, 0, "m-1", "eval", "abc").dataset_digest == "abc"
    with pytest.raises(InvalidArgumentError, match="Both dataset_name and dataset_digest must be provided"):
        Metric("m", 1.0, 5, 0, dataset_name="eval")
    assert Param("a", "1") == Param("a", "1") and RunTag("t", "v").value == "v"
    experiment = Experiment("1", "name", "/tmp", LifecycleStage.ACTIVE, None)
    assert experiment.tags == {} and Experiment("1", "n", "/a", "active", [RunTag("k", "v")]).tags == {"k": "v"}


def test_logged_model_status_and_constructor():
    assert LoggedModelStatus.READY == "READY" and str(LoggedModelStatus.READY) == "READY"
    assert f"{LoggedModelStatus.FAILED}" == "FAILED"
    assert LoggedModelStatus.from_int(2) is LoggedModelStatus.READY and LoggedModelStatus.PENDING.to_int() == 1
    assert LoggedModelStatus.is_finalized("READY") and not LoggedModelStatus.is_finalized(LoggedModelStatus.PENDING)
    model = LoggedModel("m-1", "0", "n", "loc", 1, 2, 2, tags=[RunTag("t", "v")], params={"p": "1"})
    assert model.status is LoggedModelStatus.READY and model.tags == {"t": "v"} and model.model_uri == "models:/m-1"
    assert model.to_dictionary()["status"] == 2 and "model_uri" not in model.to_dictionary()
    assert LoggedModel("m-2", "0", "n", "loc", 1, 2, "PENDING").status is LoggedModelStatus.PENDING


def test_log_batch_stores_non_string_values_as_str_and_converts_metric_values(tracking):
    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        client.log_batch(run.info.run_id, metrics=[Metric("np", np.float32(0.5), 1, 0), Metric("text", "2.5", 1, 0)],
                         params=[Param("n", 5), Param("f", 0.1), Param("none", None), Param("s", "x")],
                         tags=[RunTag("flag", True)])
        client.log_metric(run.info.run_id, "array", np.array([3.0]))
        assert client.log_param(run.info.run_id, "depth", 7) == 7
        with pytest.raises(MlcaskException, match="must be a number"):
            client.log_metric(run.info.run_id, "word", "high")
    data = mlcask.get_run(run.info.run_id).data
    assert data.params == {"n": "5", "f": "0.1", "none": "None", "s": "x", "depth": "7"}
    assert data.tags["flag"] == "True"
    assert data.metrics["np"] == 0.5 and data.metrics["text"] == 2.5 and data.metrics["array"] == 3.0


def test_log_batch_over_the_limits_is_split_as_mlflows_client_splits_it(tracking):
    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        client.log_batch(run.info.run_id, metrics=[Metric(f"m{i}", float(i), 1, 0) for i in range(2345)],
                         params=[Param(f"p{i}", i) for i in range(250)], tags=[RunTag(f"t{i}", i) for i in range(1001)])
    data = mlcask.get_run(run.info.run_id).data
    assert len(data.metrics) == 2345 and len(data.params) == 250 and len(data.tags) >= 1001
    assert data.params["p249"] == "249" and data.tags["t1000"] == "1000"


def test_mlflows_entity_module_paths():
    from mlcask.entities import logged_model_status, metric, run_info, source_type

    assert metric.Metric is Metric and logged_model_status.LoggedModelStatus is LoggedModelStatus
    assert run_info.RunInfo is RunInfo and source_type.SourceType is SourceType


def test_environment_variable_objects(monkeypatch):
    from mlcask import environment_variables as env

    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    assert not env.MLFLOW_EXPERIMENT_NAME.defined and env.MLFLOW_EXPERIMENT_NAME.get() is None
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "exp")
    assert env.MLFLOW_EXPERIMENT_NAME.defined and env.MLFLOW_EXPERIMENT_NAME.get() == "exp"
    assert f"{env.MLFLOW_EXPERIMENT_NAME}" == "MLFLOW_EXPERIMENT_NAME"
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "TRUE")
    assert env.MLFLOW_ENABLE_ASYNC_LOGGING.get() is True
    env.MLFLOW_ENABLE_ASYNC_LOGGING.set(False)
    assert env.MLFLOW_ENABLE_ASYNC_LOGGING.get() is False
    env.MLFLOW_ENABLE_ASYNC_LOGGING.unset()
    assert env.MLFLOW_ENABLE_ASYNC_LOGGING.get() is False and not env.MLFLOW_ENABLE_ASYNC_LOGGING.defined


def test_mlflows_reserved_tag_names_are_the_ones_runs_get(tracking):
    from mlcask.utils import mlflow_tags

    with mlcask.start_run(description="about") as parent:
        with mlcask.start_run(nested=True, run_name="child") as child:
            pass
    tags = mlcask.get_run(child.info.run_id).data.tags
    assert tags[mlflow_tags.MLFLOW_PARENT_RUN_ID] == parent.info.run_id and tags[mlflow_tags.MLFLOW_RUN_NAME] == "child"
    assert mlcask.get_run(parent.info.run_id).data.tags[mlflow_tags.MLFLOW_RUN_NOTE] == "about"
    assert {mlflow_tags.MLFLOW_USER, mlflow_tags.MLFLOW_SOURCE_NAME, mlflow_tags.MLFLOW_SOURCE_TYPE} <= set(tags)
    external = mlcask.create_external_model(name="ext")
    assert external.tags[mlflow_tags.MLFLOW_MODEL_IS_EXTERNAL] == "true"
