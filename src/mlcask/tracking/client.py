"""``MlcaskClient`` (alias ``MlflowClient``): the low-level tracking and registry API.

Every call takes explicit ids; the fluent API (``mlcask.start_run``, ``mlcask.log_metric``,
...) keeps the active run for you and calls this client.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlcask.entities import (
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking import stores
from mlcask.tracking.artifacts import FileInfo, clean_relative_path, get_artifact_repository
from mlcask.tracking.batches import batch_requests
from mlcask.tracking.paging import now_ms
from mlcask.tracking.protocols import ArtifactRepository, TrackingStore
from mlcask.tracking.registry_client import RegistryClientMixin
from mlcask.tracking.run_links import print_run_links
from mlcask.utils.paths import safe_name


def _artifact_file(artifact_file: Any) -> str:
    """The checked path of a file to write (log_text, log_dict, log_figure, log_table)."""
    relative = clean_relative_path(artifact_file, "artifact file")
    if not relative:
        raise InvalidArgumentError(f"artifact_file must name a file, got {artifact_file!r}.")
    return relative


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user database entry (containers): MLflow falls back too
        return "unknown"


class MlcaskClient(RegistryClientMixin):
    """Client of a tracking store (and the registry on the same database)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self.tracking_uri = str(tracking_uri) if tracking_uri else stores.current_tracking_uri()
        if registry_uri:
            self.registry_uri = str(registry_uri)
        else:
            self.registry_uri = stores.current_registry_uri() if not tracking_uri else self.tracking_uri
        stores.check_store_uri(self.tracking_uri)
        self._store = stores.tracking_store(self.tracking_uri)

    @property
    def store(self) -> TrackingStore:
        """The tracking store behind this client (SQL or REST)."""
        return self._store

    # -- experiments ------------------------------------------------------------------
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, Any] | None = None) -> str:
        """Create an experiment; returns its id."""
        return self._store.create_experiment(name, artifact_location,
                                             [ExperimentTag(k, str(v)) for k, v in (tags or {}).items()])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(name)

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           page_token: str | None = None) -> list[Experiment]:
        return self._store.search_experiments(view_type=view_type, max_results=max_results,
                                              filter_string=filter_string, order_by=order_by, page_token=page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(str(experiment_id), ExperimentTag(key, str(value)))

    # -- runs -------------------------------------------------------------------------
    def create_run(self, experiment_id: str, start_time: int | None = None, tags: dict[str, Any] | None = None,
                   run_name: str | None = None) -> Run:
        """Create a RUNNING run in ``experiment_id``."""
        run_tags = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        return self._store.create_run(str(experiment_id), _user(), start_time or now_ms(), run_tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        run = self._store.get_run(run_id)
        end_time = now_ms() if status and RunStatus.is_terminated(status) else run.info.end_time
        self._store.update_run_info(run_id, status or run.info.status, end_time, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End a run: ``status`` FINISHED (default), FAILED or KILLED."""
        status = status or RunStatus.FINISHED
        if status not in RunStatus.ALL:
            raise InvalidArgumentError(f"status must be one of {list(RunStatus.ALL)}, got {status!r}.")
        self._store.update_run_info(run_id, status, end_time or now_ms(), None)
        if stores.is_server_uri(self.tracking_uri):  # MLflow's client prints where the ended run shows in the UI
            try:
                ended = self._store.get_run(run_id)
            except MlcaskException:  # the run has ended; a link is not worth an error
                return
            print_run_links(self.tracking_uri, ended)

    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(run_id)

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str = "",
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, page_token: str | None = None) -> list[Run]:
        return self._store.search_runs([str(e) for e in experiment_ids], filter_string, run_view_type,
                                       max_results, order_by, page_token)

    # -- logging ----------------------------------------------------------------------
    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None,
                   step: int | None = None, model_id: str | None = None) -> None:
        self._store.log_metric(run_id, Metric(key, value, timestamp or now_ms(), step or 0, model_id))

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self._store.log_param(run_id, Param(key, str(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._store.set_tag(run_id, RunTag(key, str(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = ()) -> None:
        """Log many metrics, params and tags: one transaction per request of at most 1,000 metrics,
        100 params and 100 tags (1,000 entities); a larger batch is split, params and tags first."""
        for metric_chunk, param_chunk, tag_chunk in batch_requests(metrics, params, tags):
            self._store.log_batch(run_id, metric_chunk, param_chunk, tag_chunk)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(run_id, key)

    def log_inputs(self, run_id: str, datasets: list[Any] | None = None, models: list[str] | None = None) -> None:
        self._store.log_inputs(run_id, datasets=datasets, models=models)

    def log_outputs(self, run_id: str, models: list[LoggedModelOutput]) -> None:
        """Record logged models as outputs of an active run (``log_model`` does this for you)."""
        self._store.log_outputs(run_id, models)

    # -- artifacts ----------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        """The artifact repository of a run (local, S3 or a tracking server's proxy)."""
        return get_artifact_repository(self._store.get_run(run_id).info.artifact_uri, self.tracking_uri)

    _run_artifacts = artifact_repository

    def log_artifact(self, run_id: str, local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Upload a local file (or a folder, as ``<artifact_path>/<folder name>``) to the run's artifacts."""
        destination = clean_relative_path(artifact_path)  # refuse a bad path before touching anything
        repository = self._run_artifacts(run_id)
        if Path(local_path).is_dir():
            name = Path(os.path.abspath(local_path)).name
            repository.log_artifacts(local_path, "/".join(filter(None, [destination, safe_name(name, "folder name")])))
        else:
            repository.log_artifact(local_path, destination)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        self._run_artifacts(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        _artifact_file(artifact_file)
        self._run_artifacts(run_id).write_bytes(artifact_file, text.encode("utf-8"))

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        """Write ``dictionary`` as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
        _artifact_file(artifact_file)
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, default_flow_style=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib or plotly figure as ``artifact_file`` (format from its extension)."""
        name = _artifact_file(artifact_file).rpartition("/")[2]
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / name
            if hasattr(figure, "savefig"):
                figure.savefig(local)
            elif hasattr(figure, "write_html") and local.suffix == ".html":
                figure.write_html(str(local))
            elif hasattr(figure, "write_image"):
                figure.write_image(str(local))
            else:
                raise InvalidArgumentError(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}.")
            self._run_artifacts(run_id).write_bytes(artifact_file, local.read_bytes())

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a DataFrame or dict of columns as a JSON table, merged with rows logged before."""
        import pandas as pd

        if not _artifact_file(artifact_file).endswith(".json"):
            raise InvalidArgumentError(f"log_table writes JSON: artifact_file must end in .json, "
                                       f"got {artifact_file!r}.")
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        repository = self._run_artifacts(run_id)
        try:
            previous = json.loads(repository.read_bytes(artifact_file))
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise
        else:
            frame = pd.concat([pd.DataFrame(previous["data"], columns=previous["columns"]), frame], ignore_index=True)
        payload = {"columns": [str(c) for c in frame.columns], "data": json.loads(frame.to_json(orient="values"))}
        repository.write_bytes(artifact_file, json.dumps(payload).encode())

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._run_artifacts(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        return self._run_artifacts(run_id).download_artifacts(path, dst_path)

    # -- logged models ------------------------------------------------------------------
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None) -> LoggedModel:
        return self._store.create_logged_model(str(experiment_id), name or "model", source_run_id, tags, params,
                                               model_type)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._store.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        return self._store.finalize_logged_model(model_id, status)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._store.set_logged_model_tags(model_id, {k: str(v) for k, v in tags.items()})

    def delete_logged_model(self, model_id: str) -> None:
        self._store.delete_logged_model(model_id)

    def search_logged_models(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                             max_results: int = 100, order_by: list[str] | None = None) -> list[LoggedModel]:
        return self._store.search_logged_models([str(e) for e in experiment_ids], filter_string, max_results, order_by)


MlflowClient = MlcaskClient
