"""The three interfaces every store and artifact repository implements.

``TrackingStore`` (experiments, runs, metrics, logged models), ``RegistryStore`` (the
model registry) and ``ArtifactRepository`` (a folder of files under one URI). The SQL
stores, the REST stores (an ``mlcask server`` or ``mlflow server``) and the local, S3
and proxied artifact repositories all satisfy them; nothing above ``mlcask.tracking``
knows which one it has. Method names and arguments are MLflow's store API, so a
server can forward a REST call to any store unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mlcask.entities import (
    Experiment,
    ExperimentTag,
    FileInfo,
    LoggedModel,
    Metric,
    ModelVersion,
    ModelVersionTag,
    Param,
    RegisteredModel,
    RegisteredModelTag,
    Run,
    RunInfo,
    RunTag,
)
from mlcask.tracking.paging import PagedList

__all__ = ["ArtifactRepository", "FileInfo", "MetricSummary", "RegistryStore", "TrackingStore"]


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric key of a run at a glance (the run page's metrics table).

    ``value``, ``step`` and ``timestamp`` are the latest value's (MLflow's rule: the highest
    (step, timestamp, value)); ``min`` and ``max`` are over every logged value that is not NaN
    (None when all are NaN); ``count`` counts every logged value, NaN included.
    """

    key: str
    value: float
    step: int
    timestamp: int
    min: float | None
    max: float | None
    count: int


@runtime_checkable
class TrackingStore(Protocol):
    """Experiments, runs, metrics, params, tags, inputs/outputs and logged models."""

    #: Where experiments without an ``artifact_location`` keep their artifacts (a path or URI).
    artifact_root: str

    # -- experiments
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[ExperimentTag] | None = None) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(self, view_type: int = 1, max_results: int = 1000, filter_string: str | None = None,
                           order_by: list[str] | None = None,
                           page_token: str | None = None) -> PagedList[Experiment]: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # -- runs
    def create_run(self, experiment_id: str, user_id: str | None, start_time: int | None,
                   tags: Sequence[RunTag], run_name: str | None) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(self, run_id: str, run_status: str, end_time: int | None, run_name: str | None) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def search_runs(self, experiment_ids: list[str], filter_string: str = "", run_view_type: int = 1,
                    max_results: int = 1000, order_by: list[str] | None = None,
                    page_token: str | None = None) -> PagedList[Run]: ...

    # -- logging
    def log_metric(self, run_id: str, metric: Metric) -> None: ...
    def log_param(self, run_id: str, param: Param) -> None: ...
    def set_tag(self, run_id: str, tag: RunTag) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = ()) -> None: ...
    def get_metric_history(self, run_id: str, metric_key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList[Metric]: ...
    def get_metric_summaries(self, run_id: str) -> list[MetricSummary]:
        """Every metric key of the run with its latest value, min, max and count, sorted by key;
        RESOURCE_DOES_NOT_EXIST for an unknown run."""
    def get_metric_history_extremes(self, run_id: str, metric_key: str, max_results: int,
                                    start_step: int | None = None, end_step: int | None = None) -> list[Metric]:
        """At most ``max_results`` values of the metric's history that keep its envelope, in (step,
        timestamp) order (mlcask's min/max sampling, :mod:`mlcask.tracking.metric_sampling`).

        Of the values logged at steps ``start_step..end_step`` (both or neither; None, None: every
        step) it keeps the first and the last and, in each of ``(max_results - 2) // 2`` equal step
        ranges, the smallest and the largest value (NaN is never one of these, but may be the first
        or last); all of them when there are at most ``max_results``. Each Metric has the key, value,
        timestamp, step and ``run_id`` (not the model or dataset). Empty for a metric never logged;
        RESOURCE_DOES_NOT_EXIST for an unknown run; INVALID_PARAMETER_VALUE for ``max_results``
        below 1 or a half-given or reversed step range."""
    def log_inputs(self, run_id: str, datasets: list[Any] | None = None, models: list[Any] | None = None) -> None: ...
    def log_outputs(self, run_id: str, models: list[Any]) -> None: ...

    # -- logged models
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: Any = None, params: Any = None, model_type: str | None = None) -> LoggedModel: ...
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel: ...
    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel: ...
    def set_logged_model_tags(self, model_id: str, tags: Any) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def log_logged_model_params(self, model_id: str, params: Any) -> None: ...
    def link_model_metrics(self, model_id: str, run_id: str, step: int) -> None: ...
    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             max_results: int = 100, order_by: list[Any] | None = None,
                             page_token: str | None = None,
                             datasets: list[dict[str, Any]] | None = None) -> PagedList[LoggedModel]: ...


@runtime_checkable
class RegistryStore(Protocol):
    """Registered models, their versions, tags and aliases."""

    def create_registered_model(self, name: str, tags: Sequence[RegisteredModelTag] | None = None,
                                description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...
    def update_registered_model(self, name: str, description: str | None,
                                deployment_job_id: str | None = None) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None: ...
    def search_registered_models(self, filter_string: str | None = None, max_results: int = 100,
                                 order_by: list[str] | None = None,
                                 page_token: str | None = None) -> PagedList[RegisteredModel]: ...
    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]: ...
    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[ModelVersionTag] | None = None, run_link: str | None = None,
                             description: str | None = None, local_model_path: str | None = None,
                             model_id: str | None = None) -> ModelVersion: ...
    def get_model_version(self, name: str, version: str | int) -> ModelVersion: ...
    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion: ...
    def delete_model_version(self, name: str, version: str | int) -> None: ...
    def transition_model_version_stage(self, name: str, version: str | int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion: ...
    def get_model_version_download_uri(self, name: str, version: str | int) -> str: ...
    def search_model_versions(self, filter_string: str | None = None, max_results: int = 10000,
                              order_by: list[str] | None = None,
                              page_token: str | None = None) -> PagedList[ModelVersion]: ...
    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None: ...
    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None: ...
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def copy_model_version(self, src_mv: ModelVersion, dst_name: str) -> ModelVersion: ...


@runtime_checkable
class ArtifactRepository(Protocol):
    """The files under one artifact URI (a run's artifacts, a logged model's folder).

    Every ``artifact_path`` is relative to the repository's root and checked with
    :func:`mlcask.utils.paths.clean_relative_path` before use. Uploads are atomic: a
    reader sees a whole file (and a whole folder of ``log_artifacts``) or none of it.
    """

    #: The URI the repository was opened on.
    artifact_uri: str

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload one local file into the folder ``artifact_path``."""
    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the contents of a local folder into the folder ``artifact_path``."""
    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as the file ``artifact_file``."""
    def read_bytes(self, artifact_file: str) -> bytes:
        """The contents of the file ``artifact_file``; a missing file raises
        :class:`~mlcask.exceptions.MlcaskException` with ``error_code`` RESOURCE_DOES_NOT_EXIST."""
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of the folder ``path`` (the root for None)."""
    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """A local path holding a file or folder: a copy in ``dst_path``; for None, a local repository's
        own file and a new temporary folder for remote ones."""
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or folder (everything for None)."""
