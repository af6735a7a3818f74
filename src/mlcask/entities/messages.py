"""The one codec between mlcask entities and MLflow's REST messages (proto-JSON).

MLflow's server turns each entity into its protobuf message and renders it as JSON with
field names kept (``preserving_proto_field_name``), int64 fields as JSON numbers, enums
by name, fields that are not set left out, and doubles that JSON cannot hold as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``. The functions here produce and read
exactly that, so the tracking server emits what MLflow's client parses and the REST store
parses what an ``mlflow server`` (or ``mlcask server``) sends.

``<entity>_to_message(entity) -> dict`` and ``<entity>_from_message(dict) -> entity``
exist for every entity (experiments, runs and their parts, metrics, params, tags,
datasets, logged models, artifact listings, registered models and model versions). The
``*_from_message`` functions take what a server sends: missing optional fields get the
entity's defaults; a field of the wrong type is an :class:`InvalidArgumentError` naming it.

What the entities do not hold is not invented: a run's latest metrics carry only their
values (``RunData.metrics`` is a ``{key: value}`` dict), so their messages have no
``timestamp`` or ``step``; runs carry no outputs, so no ``outputs`` is sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from mlcask.entities.registry import ModelVersion, RegisteredModel, RegisteredModelAlias
from mlcask.entities.runs import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
)
from mlcask.exceptions import InvalidArgumentError

__all__ = [
    "LOGGED_MODEL_STATUS_FROM_PROTO", "LOGGED_MODEL_STATUS_TO_PROTO", "MODEL_VERSION_STATUSES", "RUN_STATUSES",
    "dataset_from_message", "dataset_input_from_message", "dataset_input_to_message", "dataset_to_message",
    "double_from_json", "double_to_json", "experiment_from_message", "experiment_to_message", "file_info_from_message",
    "file_info_to_message", "int64_from_json", "logged_model_from_message", "logged_model_status_from_message",
    "logged_model_status_to_message", "logged_model_to_message", "metric_from_message", "metric_to_message",
    "model_version_from_message", "model_version_to_message", "param_from_message", "param_to_message",
    "registered_model_alias_from_message", "registered_model_alias_to_message", "registered_model_from_message",
    "registered_model_to_message", "run_data_from_message", "run_data_to_message", "run_from_message",
    "run_info_from_message", "run_info_to_message", "run_inputs_from_message", "run_inputs_to_message",
    "run_outputs_from_message", "run_outputs_to_message", "run_status_from_message", "run_tag_from_message", "run_tag_to_message", "run_to_message", "tag_from_message", "tag_to_message", "tags_from_messages",
    "tags_to_messages",
]

#: MLflow's RunStatus enum: name -> number (the JSON carries the name; numbers are accepted on input).
RUN_STATUSES: dict[str, int] = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
#: MLflow's ModelVersionStatus enum.
MODEL_VERSION_STATUSES: dict[str, int] = {"PENDING_REGISTRATION": 1, "FAILED_REGISTRATION": 2, "READY": 3}
#: mlcask's LoggedModelStatus -> MLflow's LoggedModelStatus enum name.
LOGGED_MODEL_STATUS_TO_PROTO: dict[str, str] = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
#: MLflow's LoggedModelStatus enum name -> mlcask's LoggedModelStatus (and MLflow's entity names, accepted too).
LOGGED_MODEL_STATUS_FROM_PROTO: dict[str, str] = {
    **{proto: status for status, proto in LOGGED_MODEL_STATUS_TO_PROTO.items()},
    **{status: status for status in LOGGED_MODEL_STATUS_TO_PROTO},
}
_LOGGED_MODEL_STATUS_NUMBERS = {1: LoggedModelStatus.PENDING, 2: LoggedModelStatus.READY,
                                3: LoggedModelStatus.FAILED}
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# -- scalars --------------------------------------------------------------------------------------------------------

def double_to_json(value: float) -> float | str:
    """A double as MLflow's JSON has it: a number, or ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    value = float(value)
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def double_from_json(value: Any, field: str = "value") -> float:
    """A double from proto-JSON: a number, a decimal string, or ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, bool):
        raise _bad(field, "a number", value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        try:
            number = float(value)
        except ValueError:
            raise _bad(field, "a number", value) from None
        if math.isfinite(number):
            return number
    raise _bad(field, "a number", value)


def int64_from_json(value: Any, field: str = "value") -> int:
    """An int64 from proto-JSON: an integer number, or a string of decimal digits (protobuf's own rendering)."""
    if isinstance(value, bool):
        raise _bad(field, "an integer", value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.strip().isascii():
        number = int(value)
    else:
        raise _bad(field, "an integer", value)
    if not -(2 ** 63) <= number < 2 ** 63:
        raise _bad(field, "an integer that fits in 64 bits", value)
    return number


def _bad(field: str, expected: str, value: Any) -> InvalidArgumentError:
    shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:200] + "..."
    return InvalidArgumentError(f"Invalid value {shown} for field '{field}': expected {expected}.")


def _get(message: Mapping[str, Any], field: str, kind: type, default: Any = None, where: str = "") -> Any:
    """``message[field]`` when present and of ``kind``; ``default`` when absent or null."""
    value = message.get(field)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}
        raise _bad(f"{where}{field}", names.get(kind, kind.__name__), value)
    return value


def _int(message: Mapping[str, Any], field: str, where: str = "") -> int | None:
    value = message.get(field)
    return None if value is None else int64_from_json(value, f"{where}{field}")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, "an object", value)
    return value


def _objects(message: Mapping[str, Any], field: str, where: str = "") -> list[Mapping[str, Any]]:
    return [_object(item, f"{where}{field}[{i}]") for i, item in enumerate(_get(message, field, list, [], where))]


def _drop_none(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if value is not None}


# -- tags, params, metrics -------------------------------------------------------------------------------------------

def tag_to_message(key: str, value: str) -> dict[str, str]:
    """A ``{key, value}`` pair (every tag message, and Param, share this shape)."""
    return {"key": key, "value": value}


def tag_from_message(message: Mapping[str, Any], where: str = "tag") -> tuple[str, str]:
    """``(key, value)`` of a tag or param message; a missing value is ``""`` as in protobuf."""
    message = _object(message, where)
    return _get(message, "key", str, "", f"{where}."), _get(message, "value", str, "", f"{where}.")


def tags_to_messages(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A ``{key: value}`` mapping as a list of tag messages."""
    return [{"key": key, "value": value} for key, value in tags.items()]


def tags_from_messages(messages: Iterable[Any] | None, where: str = "tags") -> dict[str, str]:
    """A list of tag messages as a ``{key: value}`` dict (later keys win)."""
    if messages is None:
        return {}
    if not isinstance(messages, list):
        raise _bad(where, "a list", messages)
    return dict(tag_from_message(item, f"{where}[{i}]") for i, item in enumerate(messages))


def param_to_message(param: Param) -> dict[str, str]:
    return {"key": param.key, "value": param.value}


def param_from_message(message: Mapping[str, Any]) -> Param:
    return Param(*tag_from_message(message, "param"))


def run_tag_to_message(tag: RunTag) -> dict[str, str]:
    return {"key": tag.key, "value": tag.value}


def run_tag_from_message(message: Mapping[str, Any]) -> RunTag:
    return RunTag(*tag_from_message(message, "tag"))


def metric_to_message(metric: Metric) -> dict[str, Any]:
    """A Metric message (MLflow's ``Metric``, or ``MetricWithRunId`` when ``run_id`` is set)."""
    message: dict[str, Any] = {"key": metric.key, "value": double_to_json(metric.value),
                               "timestamp": metric.timestamp, "step": metric.step}
    if metric.dataset_name:
        message["dataset_name"] = metric.dataset_name
    if metric.dataset_digest:
        message["dataset_digest"] = metric.dataset_digest
    if metric.model_id:
        message["model_id"] = metric.model_id
    if metric.run_id:
        message["run_id"] = metric.run_id
    return message


def metric_from_message(message: Mapping[str, Any], where: str = "metric") -> Metric:
    message = _object(message, where)
    prefix = f"{where}."
    return Metric(
        key=_get(message, "key", str, "", prefix),
        value=double_from_json(message.get("value", 0.0), f"{prefix}value"),
        timestamp=_int(message, "timestamp", prefix) or 0,
        step=_int(message, "step", prefix) or 0,
        model_id=_get(message, "model_id", str, None, prefix) or None,
        dataset_name=_get(message, "dataset_name", str, None, prefix) or None,
        dataset_digest=_get(message, "dataset_digest", str, None, prefix) or None,
        run_id=_get(message, "run_id", str, None, prefix) or None,
    )


# -- experiments -----------------------------------------------------------------------------------------------------

def experiment_to_message(experiment: Experiment) -> dict[str, Any]:
    message: dict[str, Any] = {"experiment_id": experiment.experiment_id, "name": experiment.name,
                               "artifact_location": experiment.artifact_location,
                               "lifecycle_stage": experiment.lifecycle_stage}
    if experiment.creation_time:
        message["creation_time"] = experiment.creation_time
    if experiment.last_update_time:
        message["last_update_time"] = experiment.last_update_time
    if experiment.tags:
        message["tags"] = tags_to_messages(experiment.tags)
    return message


def experiment_from_message(message: Mapping[str, Any]) -> Experiment:
    message = _object(message, "experiment")
    p = "experiment."
    return Experiment(
        experiment_id=_get(message, "experiment_id", str, "", p),
        name=_get(message, "name", str, "", p),
        artifact_location=_get(message, "artifact_location", str, "", p),
        lifecycle_stage=_get(message, "lifecycle_stage", str, LifecycleStage.ACTIVE, p),
        tags=tags_from_messages(message.get("tags"), f"{p}tags"),
        creation_time=_int(message, "creation_time", p),
        last_update_time=_int(message, "last_update_time", p),
    )


# -- runs ------------------------------------------------------------------------------------------------------------

def run_status_from_message(value: Any, field: str = "status") -> str:
    """A RunStatus name from its JSON form (the name, or MLflow's enum number)."""
    if isinstance(value, str) and value in RUN_STATUSES:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in RUN_STATUSES.items():
            if number == value:
                return name
    raise _bad(field, f"one of {', '.join(RUN_STATUSES)}", value)


def run_info_to_message(info: RunInfo) -> dict[str, Any]:
    message: dict[str, Any] = {"run_id": info.run_id, "run_uuid": info.run_id, "experiment_id": info.experiment_id,
                               "status": info.status, "start_time": info.start_time,
                               "lifecycle_stage": info.lifecycle_stage}
    if info.user_id is not None:
        message["user_id"] = info.user_id
    if info.run_name is not None:
        message["run_name"] = info.run_name
    if info.end_time:
        message["end_time"] = info.end_time
    if info.artifact_uri:
        message["artifact_uri"] = info.artifact_uri
    return message


def run_info_from_message(message: Mapping[str, Any]) -> RunInfo:
    message = _object(message, "run.info")
    p = "run.info."
    status = message.get("status")
    return RunInfo(
        run_id=_get(message, "run_id", str, None, p) or _get(message, "run_uuid", str, "", p),
        experiment_id=_get(message, "experiment_id", str, "", p),
        run_name=_get(message, "run_name", str, "", p),
        user_id=_get(message, "user_id", str, "", p),
        status=RunStatus.RUNNING if status is None else run_status_from_message(status, f"{p}status"),
        start_time=_int(message, "start_time", p) or 0,
        end_time=_int(message, "end_time", p),
        artifact_uri=_get(message, "artifact_uri", str, "", p),
        lifecycle_stage=_get(message, "lifecycle_stage", str, LifecycleStage.ACTIVE, p),
    )


def run_data_to_message(data: RunData) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if data.metrics:
        latest = data.latest_metrics
        message["metrics"] = [metric_to_message(latest[key]) if key in latest
                              else {"key": key, "value": double_to_json(value)} for key, value in data.metrics.items()]
    if data.params:
        message["params"] = tags_to_messages(data.params)
    if data.tags:
        message["tags"] = tags_to_messages(data.tags)
    return message


def run_data_from_message(message: Mapping[str, Any]) -> RunData:
    message = _object(message, "run.data")
    metrics = [metric_from_message(item, f"run.data.metrics[{i}]")
               for i, item in enumerate(_objects(message, "metrics", "run.data."))]
    return RunData(metrics={metric.key: metric.value for metric in metrics},
                   params=tags_from_messages(message.get("params"), "run.data.params"),
                   tags=tags_from_messages(message.get("tags"), "run.data.tags"),
                   latest_metrics={metric.key: metric for metric in metrics})


def dataset_to_message(dataset: Dataset) -> dict[str, Any]:
    message = {"name": dataset.name, "digest": dataset.digest, "source_type": dataset.source_type,
               "source": dataset.source}
    if dataset.schema:
        message["schema"] = dataset.schema
    if dataset.profile:
        message["profile"] = dataset.profile
    return message


def dataset_from_message(message: Mapping[str, Any], where: str = "dataset") -> Dataset:
    message = _object(message, where)
    p = f"{where}."
    return Dataset(name=_get(message, "name", str, "", p), digest=_get(message, "digest", str, "", p),
                   source_type=_get(message, "source_type", str, "", p), source=_get(message, "source", str, "", p),
                   schema=_get(message, "schema", str, None, p) or None,
                   profile=_get(message, "profile", str, None, p) or None)


def dataset_input_to_message(dataset_input: DatasetInput) -> dict[str, Any]:
    message: dict[str, Any] = {"dataset": dataset_to_message(dataset_input.dataset)}
    if dataset_input.tags:
        message["tags"] = [{"key": tag.key, "value": tag.value} for tag in dataset_input.tags]
    return message


def dataset_input_from_message(message: Mapping[str, Any], where: str = "dataset_input") -> DatasetInput:
    message = _object(message, where)
    dataset = message.get("dataset")
    if dataset is None:
        raise InvalidArgumentError(f"Missing field '{where}.dataset': a dataset input must name its dataset.")
    tags = [InputTag(*tag_from_message(tag, f"{where}.tags[{i}]"))
            for i, tag in enumerate(_get(message, "tags", list, [], f"{where}."))]
    return DatasetInput(dataset=dataset_from_message(dataset, f"{where}.dataset"), tags=tags)


def run_inputs_to_message(inputs: RunInputs) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if inputs.dataset_inputs:
        message["dataset_inputs"] = [dataset_input_to_message(item) for item in inputs.dataset_inputs]
    if inputs.model_inputs:
        message["model_inputs"] = [{"model_id": model_id} for model_id in inputs.model_inputs]
    return message


def run_inputs_from_message(message: Mapping[str, Any]) -> RunInputs:
    message = _object(message, "run.inputs")
    p = "run.inputs."
    return RunInputs(
        dataset_inputs=[dataset_input_from_message(item, f"{p}dataset_inputs[{i}]")
                        for i, item in enumerate(_objects(message, "dataset_inputs", p))],
        model_inputs=[_get(item, "model_id", str, "", f"{p}model_inputs[{i}].")
                      for i, item in enumerate(_objects(message, "model_inputs", p))])


def run_outputs_to_message(outputs: RunOutputs) -> dict[str, Any]:
    if not outputs.model_outputs:
        return {}
    return {"model_outputs": [{"model_id": item.model_id, "step": item.step} for item in outputs.model_outputs]}


def run_outputs_from_message(message: Mapping[str, Any]) -> RunOutputs:
    message = _object(message, "run.outputs")
    p = "run.outputs."
    return RunOutputs([LoggedModelOutput(_get(item, "model_id", str, "", f"{p}model_outputs[{i}]."),
                                         _int(item, "step", f"{p}model_outputs[{i}].") or 0)
                       for i, item in enumerate(_objects(message, "model_outputs", p))])


def run_to_message(run: Run) -> dict[str, Any]:
    """A Run message: ``info``, ``data`` and ``inputs`` (as MLflow's server sends them, even when empty),
    and ``outputs`` when the run has any (MLflow leaves it out otherwise)."""
    message = {"info": run_info_to_message(run.info), "data": run_data_to_message(run.data),
               "inputs": run_inputs_to_message(run.inputs)}
    if run.outputs.model_outputs:
        message["outputs"] = run_outputs_to_message(run.outputs)
    return message


def run_from_message(message: Mapping[str, Any]) -> Run:
    message = _object(message, "run")
    return Run(info=run_info_from_message(message.get("info") or {}),
               data=run_data_from_message(message.get("data") or {}),
               inputs=run_inputs_from_message(message.get("inputs") or {}),
               outputs=run_outputs_from_message(message.get("outputs") or {}))


# -- logged models ---------------------------------------------------------------------------------------------------

def logged_model_status_to_message(status: str) -> str:
    """mlcask's LoggedModelStatus as MLflow's enum name (``READY`` -> ``LOGGED_MODEL_READY``)."""
    try:
        return LOGGED_MODEL_STATUS_TO_PROTO[status]
    except KeyError:
        raise _bad("status", f"one of {', '.join(LOGGED_MODEL_STATUS_TO_PROTO)}", status) from None


def logged_model_status_from_message(value: Any, field: str = "status") -> str:
    """mlcask's LoggedModelStatus from MLflow's enum (name or number; MLflow's entity names accepted)."""
    if isinstance(value, str) and value in LOGGED_MODEL_STATUS_FROM_PROTO:
        return LOGGED_MODEL_STATUS_FROM_PROTO[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in _LOGGED_MODEL_STATUS_NUMBERS:
        return _LOGGED_MODEL_STATUS_NUMBERS[value]
    raise _bad(field, f"one of {', '.join(LOGGED_MODEL_STATUS_TO_PROTO.values())}", value)


def logged_model_to_message(model: LoggedModel) -> dict[str, Any]:
    """A LoggedModel message: ``info`` (ids, timestamps, status, tags) and ``data`` (params, metrics)."""
    info: dict[str, Any] = {"model_id": model.model_id, "experiment_id": model.experiment_id, "name": model.name,
                            "creation_timestamp_ms": model.creation_timestamp,
                            "last_updated_timestamp_ms": model.last_updated_timestamp,
                            "artifact_uri": model.artifact_location,
                            "status": logged_model_status_to_message(model.status)}
    if model.model_type is not None:
        info["model_type"] = model.model_type
    if model.source_run_id is not None:
        info["source_run_id"] = model.source_run_id
    if model.tags:
        info["tags"] = tags_to_messages(model.tags)
    data: dict[str, Any] = {}
    if model.params:
        data["params"] = tags_to_messages(model.params)
    if model.metrics:
        data["metrics"] = [metric_to_message(metric) for metric in model.metrics]
    return {"info": info, "data": data}


def logged_model_from_message(message: Mapping[str, Any]) -> LoggedModel:
    message = _object(message, "model")
    info = _object(message.get("info") or {}, "model.info")
    data = _object(message.get("data") or {}, "model.data")
    p = "model.info."
    status = info.get("status")
    return LoggedModel(
        model_id=_get(info, "model_id", str, "", p),
        experiment_id=_get(info, "experiment_id", str, "", p),
        name=_get(info, "name", str, "", p),
        artifact_location=_get(info, "artifact_uri", str, "", p),
        creation_timestamp=_int(info, "creation_timestamp_ms", p) or 0,
        last_updated_timestamp=_int(info, "last_updated_timestamp_ms", p) or 0,
        status=(LoggedModelStatus.PENDING if status in (None, "LOGGED_MODEL_STATUS_UNSPECIFIED", 0)
                else logged_model_status_from_message(status, f"{p}status")),
        source_run_id=_get(info, "source_run_id", str, None, p) or None,
        model_type=_get(info, "model_type", str, None, p) or None,
        tags=tags_from_messages(info.get("tags"), f"{p}tags"),
        params=tags_from_messages(data.get("params"), "model.data.params"),
        metrics=[metric_from_message(item, f"model.data.metrics[{i}]")
                 for i, item in enumerate(_objects(data, "metrics", "model.data."))] or None,
    )


# -- artifacts -------------------------------------------------------------------------------------------------------

def file_info_to_message(file_info: FileInfo) -> dict[str, Any]:
    """A FileInfo message (``path``, ``is_dir``, and ``file_size`` for files of known size)."""
    message: dict[str, Any] = {"path": file_info.path, "is_dir": bool(file_info.is_dir)}
    if file_info.file_size is not None and not file_info.is_dir:
        message["file_size"] = file_info.file_size
    return message


def file_info_from_message(message: Mapping[str, Any]) -> FileInfo:
    """A FileInfo. A file whose size is missing has size 0, as MLflow's server leaves ``file_size``
    out for empty files."""
    message = _object(message, "file")
    is_dir = _get(message, "is_dir", bool, False, "file.")
    size = _int(message, "file_size", "file.")
    return FileInfo(_get(message, "path", str, "", "file."), is_dir, None if is_dir else (size or 0))


# -- model registry --------------------------------------------------------------------------------------------------

def registered_model_alias_to_message(alias: RegisteredModelAlias) -> dict[str, str]:
    return {"alias": alias.alias, "version": str(alias.version)}


def registered_model_alias_from_message(message: Mapping[str, Any]) -> RegisteredModelAlias:
    message = _object(message, "alias")
    return RegisteredModelAlias(alias=_get(message, "alias", str, "", "alias."),
                                version=_get(message, "version", str, "", "alias."))


def model_version_to_message(version: ModelVersion) -> dict[str, Any]:
    message = _drop_none({
        "name": version.name, "version": str(version.version), "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp, "description": version.description,
        "user_id": version.user_id, "current_stage": version.current_stage, "source": version.source,
        "run_id": version.run_id, "status": version.status, "model_id": version.model_id,
    })
    if version.tags:
        message["tags"] = tags_to_messages(version.tags)
    if version.aliases:
        message["aliases"] = list(version.aliases)
    return message


def model_version_from_message(message: Mapping[str, Any], where: str = "model_version") -> ModelVersion:
    message = _object(message, where)
    p = f"{where}."
    status = message.get("status", "READY")
    if isinstance(status, int) and not isinstance(status, bool):
        status = next((name for name, number in MODEL_VERSION_STATUSES.items() if number == status), status)
    if status not in MODEL_VERSION_STATUSES:
        raise _bad(f"{p}status", f"one of {', '.join(MODEL_VERSION_STATUSES)}", status)
    aliases = _get(message, "aliases", list, [], p)
    if not all(isinstance(alias, str) for alias in aliases):
        raise _bad(f"{p}aliases", "a list of strings", aliases)
    return ModelVersion(
        name=_get(message, "name", str, "", p),
        version=_get(message, "version", str, "", p),
        creation_timestamp=_int(message, "creation_timestamp", p) or 0,
        last_updated_timestamp=_int(message, "last_updated_timestamp", p) or 0,
        source=_get(message, "source", str, "", p),
        description=_get(message, "description", str, None, p),
        run_id=_get(message, "run_id", str, None, p) or None,
        model_id=_get(message, "model_id", str, None, p) or None,
        status=status,
        user_id=_get(message, "user_id", str, None, p) or None,
        tags=tags_from_messages(message.get("tags"), f"{p}tags"),
        aliases=list(aliases),
        current_stage=_get(message, "current_stage", str, "None", p),
    )


def registered_model_to_message(model: RegisteredModel) -> dict[str, Any]:
    message: dict[str, Any] = {"name": model.name, "creation_timestamp": model.creation_timestamp}
    if model.last_updated_timestamp:
        message["last_updated_timestamp"] = model.last_updated_timestamp
    if model.description:
        message["description"] = model.description
    if model.latest_versions:
        message["latest_versions"] = [model_version_to_message(version) for version in model.latest_versions]
    if model.tags:
        message["tags"] = tags_to_messages(model.tags)
    if model.aliases:
        message["aliases"] = [{"alias": alias, "version": str(version)} for alias, version in model.aliases.items()]
    return message


def registered_model_from_message(message: Mapping[str, Any]) -> RegisteredModel:
    message = _object(message, "registered_model")
    p = "registered_model."
    aliases = [registered_model_alias_from_message(_object(item, f"{p}aliases[{i}]"))
               for i, item in enumerate(_get(message, "aliases", list, [], p))]
    return RegisteredModel(
        name=_get(message, "name", str, "", p),
        creation_timestamp=_int(message, "creation_timestamp", p) or 0,
        last_updated_timestamp=_int(message, "last_updated_timestamp", p) or 0,
        description=_get(message, "description", str, None, p),
        tags=tags_from_messages(message.get("tags"), f"{p}tags"),
        aliases={alias.alias: alias.version for alias in aliases},
        latest_versions=[model_version_from_message(item, f"{p}latest_versions[{i}]")
                         for i, item in enumerate(_objects(message, "latest_versions", p))],
    )
