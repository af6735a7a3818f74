"""The entity <-> MLflow proto-JSON codec: round trips, MLflow's exact shapes, bad input."""

from __future__ import annotations

import json
import math

import pytest

from mlcask.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    RegisteredModelAlias,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)
from mlcask.entities import messages as m
from mlcask.exceptions import InvalidArgumentError


def _run() -> Run:
    info = RunInfo(run_id="r1", experiment_id="3", run_name="brave-cat", user_id="ann", status="FINISHED",
                   start_time=1_700_000_000_000, end_time=1_700_000_000_500, artifact_uri="mlflow-artifacts:/3/r1/artifacts")
    data = RunData(metrics={"acc": 0.5, "loss": math.nan, "up": math.inf}, params={"lr": "0.1"},
                   tags={"mlflow.runName": "brave-cat"})
    dataset = Dataset(name="iris", digest="abc", source_type="local", source='{"uri": "x"}', schema='{"a": 1}')
    inputs = RunInputs(dataset_inputs=[DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])],
                       model_inputs=["m-1"])
    return Run(info, data, inputs)


def _same_run(a: Run, b: Run) -> None:
    assert a.info == b.info
    assert a.data.params == b.data.params and a.data.tags == b.data.tags
    assert a.data.metrics.keys() == b.data.metrics.keys()
    for key, value in a.data.metrics.items():
        assert value == b.data.metrics[key] or (math.isnan(value) and math.isnan(b.data.metrics[key]))
    assert a.inputs == b.inputs


def test_run_round_trip_through_json():
    run = _run()
    message = m.run_to_message(run)
    back = m.run_from_message(json.loads(json.dumps(message, allow_nan=False)))
    _same_run(run, back)


def test_run_message_has_mlflow_shape():
    message = m.run_to_message(_run())
    assert message["info"] == {
        "run_id": "r1", "run_uuid": "r1", "experiment_id": "3", "run_name": "brave-cat", "user_id": "ann",
        "status": "FINISHED", "start_time": 1_700_000_000_000, "end_time": 1_700_000_000_500,
        "artifact_uri": "mlflow-artifacts:/3/r1/artifacts", "lifecycle_stage": "active"}
    assert {"key": "loss", "value": "NaN"} in message["data"]["metrics"]
    assert {"key": "up", "value": "Infinity"} in message["data"]["metrics"]
    assert message["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert message["inputs"]["model_inputs"] == [{"model_id": "m-1"}]
    assert message["inputs"]["dataset_inputs"][0]["dataset"]["schema"] == '{"a": 1}'
    assert "profile" not in message["inputs"]["dataset_inputs"][0]["dataset"]


def test_empty_run_sends_empty_parts_and_no_end_time():
    info = RunInfo(run_id="r", experiment_id="0", run_name="n", user_id="u", status="RUNNING", start_time=1,
                   end_time=None, artifact_uri="a")
    message = m.run_to_message(Run(info, RunData(), RunInputs()))
    assert message["data"] == {} and message["inputs"] == {} and "outputs" not in message
    assert "end_time" not in message["info"]


def test_run_from_mlflow_message_with_run_uuid_only_and_numeric_status():
    run = m.run_from_message({"info": {"run_uuid": "abc", "experiment_id": "0", "status": 3, "start_time": "17"}})
    assert run.info.run_id == "abc" and run.info.status == "FINISHED" and run.info.start_time == 17
    assert run.data.metrics == {} and run.inputs.dataset_inputs == []


@pytest.mark.parametrize("metric", [
    Metric("a", 1.5, 10, 2),
    Metric("b", -math.inf, 0, 0),
    Metric("c", 0.0, 5, 7, model_id="m-1", dataset_name="d", dataset_digest="x", run_id="r"),
])
def test_metric_round_trip(metric):
    assert m.metric_from_message(json.loads(json.dumps(m.metric_to_message(metric)))) == metric


def test_metric_nan_is_the_string_nan():
    message = m.metric_to_message(Metric("a", math.nan, 1, 0))
    assert message == {"key": "a", "value": "NaN", "timestamp": 1, "step": 0}
    assert math.isnan(m.metric_from_message(message).value)


def test_experiment_round_trip_and_shape():
    experiment = Experiment("7", "exp", "mlflow-artifacts:/7", "active", {"team": "a"}, 11, 12)
    message = m.experiment_to_message(experiment)
    assert message == {"experiment_id": "7", "name": "exp", "artifact_location": "mlflow-artifacts:/7",
                       "lifecycle_stage": "active", "creation_time": 11, "last_update_time": 12,
                       "tags": [{"key": "team", "value": "a"}]}
    assert m.experiment_from_message(message) == experiment


def test_params_and_tags():
    assert m.param_from_message(m.param_to_message(Param("k", "v"))) == Param("k", "v")
    assert m.run_tag_from_message(m.run_tag_to_message(RunTag("k", ""))) == RunTag("k", "")
    assert m.run_tag_from_message({"key": "k"}) == RunTag("k", "")
    assert m.tags_from_messages(m.tags_to_messages({"a": "1", "b": "2"})) == {"a": "1", "b": "2"}


def test_logged_model_round_trip_and_status_names():
    model = LoggedModel(model_id="m-1", experiment_id="0", name="model", artifact_location="mlflow-artifacts:/0/models/m-1/artifacts",
                        creation_timestamp=1, last_updated_timestamp=2, status="READY", source_run_id="r",
                        model_type="agent", tags={"t": "1"}, params={"alpha": "0.5"})
    message = m.logged_model_to_message(model)
    assert message["info"]["status"] == "LOGGED_MODEL_READY"
    assert message["info"]["artifact_uri"] == model.artifact_location
    assert message["data"] == {"params": [{"key": "alpha", "value": "0.5"}]}
    assert m.logged_model_from_message(message) == model
    for status, proto in [("PENDING", "LOGGED_MODEL_PENDING"), ("FAILED", "LOGGED_MODEL_UPLOAD_FAILED")]:
        assert m.logged_model_status_to_message(status) == proto
        assert m.logged_model_status_from_message(proto) == status
    assert m.logged_model_status_from_message(2) == "READY"


def test_file_info():
    assert m.file_info_to_message(FileInfo("a/b.txt", False, 12)) == {"path": "a/b.txt", "is_dir": False,
                                                                        "file_size": 12}
    assert m.file_info_to_message(FileInfo("a", True, None)) == {"path": "a", "is_dir": True}
    assert m.file_info_from_message({"path": "e", "is_dir": False}) == FileInfo("e", False, 0)
    assert m.file_info_from_message({"path": "a", "is_dir": True}) == FileInfo("a", True, None)


def test_registry_round_trips():
    version = ModelVersion(name="m", version="3", creation_timestamp=1, last_updated_timestamp=2, source="models:/m-1",
                           description="d", run_id="r", model_id="m-1", user_id="u", tags={"k": "v"},
                           aliases=["champion"], current_stage="Staging")
    message = m.model_version_to_message(version)
    assert message["status"] == "READY" and message["aliases"] == ["champion"]
    assert m.model_version_from_message(message) == version
    model = RegisteredModel(name="m", creation_timestamp=1, last_updated_timestamp=2, description="d",
                            tags={"k": "v"}, aliases={"champion": "3"}, latest_versions=[version])
    message = m.registered_model_to_message(model)
    assert message["aliases"] == [{"alias": "champion", "version": "3"}]
    assert m.registered_model_from_message(message) == model
    alias = RegisteredModelAlias("a", "1")
    assert m.registered_model_alias_from_message(m.registered_model_alias_to_message(alias)) == alias


def test_minimal_registry_messages_get_defaults():
    version = m.model_version_from_message({"name": "m", "version": "1", "creation_timestamp": 5, "status": 3})
    assert version.status == "READY" and version.current_stage == "None" and version.tags == {}
    assert m.model_version_to_message(ModelVersion("m", "1", 5, 5, "s"))["current_stage"] == "None"
    assert m.registered_model_from_message({"name": "m"}).latest_versions == []


@pytest.mark.parametrize("value, expected", [(3, 3), ("42", 42), (-5, -5), ("-7", -7), (2.0, 2)])
def test_int64_from_json(value, expected):
    assert m.int64_from_json(value) == expected


@pytest.mark.parametrize("value", [True, "1.5", 1.5, "x", None, [], str(2 ** 63), "٣"])
def test_int64_from_json_refuses(value):
    with pytest.raises(InvalidArgumentError, match="field 'step'"):
        m.int64_from_json(value, "step")


@pytest.mark.parametrize("value, expected", [(1, 1.0), ("2.5", 2.5), ("Infinity", math.inf),
                                             ("-Infinity", -math.inf)])
def test_double_from_json(value, expected):
    assert m.double_from_json(value) == expected


@pytest.mark.parametrize("value", [True, "nan", "inf", "abc", None, {}])
def test_double_from_json_refuses(value):
    with pytest.raises(InvalidArgumentError, match="expected a number"):
        m.double_from_json(value)


def test_wrong_types_name_the_field():
    with pytest.raises(InvalidArgumentError, match=r"'run\.info\.user_id': expected a string"):
        m.run_from_message({"info": {"run_id": "r", "user_id": 5}})
    with pytest.raises(InvalidArgumentError, match=r"'run\.data\.metrics\[0\]\.value'"):
        m.run_from_message({"data": {"metrics": [{"key": "a", "value": "high"}]}})
    with pytest.raises(InvalidArgumentError, match=r"'experiment\.tags'"):
        m.experiment_from_message({"experiment_id": "1", "tags": {"a": "b"}})
    with pytest.raises(InvalidArgumentError, match=r"'model_version\.status'"):
        m.model_version_from_message({"name": "m", "status": "BROKEN"})
    with pytest.raises(InvalidArgumentError, match=r"'model\.info\.status'"):
        m.logged_model_from_message({"info": {"status": "DONE"}})


@pytest.mark.interop
def test_mlflow_parses_and_renders_our_messages_identically(tmp_path):
    """MLflow's own parse_dict + entity from_proto + message_to_json give back exactly our JSON."""
    from bench.mlflow_env import run_in_mlflow

    messages = {
        "Run": m.run_to_message(_run()),
        "Experiment": m.experiment_to_message(Experiment("7", "e", "loc", "active", {"a": "b"}, 1, 2)),
        "LoggedModel": m.logged_model_to_message(LoggedModel("m-1", "0", "n", "a", 1, 2, "READY", "r", "t",
                                                             {"a": "b"}, {"p": "1"})),
        "Metric": m.metric_to_message(Metric("a", math.nan, 1, 2, run_id="r")),
        "ModelVersion": m.model_version_to_message(ModelVersion("m", "1", 1, 2, "s", "d", "r", "m-1", "READY", "u",
                                                                {"a": "b"}, ["x"], "None")),
        "RegisteredModel": m.registered_model_to_message(RegisteredModel("m", 1, 2, "d", {"a": "b"}, {"x": "1"})),
    }
    (tmp_path / "messages.json").write_text(json.dumps(messages))
    out = run_in_mlflow("""
        import json
        from mlflow.protos import service_pb2 as s, model_registry_pb2 as r
        from mlflow.utils.proto_json_utils import parse_dict, message_to_json
        from mlflow.entities import Run, Experiment, LoggedModel, Metric
        from mlflow.entities.model_registry import ModelVersion, RegisteredModel
        messages = json.load(open("messages.json"))
        back = {}
        for name, proto, entity in [("Run", s.Run, Run), ("Experiment", s.Experiment, Experiment),
                                    ("LoggedModel", s.LoggedModel, LoggedModel), ("Metric", s.Metric, Metric),
                                    ("ModelVersion", r.ModelVersion, ModelVersion),
                                    ("RegisteredModel", r.RegisteredModel, RegisteredModel)]:
            message = proto()
            parse_dict(messages[name], message)
            entity.from_proto(message)
            back[name] = json.loads(message_to_json(message))
        print(json.dumps(back))
    """, cwd=tmp_path)
    assert json.loads(out) == messages


def test_latest_metrics_carry_timestamp_and_step_and_outputs_round_trip():
    info = RunInfo(run_id="r", experiment_id="0", run_name="n", user_id="u", status="RUNNING", start_time=1,
                   end_time=None, artifact_uri="a")
    data = RunData(metrics={"loss": 0.25, "acc": 0.9}, latest_metrics={"loss": Metric("loss", 0.25, 1234, 7)})
    run = Run(info, data, RunInputs(), RunOutputs([LoggedModelOutput("m-1", 3)]))
    message = m.run_to_message(run)
    assert {"key": "loss", "value": 0.25, "timestamp": 1234, "step": 7} in message["data"]["metrics"]
    assert {"key": "acc", "value": 0.9} in message["data"]["metrics"]  # no latest object: value only
    assert message["outputs"] == {"model_outputs": [{"model_id": "m-1", "step": 3}]}
    back = m.run_from_message(json.loads(json.dumps(message)))
    assert back.data.latest_metrics["loss"] == Metric("loss", 0.25, 1234, 7)
    assert back.outputs == run.outputs
