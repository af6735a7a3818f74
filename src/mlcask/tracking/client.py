"""``MlcaskClient`` (alias ``MlflowClient``): the low-level tracking and registry API.

Every call takes explicit ids; the fluent API (``mlcask.start_run``, ``mlcask.log_metric``,
...) keeps the active run for you and calls this client.
"""

from __future__ import annotations

import dataclasses
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
from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.tracking import async_logging, stores, thread_state
from mlcask.tracking.artifacts import FileInfo, clean_relative_path, get_artifact_repository
from mlcask.tracking.async_logging import RunOperations
from mlcask.tracking.batches import as_float_if_possible, batch_requests, stringify_params, stringify_tags
from mlcask.tracking.paging import PagedList, now_ms
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


def _is_plotly_figure(figure: Any) -> bool:
    import plotly.graph_objects

    return isinstance(figure, plotly.graph_objects.Figure)


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
        status = RunStatus.to_string(status) if isinstance(status, int) else (status or RunStatus.FINISHED)
        if status not in RunStatus.ALL:
            raise InvalidArgumentError(f"status must be one of {list(RunStatus.ALL)}, got {status!r}.")
        async_logging.flush()  # what was logged asynchronously lands before the run ends, as in MLflow
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

    def get_parent_run(self, run_id: str) -> Run | None:
        """The run whose id is ``run_id``'s ``mlflow.parentRunId`` tag, or None for a top-level run."""
        parent_id = self._store.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self._store.get_run(parent_id) if parent_id else None

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str = "",
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, page_token: str | None = None) -> list[Run]:
        return self._store.search_runs([str(e) for e in experiment_ids], filter_string, run_view_type,
                                       max_results, order_by, page_token)

    # -- logging ----------------------------------------------------------------------
    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None,
                   step: int | None = None, synchronous: bool | None = None, dataset_name: str | None = None,
                   dataset_digest: str | None = None, model_id: str | None = None) -> RunOperations | None:
        """Log a metric value; ``synchronous=False`` queues it and returns a :class:`RunOperations`
        (None: ``MLFLOW_ENABLE_ASYNC_LOGGING``). ``model_id`` and the dataset link it to a logged model."""
        metric = Metric(key, as_float_if_possible(value), now_ms() if timestamp is None else timestamp, step or 0,
                        model_id or thread_state.current().active_model_id, dataset_name, dataset_digest)
        if async_logging.is_async(synchronous):
            return async_logging.submit(self._store.log_batch, run_id, metrics=[metric])
        self._store.log_metric(run_id, metric)
        return None

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (stored as ``str(value)``); returns ``value``, or a :class:`RunOperations`
        when asynchronous."""
        param = Param(key, value if isinstance(value, str) else str(value))
        if async_logging.is_async(synchronous):
            return async_logging.submit(self._store.log_batch, run_id, params=[param])
        self._store.log_param(run_id, param)
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
        tag = RunTag(key, value if isinstance(value, str) else str(value))
        if async_logging.is_async(synchronous):
            return async_logging.submit(self._store.log_batch, run_id, tags=[tag])
        self._store.set_tag(run_id, tag)
        return None

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = (), synchronous: bool | None = None) -> RunOperations | None:
        """Log many metrics, params and tags: one transaction per request of at most 1,000 metrics,
        100 params and 100 tags (1,000 entities); a larger batch is split, params and tags first.
        Param and tag values that are not strings are stored as ``str(value)``, as MLflow stores them.
        ``synchronous=False`` queues the requests and returns one :class:`RunOperations` for all.
        Metrics without a ``model_id`` are linked to the active model (``mlcask.set_active_model``)."""
        active_model = thread_state.current().active_model_id
        metrics = [m if isinstance(m.value, float) and (m.model_id or not active_model)
                   else dataclasses.replace(m, value=as_float_if_possible(m.value), model_id=m.model_id or active_model)
                   for m in metrics]
        requests = batch_requests(metrics, stringify_params(params), stringify_tags(tags))
        if not requests:  # nothing to log: no request, and nothing to wait for (None, as MLflow returns)
            return None
        if async_logging.is_async(synchronous):
            return async_logging.combine([async_logging.submit(self._store.log_batch, run_id, *request)
                                          for request in requests])
        for metric_chunk, param_chunk, tag_chunk in requests:
            self._store.log_batch(run_id, metric_chunk, param_chunk, tag_chunk)
        return None

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(run_id, key)

    def log_inputs(self, run_id: str, datasets: list[Any] | None = None, models: list[str] | None = None) -> None:
        self._store.log_inputs(run_id, datasets=datasets, models=models)

    def log_outputs(self, run_id: str, models: list[LoggedModelOutput]) -> None:
        """Record logged models as outputs of an active run (``log_model`` does this for you)."""
        self._store.log_outputs(run_id, models)

    def link_model_metrics(self, model_id: str, run_id: str, step: int) -> None:
        """Link the metric values an active run has logged at ``step`` to a logged model (mlcask's; what
        MLflow's ``log_model(step=...)`` does): they show in ``get_logged_model(model_id).metrics``, the
        run's history keeps each value once."""
        self._store.link_model_metrics(model_id, run_id, int(step))

    # -- artifacts ----------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        """The artifact repository of a run (local, S3 or a tracking server's proxy)."""
        return get_artifact_repository(self._store.get_run(run_id).info.artifact_uri, self.tracking_uri)

    _run_artifacts = artifact_repository

    def log_artifact(self, run_id: str, local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Upload a local file (or a folder, as ``<artifact_path>/<folder name>``) to the run's artifacts."""
        if str(run_id).startswith("tr-"):  # a trace id (MLflow's prefix), a common mix-up: MLflow's message
            raise InvalidArgumentError(f"Invalid run id: {run_id}. `log_artifact` run id must map to a valid run.")
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
        """Write ``dictionary`` as YAML when ``artifact_file`` ends in .yaml/.yml, else as JSON (indented,
        objects JSON cannot hold written as their ``str``), as MLflow does."""
        _artifact_file(artifact_file)
        if os.path.splitext(artifact_file)[1] in (".yaml", ".yml"):
            import yaml

            text = yaml.dump(dictionary, indent=2, default_flow_style=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

    def log_stream(self, run_id: str, stream: Any, artifact_file: str) -> None:
        """Write what a binary file-like object (``io.BytesIO``, an open file) reads as ``artifact_file``."""
        name = _artifact_file(artifact_file).rpartition("/")[2]
        folder = artifact_file.rpartition("/")[0] or None
        with tempfile.TemporaryDirectory() as staging:
            local = Path(staging) / name
            with open(local, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    out.write(chunk)
            self._run_artifacts(run_id).log_artifact(local, folder)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str, *,
                   save_kwargs: dict[str, Any] | None = None) -> None:
        """Save a matplotlib or plotly figure as ``artifact_file`` (the format from its extension; plotly:
        .html, or .png/.jpeg/.webp/.svg/.pdf); ``save_kwargs`` go to ``savefig``/``write_html``/``write_image``."""
        import sys

        name = _artifact_file(artifact_file).rpartition("/")[2]
        kwargs = dict(save_kwargs or {})
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / name
            matplotlib_figure = sys.modules.get("matplotlib.figure")
            if matplotlib_figure is not None and isinstance(figure, matplotlib_figure.Figure):
                figure.savefig(local, **kwargs)
            elif "plotly" in sys.modules and _is_plotly_figure(figure):
                if local.suffix == ".html":
                    kwargs.setdefault("include_plotlyjs", "cdn")
                    kwargs.setdefault("auto_open", False)
                    figure.write_html(str(local), **kwargs)
                elif local.suffix in (".png", ".jpeg", ".webp", ".svg", ".pdf"):
                    figure.write_image(str(local), **kwargs)
                else:
                    raise TypeError(f"Unsupported file extension for plotly figure: '{local.suffix}'")
            else:
                raise TypeError(f"Unsupported figure object type: '{type(figure)}'")
            self._run_artifacts(run_id).write_bytes(artifact_file, local.read_bytes())

    def log_image(self, run_id: str, image: Any, artifact_file: str | None = None, key: str | None = None,
                  step: int | None = None, timestamp: int | None = None, synchronous: bool | None = None) -> None:
        """Log an image: as the file ``artifact_file``, or as step ``step`` of the image series ``key``.

        Parameters
        ----------
        image
            A numpy array (bool, integers in [0, 255], floats in [0, 1]; H x W, H x W x 1, 3 or 4),
            a ``PIL.Image.Image`` or an :class:`mlcask.Image`.
        artifact_file
            The file to write (format from its extension); not with ``key``, ``step`` or ``timestamp``.
        key, step, timestamp
            The series (letters, digits, ``_-./`` and spaces), the step (default 0) and the time
            (ms, default now): written as MLflow's ``images/`` files (the image and its thumbnail)
            and the run tagged ``mlflow.loggedImages``, so MLflow's UI shows them.
        synchronous
            Accepted for MLflow's signature; the image is always written before this returns.
        """
        from mlcask.tracking import images

        images.check_image_arguments(artifact_file, key, step, timestamp)
        picture = images.to_pil_image(image)
        repository = self._run_artifacts(run_id)
        if artifact_file is not None:
            name = _artifact_file(artifact_file).rpartition("/")[2]
            repository.write_bytes(artifact_file, images.image_bytes(picture, name))
            return
        path, thumbnail = images.step_image_paths(key, step or 0, timestamp or now_ms())
        repository.write_bytes(path, images.image_bytes(picture, path))
        repository.write_bytes(thumbnail, images.image_bytes(images.compress_image_size(picture), thumbnail))
        self.set_tag(run_id, images.LOGGED_IMAGES_TAG, True)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a DataFrame or dict of columns as the table ``artifact_file`` (.json or .parquet), appended
        to the rows logged there before; see :mod:`mlcask.tracking.tables`."""
        from mlcask.tracking import tables

        _artifact_file(artifact_file)
        tables.log_table(self, run_id, data, artifact_file)

    def load_table(self, experiment_id: str, artifact_file: str, run_ids: list[str] | None = None,
                   extra_columns: list[str] | None = None) -> Any:
        """The table ``artifact_file`` of the runs of ``experiment_id`` that logged it (or of ``run_ids``),
        concatenated as one DataFrame; ``extra_columns`` add run columns such as ``run_id``."""
        from mlcask.tracking import tables

        return tables.load_table(self, str(experiment_id), artifact_file, run_ids, extra_columns)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._run_artifacts(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        return self._run_artifacts(run_id).download_artifacts(path, dst_path)

    # -- logged models ------------------------------------------------------------------
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None) -> LoggedModel:
        """Create a PENDING logged model (``models:/<model_id>``); a random name if ``name`` is None."""
        return self._store.create_logged_model(str(experiment_id), name, source_run_id,
                                               _strings(tags), _strings(params), model_type)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The logged model, with the metrics its source run logged for it (``model.metrics``, None if none)."""
        _check_model_id(model_id)
        model = self._store.get_logged_model(model_id)
        if model.metrics is None:  # a store that does not read them: those of the source run
            model.metrics = self._model_metrics(model) or None
        return model

    def _model_metrics(self, model: LoggedModel) -> list[Metric]:
        if not model.source_run_id:
            return []
        try:
            keys = self._store.get_run(model.source_run_id).data.metrics
        except MlcaskException:  # the source run is gone; the model stays readable
            return []
        return [dataclasses.replace(m, run_id=model.source_run_id) for key in sorted(keys)
                for m in self._store.get_metric_history(model.source_run_id, key) if m.model_id == model.model_id]

    def _existing_model(self, model_id: str, doing: str) -> None:
        """Refuse, with MLflow's message, to ``doing`` on a logged model that cannot be read."""
        _check_model_id(model_id)
        try:
            self._store.get_logged_model(model_id)
        except MlcaskException as exc:
            raise InvalidArgumentError(f"Failed to get logged model with ID {model_id}. You may not have access to "
                                       "the logged model, or the logged model may have been deleted. If you are "
                                       f"attempting to {doing}") from exc

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        """Mark a logged model READY (its artifacts are complete) or FAILED."""
        _check_model_id(model_id)
        return self._store.finalize_logged_model(model_id, status)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._existing_model(model_id, "set tags on a Registered Model Version, use `set_model_version_tag` "
                                       "instead.")
        self._store.set_logged_model_tags(model_id, _strings(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        _check_model_id(model_id)
        self._store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        """Add params to a logged model (values stored as ``str(value)``)."""
        self._existing_model(model_id, "log parameters to a Registered Model Version, this is not supported.")
        self._store.log_logged_model_params(model_id, _strings(params))

    def _model_artifacts(self, model_id: str) -> ArtifactRepository:
        _check_model_id(model_id)
        return get_artifact_repository(self._store.get_logged_model(model_id).artifact_location, self.tracking_uri)

    def log_model_artifact(self, model_id: str, local_path: str | os.PathLike) -> None:
        """Upload a local file into the logged model's artifacts."""
        self._model_artifacts(model_id).log_artifact(local_path)

    def log_model_artifacts(self, model_id: str, local_dir: str | os.PathLike) -> None:
        """Upload the contents of a local folder into the logged model's artifacts."""
        self._model_artifacts(model_id).log_artifacts(local_dir)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under ``path`` of a logged model's artifacts."""
        return self._model_artifacts(model_id).list_artifacts(path)

    def delete_logged_model(self, model_id: str) -> None:
        _check_model_id(model_id)
        self._store.delete_logged_model(model_id)

    def search_logged_models(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                             datasets: list[dict[str, Any]] | None = None, max_results: int | None = None,
                             order_by: list[Any] | None = None, page_token: str | None = None,
                             ) -> PagedList[LoggedModel]:
        """One page of the logged models of ``experiment_ids`` matching ``filter_string``, sorted by
        ``order_by`` (MLflow's dicts, ``{"field_name": "metrics.acc", "ascending": False}``, or strings);
        ``page_token`` of the result gives the next page (``token``)."""
        if isinstance(datasets, int) and max_results is None:  # mlcask's former positional max_results
            datasets, max_results = None, datasets
        return self._store.search_logged_models([str(e) for e in experiment_ids], filter_string,
                                                100 if max_results is None else max_results, order_by,
                                                page_token, datasets=datasets)


def _check_model_id(model_id: Any) -> None:
    if not model_id:
        raise InvalidArgumentError(f"`model_id` must be a non-empty string, but got {model_id!r}")


def _strings(values: dict[str, Any] | None) -> dict[str, str] | None:
    return None if values is None else {k: v if isinstance(v, str) else str(v) for k, v in values.items()}


MlflowClient = MlcaskClient
