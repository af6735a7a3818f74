"""What ``mlcask db import`` copies, as plain records read from a source store.

A source (MLflow's SQL database, a tracking server's REST API, an mlcask store) yields these;
the copier writes them through :mod:`mlcask.tracking.store.importing`. Ids and timestamps are
the source's own, so ``runs:/<run_id>/...`` and ``models:/m-...`` URIs keep working.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace


@dataclass
class ExperimentRecord:
    experiment_id: str
    name: str
    artifact_location: str | None
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a run's metric history; ``value`` may be NaN or +/-inf."""

    key: str
    value: float
    timestamp: int
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass
class DatasetRecord:
    """A dataset a run used (``mlflow.log_input``), with the tags of that use (its context)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RunRecord:
    run_id: str
    experiment_id: str
    name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    deleted_time: int | None
    lifecycle_stage: str
    artifact_uri: str | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)
    datasets: list[DatasetRecord] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)
    model_outputs: dict[str, int] = field(default_factory=dict)  # model id -> the run's step for it


@dataclass
class LoggedModelRecord:
    """A logged model (its metrics are points of its run's history that carry its ``model_id``)."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    lifecycle_stage: str
    model_type: str | None
    source_run_id: str | None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class VersionRecord:
    version: int
    creation_time: int
    last_updated_time: int
    description: str | None
    user_id: str | None
    current_stage: str
    source: str | None
    run_id: str | None
    model_id: str | None
    status: str
    status_message: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RegisteredModelRecord:
    name: str
    creation_time: int
    last_updated_time: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[VersionRecord] = field(default_factory=list)


def link_model_metrics(points: list[MetricPoint], model_points: list[MetricPoint]) -> list[MetricPoint]:
    """A run's history with the points also logged to a model marked with that model (and dataset).

    MLflow writes a model's metric twice, to the run's history and to the model's; mlcask keeps one
    row that carries the ``model_id``. A model point with no twin in the run's history (same key,
    timestamp, step and value) is added to it.
    """
    waiting: dict[tuple[str, int, int], list[MetricPoint]] = defaultdict(list)
    for point in model_points:
        waiting[(point.key, point.timestamp, point.step)].append(point)
    linked = []
    for point in points:
        twins = waiting.get((point.key, point.timestamp, point.step))
        twin = next((t for t in twins or () if _same_value(t.value, point.value)), None)
        if twin is None:
            linked.append(point)
            continue
        twins.remove(twin)
        linked.append(replace(point, model_id=twin.model_id, dataset_name=twin.dataset_name,
                              dataset_digest=twin.dataset_digest))
    linked.extend(point for group in waiting.values() for point in group)
    return linked


def _same_value(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)
