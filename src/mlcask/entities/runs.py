"""Experiments, runs and what is logged to them.

Constructors are as lax as MLflow's: ``RunInfo`` without ``run_name`` (MLflow's argument order),
``RunData`` from lists of ``Metric``/``Param``/``RunTag`` (or from dicts), ``Run(run_info, run_data)``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _name_of(table: Mapping[Any, str], value: Any, what: str) -> str:
    if value in table:
        return table[value]
    raise ValueError(f"Could not get string corresponding to {what} {value!r}. Valid {what}s: {list(table)}")


def _value_of(table: Mapping[str, Any], name: Any, what: str) -> Any:
    if name in table:
        return table[name]
    raise ValueError(f"Could not get {what} corresponding to string {name!r}. Valid {what} strings: {list(table)}")


class RunStatus:
    """A run's status. The constants are MLflow's names (``"FINISHED"``); ``to_string`` also takes
    MLflow's proto numbers (FINISHED is 3), ``from_string`` returns the constant."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)
    _NUMBERS = {1: RUNNING, 2: SCHEDULED, 3: FINISHED, 4: FAILED, 5: KILLED}

    @staticmethod
    def is_terminated(status: str | int) -> bool:
        return RunStatus._NUMBERS.get(status, status) in RunStatus.TERMINATED  # type: ignore[call-overload]

    @staticmethod
    def to_string(status: str | int) -> str:
        """The status name (``"FINISHED"``) of a constant or of MLflow's status number."""
        return _name_of({**RunStatus._NUMBERS, **{s: s for s in RunStatus.ALL}}, status, "run status")

    @staticmethod
    def from_string(status_str: str) -> str:
        return _value_of({s: s for s in RunStatus.ALL}, status_str, "run status")

    @staticmethod
    def all_status() -> list[str]:
        return list(RunStatus.ALL)


class SourceType:
    """Where a run came from (MLflow's numbers; the ``mlflow.source.type`` tag holds the name)."""

    NOTEBOOK, JOB, PROJECT, LOCAL, UNKNOWN = range(1, 6)
    SOURCETYPE_TO_STRING = {NOTEBOOK: "NOTEBOOK", JOB: "JOB", PROJECT: "PROJECT", LOCAL: "LOCAL", UNKNOWN: "UNKNOWN"}
    _STRING_TO_SOURCETYPE = {name: number for number, name in SOURCETYPE_TO_STRING.items()}

    @staticmethod
    def to_string(source_type: int) -> str:
        return _name_of(SourceType.SOURCETYPE_TO_STRING, source_type, "source type")

    @staticmethod
    def from_string(source_type_str: str) -> int:
        return _value_of(SourceType._STRING_TO_SOURCETYPE, source_type_str, "source type")


class ViewType:
    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3
    _VIEW_TO_STRING = {ACTIVE_ONLY: "active_only", DELETED_ONLY: "deleted_only", ALL: "all"}

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        return {1: (LifecycleStage.ACTIVE,), 2: (LifecycleStage.DELETED,),
                3: (LifecycleStage.ACTIVE, LifecycleStage.DELETED)}[view_type]

    @classmethod
    def from_string(cls, view_str: str) -> int:
        """``"active_only"``, ``"deleted_only"`` or ``"all"`` to the constant."""
        return _value_of({name: number for number, name in cls._VIEW_TO_STRING.items()}, view_str, "view type")

    @classmethod
    def to_string(cls, view_type: int) -> str:
        return _name_of(cls._VIEW_TO_STRING, view_type, "view type")


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"
    _VALID_STAGES = frozenset({ACTIVE, DELETED})

    @classmethod
    def view_type_to_stages(cls, view_type: int = ViewType.ALL) -> list[str]:
        return list(ViewType.stages(view_type))

    @classmethod
    def is_valid(cls, lifecycle_stage: str) -> bool:
        return lifecycle_stage in cls._VALID_STAGES

    @classmethod
    def matches_view_type(cls, view_type: int, lifecycle_stage: str) -> bool:
        from mlcask.exceptions import MlcaskException

        if not cls.is_valid(lifecycle_stage):
            raise MlcaskException(f"Invalid lifecycle stage '{lifecycle_stage}'")
        if view_type not in (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL):
            raise MlcaskException(f"Invalid view type '{view_type}'")
        return lifecycle_stage in ViewType.stages(view_type)


class LoggedModelStatus(enum.StrEnum):
    """A logged model's status: a string (``"READY"``) with MLflow's enum methods."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    @staticmethod
    def is_finalized(status: Any) -> bool:
        return status in (LoggedModelStatus.READY, LoggedModelStatus.FAILED)

    @classmethod
    def from_int(cls, status_int: int) -> LoggedModelStatus:
        return _value_of(dict(enumerate(cls)), status_int, "logged model status")

    def to_int(self) -> int:
        return list(LoggedModelStatus).index(self)


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if (self.dataset_name is None) != (self.dataset_digest is None):
            from mlcask.exceptions import InvalidArgumentError

            raise InvalidArgumentError("Both dataset_name and dataset_digest must be provided if one is provided "
                                       f"(metric {self.key!r}: dataset_name={self.dataset_name!r}, "
                                       f"dataset_digest={self.dataset_digest!r}).")


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ExperimentTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class LoggedModelTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class LoggedModelParameter:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(slots=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoggedModelOutput:
    """A logged model a run produced (``log_model`` records it), at a step."""

    model_id: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class LoggedModelInput:
    """A logged model a run used (``mlcask.log_inputs(models=[...])``)."""

    model_id: str


@dataclass(slots=True)
class RunOutputs:
    model_outputs: list[LoggedModelOutput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry of ``list_artifacts``: a path relative to the repository's root, and its size for files."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass(slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def __post_init__(self) -> None:
        self.tags = _as_dict(self.tags)


def _as_dict(items: Mapping[str, Any] | Iterable[Any] | None) -> dict[str, Any]:
    """``key -> value`` from a dict, or from a list of objects with ``key`` and ``value`` (MLflow's form)."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    return {item.key: item.value for item in items}


@dataclass(slots=True, init=False)
class RunInfo:
    """A run's metadata, MLflow's constructor: ``RunInfo(run_id, experiment_id, user_id, status,
    start_time, end_time, lifecycle_stage, artifact_uri=None, run_name=None)`` (``run_uuid`` is
    accepted for ``run_id``)."""

    run_id: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str | None
    run_name: str | None

    def __init__(self, run_id: str | None = None, experiment_id: str | None = None, user_id: str | None = None,
                 status: str = RunStatus.RUNNING, start_time: int | None = None, end_time: int | None = None,
                 lifecycle_stage: str = LifecycleStage.ACTIVE, artifact_uri: str | None = None,
                 run_name: str | None = None, *, run_uuid: str | None = None) -> None:
        self.run_id = run_id if run_id is not None else run_uuid  # type: ignore[assignment]
        self.experiment_id = experiment_id  # type: ignore[assignment]
        self.user_id = user_id  # type: ignore[assignment]
        self.status = RunStatus.to_string(status) if isinstance(status, int) else status
        self.start_time = start_time  # type: ignore[assignment]
        self.end_time = end_time
        self.lifecycle_stage = lifecycle_stage
        self.artifact_uri = artifact_uri
        self.run_name = run_name

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(slots=True, init=False)
class RunData:
    """A run's latest metric values, its params and its tags (key -> value, as MLflow's ``run.data``).

    Built from MLflow's lists (``RunData(metrics=[Metric(...)], params=[Param(...)], tags=[RunTag(...)])``)
    or from dicts. ``latest_metrics`` holds the metrics as :class:`Metric` objects, with the timestamp
    and step of each latest value (MLflow's ``run.data._metric_objs``); a store fills it where it knows them.
    """

    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    latest_metrics: dict[str, Metric]

    def __init__(self, metrics: Mapping[str, float] | Iterable[Metric] | None = None,
                 params: Mapping[str, str] | Iterable[Param] | None = None,
                 tags: Mapping[str, str] | Iterable[RunTag] | None = None,
                 latest_metrics: Mapping[str, Metric] | None = None) -> None:
        objects = {} if metrics is None or isinstance(metrics, Mapping) else {m.key: m for m in metrics}
        self.metrics = _as_dict(metrics)
        self.params = _as_dict(params)
        self.tags = _as_dict(tags)
        self.latest_metrics = dict(latest_metrics) if latest_metrics is not None else objects

    @property
    def _metric_objs(self) -> list[Metric]:
        return list(self.latest_metrics.values())


@dataclass(slots=True, init=False)
class Run:
    """A run: ``Run(run_info, run_data, run_inputs=None, run_outputs=None)`` as MLflow's
    (``info=``/``data=``/``inputs=``/``outputs=`` are accepted too)."""

    info: RunInfo
    data: RunData
    inputs: RunInputs
    outputs: RunOutputs

    def __init__(self, run_info: RunInfo | None = None, run_data: RunData | None = None,
                 run_inputs: RunInputs | None = None, run_outputs: RunOutputs | None = None, *,
                 info: RunInfo | None = None, data: RunData | None = None, inputs: RunInputs | None = None,
                 outputs: RunOutputs | None = None) -> None:
        run_info = run_info if run_info is not None else info
        if run_info is None:
            from mlcask.exceptions import MlcaskException

            raise MlcaskException("run_info cannot be None")
        self.info = run_info
        self.data = next((d for d in (run_data, data) if d is not None), None) or RunData()
        self.inputs = next((i for i in (run_inputs, inputs) if i is not None), None) or RunInputs()
        self.outputs = next((o for o in (run_outputs, outputs) if o is not None), None) or RunOutputs()

    def to_dictionary(self) -> dict[str, Any]:
        return {"info": dataclasses.asdict(self.info), "data": {"metrics": dict(self.data.metrics),
                                                               "params": dict(self.data.params),
                                                               "tags": dict(self.data.tags)}}


@dataclass(slots=True)
class LoggedModel:
    """A model logged with ``log_model``: MLflow 3's first-class model, ``models:/<model_id>``."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = LoggedModelStatus.PENDING
    source_run_id: str | None = None
    model_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    status_message: str | None = None
    metrics: list[Metric] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.status, int):
            self.status = LoggedModelStatus.from_int(self.status)
        elif self.status in LoggedModelStatus.__members__:
            self.status = LoggedModelStatus(self.status)
        self.tags = _as_dict(self.tags)
        self.params = _as_dict(self.params)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's dictionary of a logged model: every field (status as its number), no ``model_uri``."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["status"] = LoggedModelStatus(self.status).to_int()
        return dict(sorted(values.items()))
