"""The fluent tracking API: ``mlcask.start_run``, ``log_metric``, ``set_experiment``, ...

The active run is kept per thread (a stack, for nested runs), the tracking URI and the
active experiment per process, as MLflow keeps them.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any

from mlcask.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking import context
from mlcask.tracking.context import (  # noqa: F401 (mlcask.set_tracking_uri and friends)
    get_registry_uri,
    get_tracking_uri,
    set_registry_uri,
    set_tracking_uri,
)
from mlcask.tracking.runs_uri import split_runs_uri

_thread = threading.local()
_client = context.current_client


# -- experiments ---------------------------------------------------------------------------
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active (by name, created on first use, or by id) and return it."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgumentError("set_experiment takes exactly one of experiment_name and experiment_id.")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            try:
                client.create_experiment(experiment_name)
            except MlcaskException:  # another process created it first
                pass
            experiment = client.get_experiment_by_name(experiment_name)
    if experiment.lifecycle_stage == "deleted":
        raise MlcaskException(f"Cannot set a deleted experiment {experiment.name!r} as the active experiment; "
                              "restore it first (MlcaskClient().restore_experiment).")
    context.set_active_experiment_id(experiment.experiment_id)
    return experiment


def _experiment_id_for_new_run() -> str:
    if context.active_experiment_id() is not None:
        return context.active_experiment_id()
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    if os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        return set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"]).experiment_id
    return "0"


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


_PAGE = 50_000  # the most one store query returns, as in MLflow


def _all_pages(search: Any, max_results: int | None) -> list[Any]:
    """Follow page tokens until ``max_results`` items (or all, for None) are gathered."""
    found: list[Any] = []
    token = None
    while max_results is None or len(found) < max_results:
        want = _PAGE if max_results is None else min(_PAGE, max_results - len(found))
        page = search(want, token)
        found.extend(page)
        token = getattr(page, "token", None)
        if not token or not page:
            break
    return found


def search_experiments(view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                       filter_string: str | None = None, order_by: list[str] | None = None) -> list[Experiment]:
    client = _client()
    return _all_pages(lambda n, token: client.search_experiments(view_type, n, filter_string, order_by, token),
                      max_results)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_experiment_id_for_new_run(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


# -- runs ------------------------------------------------------------------------------------
class ActiveRun(Run):
    """The run ``start_run`` returns; as a context manager it ends the run on exit
    (FINISHED, or FAILED if the block raised, KILLED on KeyboardInterrupt)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.info, run.data, run.inputs)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(r.info.run_id == self.info.run_id for r in _stack()):
            end_run(status)
        return False


def _stack() -> list[ActiveRun]:
    stack = getattr(_thread, "runs", None)
    if stack is None:
        stack = _thread.runs = []
    return stack


def default_run_tags() -> dict[str, str]:
    """The tags every new run gets: the user, the source file and the source type (MLflow's)."""
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    source = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
    return {"mlflow.user": user, "mlflow.source.name": source, "mlflow.source.type": "LOCAL"}


def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, parent_run_id: str | None = None, tags: dict[str, Any] | None = None,
              description: str | None = None, log_system_metrics: bool | None = None) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it active.

    Use it as a context manager (``with mlcask.start_run():``) to end the run
    automatically. With an active run, pass ``nested=True`` to start a child run.
    """
    stack = _stack()
    if stack and not nested:
        raise MlcaskException(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a nested run, call start_run "
            "with nested=True; to start a new one, end the active run first with end_run()."
        )
    client = _client()
    if run_id is not None:
        existing = client.get_run(run_id)
        if existing.info.lifecycle_stage == "deleted":
            raise MlcaskException(f"Cannot resume run {run_id}: it is deleted.", error_code=RESOURCE_DOES_NOT_EXIST)
        client.update_run(run_id, RunStatus.RUNNING, run_name)
        for key, value in (tags or {}).items():
            client.set_tag(run_id, key, value)
        run = client.get_run(run_id)
    else:
        all_tags = {**default_run_tags(), **{k: str(v) for k, v in (tags or {}).items()}}
        parent = parent_run_id or (stack[-1].info.run_id if stack and nested else None)
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        if description:
            all_tags["mlflow.note.content"] = description
        run = client.create_run(str(experiment_id) if experiment_id is not None else _experiment_id_for_new_run(),
                                tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    stack.append(active)
    context.set_last_active_run_id(active.info.run_id)
    return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (the innermost one, for nested runs)."""
    stack = _stack()
    if not stack:
        return
    run = stack.pop()
    client = _client()
    client.set_terminated(run.info.run_id, status)  # prints the run's links on a tracking server


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, or else the run most recently started in this process."""
    run = active_run()
    if run is not None:
        return _client().get_run(run.info.run_id)
    last = context.last_active_run_id()
    return _client().get_run(last) if last else None


def _run_id() -> str:
    """The active run's id, starting a run if none is active (as MLflow does)."""
    stack = _stack()
    return (stack[-1] if stack else start_run()).info.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact location of the active run (or of ``artifact_path`` inside it)."""
    from mlcask.tracking.artifacts import clean_relative_path

    uri = _client().get_run(_run_id()).info.artifact_uri
    return f"{uri}/{clean_relative_path(artifact_path)}" if artifact_path else uri


@atexit.register
def _end_runs_at_exit() -> None:
    for _ in range(len(_stack())):
        try:
            end_run()
        except Exception:  # the store may be gone at interpreter exit; nothing to report to
            break


# -- logging -------------------------------------------------------------------------------
def log_param(key: str, value: Any) -> Any:
    """Log a parameter (stored as a string); re-logging a different value is an error."""
    return _client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any]) -> None:
    _client().log_batch(_run_id(), params=[Param(k, str(v)) for k, v in params.items()])


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None,
               model_id: str | None = None, **_: Any) -> None:
    """Log a metric value (at ``step``, default 0); every value is kept in the history."""
    _client().store.log_metric(_run_id(), Metric(key, value, timestamp or int(time.time() * 1000), step or 0, model_id))


def log_metrics(metrics: dict[str, float], step: int | None = None, timestamp: int | None = None,
                **_: Any) -> None:
    now = timestamp or int(time.time() * 1000)
    _client().log_batch(_run_id(), metrics=[Metric(k, v, now, step or 0) for k, v in metrics.items()])


def set_tag(key: str, value: Any) -> None:
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    _client().log_batch(_run_id(), tags=[RunTag(k, str(v)) for k, v in tags.items()])


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str, artifact_path: str | None = None) -> None:
    _client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None) -> None:
    _client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str) -> None:
    _client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _client().log_figure(_run_id(), figure, artifact_file)


def log_table(data: Any, artifact_file: str) -> None:
    _client().log_table(_run_id(), data, artifact_file)


def log_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> None:
    """Record that the active run used ``dataset`` (from ``mlcask.data.from_pandas``/``from_numpy``)."""
    from mlcask.data import dataset_input

    _client().log_inputs(_run_id(), datasets=[dataset_input(dataset, context, tags)])


# -- search ---------------------------------------------------------------------------------
def search_runs(experiment_ids: list[str] | None = None, filter_string: str = "",
                run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                order_by: list[str] | None = None, output_format: str = "pandas",
                search_all_experiments: bool = False, experiment_names: list[str] | None = None) -> Any:
    """Runs matching ``filter_string`` (MLflow's grammar), as a DataFrame or a list of Runs."""
    client = _client()
    if experiment_names:
        experiment_ids = list(experiment_ids or [])
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name)
            if experiment is not None:
                experiment_ids.append(experiment.experiment_id)
    elif not experiment_ids:
        experiment_ids = ([e.experiment_id for e in search_experiments(ViewType.ALL)]
                          if search_all_experiments else [_experiment_id_for_new_run()])
    runs = _all_pages(lambda n, token: client.search_runs(experiment_ids, filter_string, run_view_type, n,
                                                          order_by, token), max_results)
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise InvalidArgumentError(f"output_format must be 'pandas' or 'list', got {output_format!r}.")
    return runs_to_frame(runs)


def runs_to_frame(runs: list[Run]) -> Any:
    """MLflow's search_runs table: info columns, then metrics.*, params.*, tags.*."""
    import pandas as pd

    rows = []
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id, "experiment_id": info.experiment_id, "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else pd.NaT,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    frame = pd.DataFrame(rows, columns=columns + sorted({c for r in rows for c in r} - set(columns),
                                                        key=lambda c: (c.split(".")[0] != "metrics",
                                                                       c.split(".")[0] != "params", c)))
    return frame


# -- registry --------------------------------------------------------------------------------
def register_model(model_uri: str, name: str, tags: dict[str, Any] | None = None,
                   await_registration_for: int = 300) -> Any:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if needed)."""
    from mlcask.models.uri import is_models_uri, parse_models_uri

    client = _client()
    run_id = model_id = None
    source = model_uri
    if is_models_uri(model_uri):
        model_id = parse_models_uri(model_uri).model_id
        if model_id is not None:
            run_id = client.get_logged_model(model_id).source_run_id
    elif model_uri.startswith("runs:/"):
        run_id, path = split_runs_uri(model_uri)
        run = client.get_run(run_id)
        for model in client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'", 1000):
            if model.name == path:
                model_id, source = model.model_id, f"models:/{model.model_id}"
                break
    return client.register_version(source, name, tags=tags, run_id=run_id, model_id=model_id)
