"""Experiments, runs and what is logged to them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class RunStatus:
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in RunStatus.TERMINATED


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        return {1: (LifecycleStage.ACTIVE,), 2: (LifecycleStage.DELETED,),
                3: (LifecycleStage.ACTIVE, LifecycleStage.DELETED)}[view_type]


class LoggedModelStatus:
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


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


@dataclass(slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(slots=True)
class RunData:
    """A run's latest metric values, its params and its tags (key -> value, as MLflow's ``run.data``).

    ``latest_metrics`` holds the same metrics as :class:`Metric` objects, with the timestamp and step
    of each latest value (MLflow's ``run.data._metric_objs``); a store fills it where it knows them.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    latest_metrics: dict[str, Metric] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dictionary(self) -> dict[str, Any]:
        return {"info": dataclasses.asdict(self.info), "data": dataclasses.asdict(self.data)}


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

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"
