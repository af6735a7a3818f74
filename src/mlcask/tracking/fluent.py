"""The fluent tracking API: ``mlcask.start_run``, ``log_metric``, ``set_experiment``, ...

As in MLflow, the active run stack (nested runs), the last active run and the last logged model
are kept per thread (:mod:`mlcask.tracking.context`), the tracking URI and the active experiment
per process. Logged models (``last_logged_model``, ``search_logged_models``, ...) are in
:mod:`mlcask.tracking.fluent_logged_models`, the artifact calls beyond ``log_artifact(s)``
(``log_text``, ``log_image``, ``load_table``, ...) in :mod:`mlcask.tracking.fluent_artifacts`.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from typing import Any

from mlcask.entities import Experiment, LoggedModelOutput, Metric, Param, Run, RunStatus, RunTag, ViewType
from mlcask.environment_variables import MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, MLFLOW_RUN_ID
from mlcask.exceptions import (
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    InvalidArgumentError,
    MlcaskException,
)
from mlcask.tracking import async_logging, context
from mlcask.tracking.async_logging import RunOperations
from mlcask.tracking.client import MlflowClient  # noqa: F401 (mlflow.tracking.fluent.MlflowClient)
from mlcask.tracking.context import (  # noqa: F401 (mlcask.set_tracking_uri and friends)
    get_registry_uri,
    get_tracking_uri,
    is_tracking_uri_set,
    set_registry_uri,
    set_tracking_uri,
)
from mlcask.utils import get_results_from_paginated_fn
from mlcask.utils.mlflow_tags import (
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NOTE,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)

_client = context.current_client


# -- experiments ---------------------------------------------------------------------------
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active (by name, created on first use, or by id) and return it."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgumentError("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    if experiment_id is not None:
        try:
            experiment = client.get_experiment(str(experiment_id))
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise
            raise MlcaskException(f"Experiment with ID '{experiment_id}' does not exist.",
                                  error_code=RESOURCE_DOES_NOT_EXIST) from None
    else:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            try:
                client.create_experiment(experiment_name)
            except MlcaskException as exc:  # another process created it first
                if exc.error_code != RESOURCE_ALREADY_EXISTS:
                    raise
            experiment = client.get_experiment_by_name(experiment_name)
    if experiment.lifecycle_stage == "deleted":
        raise InvalidArgumentError(f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. "
                                   "You can restore the experiment, or permanently delete the experiment to create a "
                                   "new one.")
    context.set_active_experiment_id(experiment.experiment_id)
    return experiment


def _experiment_id_from_env() -> str | None:
    """``MLFLOW_EXPERIMENT_NAME`` (created if missing; must agree with ``MLFLOW_EXPERIMENT_ID`` if both
    are set), else ``MLFLOW_EXPERIMENT_ID`` (must exist), else None."""
    name, wanted = MLFLOW_EXPERIMENT_NAME.get_raw(), MLFLOW_EXPERIMENT_ID.get_raw()
    client = _client()
    if name:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return client.create_experiment(name)
        if wanted and wanted != experiment.experiment_id:
            raise InvalidArgumentError(f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{wanted}` "
                                       f"does not match the experiment id `{experiment.experiment_id}` for "
                                       f"experiment name `{name}`")
        return experiment.experiment_id
    if wanted:
        try:
            return client.get_experiment(wanted).experiment_id
        except MlcaskException as exc:
            raise InvalidArgumentError(f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{wanted}` "
                                       "does not exist in the tracking server. Provide a valid experiment_id."
                                       ) from exc
    return None


def current_experiment_id() -> str:
    """The experiment fluent calls use: the active one (``set_experiment``), else the environment's
    (``MLFLOW_EXPERIMENT_NAME``/``MLFLOW_EXPERIMENT_ID``), else the Default experiment ("0")."""
    return _get_experiment_id()


def _get_experiment_id() -> str:
    # MLflow's name for current_experiment_id: code written for MLflow calls it, and its tests patch it.
    return context.active_experiment_id() or _experiment_id_from_env() or "0"


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


_PAGE = 50_000  # the most one store query returns, as in MLflow


def all_pages(search: Any, max_results: int | None) -> list[Any]:
    """Follow page tokens until ``max_results`` items (or all, for None) are gathered."""
    return get_results_from_paginated_fn(search, _PAGE, max_results)


def search_experiments(view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                       filter_string: str | None = None, order_by: list[str] | None = None) -> list[Experiment]:
    client = _client()
    return all_pages(lambda n, token: client.search_experiments(view_type, n, filter_string, order_by, token),
                      max_results)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    _client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(current_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    """Remove a tag from the active experiment."""
    _client().store.delete_experiment_tag(current_experiment_id(), key)


# -- runs ------------------------------------------------------------------------------------
class ActiveRun(Run):
    """The run ``start_run`` returns; as a context manager it ends the run on exit
    (FINISHED, or FAILED if the block raised, KILLED on KeyboardInterrupt)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.info, run.data, run.inputs, run.outputs)

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
    return context.active_run_stack()


def default_run_tags() -> dict[str, str]:
    """The tags every new run gets: the user, the source file and the source type (MLflow's)."""
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    source = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
    return {MLFLOW_USER: user, MLFLOW_SOURCE_NAME: source, MLFLOW_SOURCE_TYPE: "LOCAL"}


def _check_experiment_id(experiment_id: Any) -> None:
    if experiment_id is not None and not isinstance(experiment_id, (str, int)):
        raise InvalidArgumentError(f"Invalid experiment id: {experiment_id} of type {type(experiment_id)}. "
                                   "Must be one of str, int, or None.")


def _run_tags(tags: dict[str, Any] | None, description: str | None) -> dict[str, Any]:
    tags = dict(tags or {})
    if description:
        if MLFLOW_RUN_NOTE in tags:
            raise InvalidArgumentError(f"Description is already set via the tag {MLFLOW_RUN_NOTE} in tags."
                                       f"Remove the key {MLFLOW_RUN_NOTE} from the tags or omit the description.")
        tags[MLFLOW_RUN_NOTE] = description
    return tags


def _resume_run(run_id: str, run_name: str | None, tags: dict[str, Any]) -> Run:
    client = _client()
    existing = client.get_run(run_id)
    active_experiment = context.active_experiment_id()
    if active_experiment is not None and active_experiment != existing.info.experiment_id:
        raise MlcaskException(f"Cannot start run with ID {run_id} because active experiment ID does not match "
                              "environment run ID. Make sure --experiment-name or --experiment-id matches experiment "
                              "set with set_experiment(), or just use command-line arguments")
    if existing.info.lifecycle_stage == "deleted":
        raise MlcaskException(f"Cannot start run with ID {run_id} because it is in the deleted state.")
    client.store.update_run_info(run_id, RunStatus.RUNNING, existing.info.end_time, run_name)
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=True)
    return client.get_run(run_id)


def _parent_for_new_run(parent_run_id: str | None, stack: list[ActiveRun]) -> str | None:
    if not parent_run_id:
        return stack[-1].info.run_id if stack else None
    if stack and parent_run_id != stack[-1].info.run_id:
        current = stack[-1].info.run_id
        raise MlcaskException(f"Current run with UUID {current} does not match the specified parent_run_id "
                              f"{parent_run_id}. To start a new nested run under the parent run with UUID "
                              f"{current}, first end the current run with mlflow.end_run().")
    if _client().get_run(parent_run_id).info.lifecycle_stage == "deleted":
        raise MlcaskException(f"Cannot start run under parent run with ID {parent_run_id} because it is in the "
                              "deleted state.")
    return parent_run_id


def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, parent_run_id: str | None = None, tags: dict[str, Any] | None = None,
              description: str | None = None, log_system_metrics: bool | None = None) -> ActiveRun:
    """Start a new run (or resume ``run_id``, or ``MLFLOW_RUN_ID``) and make it active.

    Use it as a context manager (``with mlcask.start_run():``) to end the run
    automatically. With an active run, pass ``nested=True`` to start a child run.
    """
    stack = _stack()
    _check_experiment_id(experiment_id)
    if stack and not nested:
        raise MlcaskException(
            f"Run with UUID {stack[0].info.run_id} is already active. To start a new run, first end the current "
            "run with mlflow.end_run(). To start a nested run, call start_run with nested=True"
        )
    existing_run_id = run_id
    if not existing_run_id:  # MLflow resumes MLFLOW_RUN_ID's run once: the variable is consumed
        existing_run_id = MLFLOW_RUN_ID.get_raw() or None
        MLFLOW_RUN_ID.unset()
    all_tags = _run_tags(tags, description)
    if existing_run_id:
        run = _resume_run(existing_run_id, run_name, all_tags)
    else:
        parent = _parent_for_new_run(parent_run_id, stack)
        if parent is not None:
            all_tags[MLFLOW_PARENT_RUN_ID] = parent
        all_tags = {**default_run_tags(), **{k: str(v) for k, v in all_tags.items()}}
        run = _client().create_run(str(experiment_id) if experiment_id is not None else current_experiment_id(),
                                   tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    stack.append(active)
    return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (the innermost one, for nested runs), once what it logged asynchronously
    has landed; it becomes this thread's ``last_active_run``."""
    stack = _stack()
    if not stack:
        return
    MLFLOW_RUN_ID.unset()
    run = stack.pop()
    context.set_last_active_run_id(run.info.run_id)
    _client().set_terminated(run.info.run_id, status)  # prints the run's links on a tracking server


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run of this thread, else the run this thread ended last (fetched again), else None."""
    run = active_run()
    if run is not None:
        return run
    last = context.last_active_run_id()
    return _client().get_run(last) if last else None


def _active_or_new_run() -> ActiveRun:
    """The active run, starting a run if none is active (as MLflow does)."""
    stack = _stack()
    return stack[-1] if stack else start_run()


def _run_id() -> str:
    return _active_or_new_run().info.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None for a top-level run."""
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    _client().restore_run(run_id)


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
def flush_async_logging() -> None:
    """Wait until everything logged with ``synchronous=False`` so far is stored."""
    async_logging.flush()


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a parameter (stored as ``str(value)``); re-logging a different value is an error.

    Returns ``value``, or a :class:`~mlcask.tracking.async_logging.RunOperations` with
    ``synchronous=False`` (None: ``MLFLOW_ENABLE_ASYNC_LOGGING``).
    """
    return _client().log_param(_run_id(), key, value, synchronous=synchronous)


def log_params(params: dict[str, Any], synchronous: bool | None = None,
               run_id: str | None = None) -> RunOperations | None:
    """Log params (values stored as ``str(value)``) to the active run (or ``run_id``)."""
    return _client().log_batch(run_id or _run_id(), params=[Param(k, str(v)) for k, v in params.items()],
                               synchronous=synchronous)


def _metrics_run(run_id: str | None) -> Run:
    return _active_or_new_run() if run_id is None else _client().get_run(run_id)


def _metric_model_ids(run: Run, model_id: str | None, step: int) -> list[str | None]:
    """The logged models a new metric is linked to: ``model_id`` (or the active model), else the
    models the run output at this step (a metric after ``log_model`` belongs to the model)."""
    model_id = model_id or context.active_model_id()
    if model_id is not None:
        return [model_id]
    return [o.model_id for o in run.outputs.model_outputs if o.step == step] or [None]


def _link_inputs(run: Run, metrics: list[Metric], dataset: Any) -> None:
    """Record, as MLflow does, the models and the dataset the run's new metrics are about as inputs of the run."""
    outputs = {o.model_id for o in run.outputs.model_outputs}
    models = sorted({m.model_id for m in metrics if m.model_id and m.model_id not in outputs}
                    - set(run.inputs.model_inputs))
    datasets = []
    if dataset is not None and not any((i.dataset.name, i.dataset.digest) == (dataset.name, dataset.digest)
                                       for i in run.inputs.dataset_inputs):
        from mlcask.data.dataset import dataset_input

        datasets = [dataset_input(dataset)]
    if models or datasets:
        _client().log_inputs(run.info.run_id, datasets=datasets or None, models=models or None)
        run.inputs.model_inputs.extend(models)
        run.inputs.dataset_inputs.extend(datasets)


def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None,
               timestamp: int | None = None, run_id: str | None = None, model_id: str | None = None,
               dataset: Any = None) -> RunOperations | None:
    """Log a metric value (at ``step``, default 0); every value is kept in the history.

    ``model_id`` (default: the active model, else the models the run logged at this step) and
    ``dataset`` (an ``mlcask.data`` dataset) link the value to a logged model and what it was
    measured on, as in MLflow 3. ``synchronous=False`` returns a ``RunOperations``.
    """
    metrics = _metric_batch({key: value}, step, timestamp, run_id, model_id, dataset)
    if len(metrics) == 1:
        m = metrics[0]
        return _client().log_metric(m.run_id, m.key, m.value, m.timestamp, m.step, synchronous, m.dataset_name,
                                    m.dataset_digest, m.model_id)
    return _client().log_batch(metrics[0].run_id, metrics=metrics, synchronous=synchronous)


def log_metrics(metrics: dict[str, float], step: int | None = None, synchronous: bool | None = None,
                run_id: str | None = None, timestamp: int | None = None, model_id: str | None = None,
                dataset: Any = None) -> RunOperations | None:
    """Log several metrics at one step and time (see :func:`log_metric`)."""
    batch = _metric_batch(metrics, step, timestamp, run_id, model_id, dataset)
    if not batch:
        return None
    return _client().log_batch(batch[0].run_id, metrics=batch, synchronous=synchronous)


def _metric_batch(metrics: dict[str, Any], step: int | None, timestamp: int | None, run_id: str | None,
                  model_id: str | None, dataset: Any) -> list[Metric]:
    run = _metrics_run(run_id)
    step = step or 0
    now = timestamp or int(time.time() * 1000)
    name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
    batch = [Metric(key, value, now, step, linked, name, digest, run.info.run_id)
             for key, value in metrics.items() for linked in _metric_model_ids(run, model_id, step)]
    _link_inputs(run, batch, dataset)
    return batch


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    return _client().set_tag(_run_id(), key, value, synchronous=synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    return _client().log_batch(_run_id(), tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=synchronous)


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifact(run_id or _run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


def log_input(dataset: Any = None, context: str | None = None, tags: dict[str, str] | None = None,
              model: Any = None) -> None:
    """Record that the active run used ``dataset`` (from ``mlcask.data.from_pandas``/``from_numpy``)
    and/or the logged model ``model`` (a ``LoggedModelInput`` or an id)."""
    log_inputs([dataset] if dataset is not None else None, [context], [tags],
               [model] if model is not None else None)


def log_inputs(datasets: list[Any] | None = None, contexts: list[str | None] | None = None,
               tags_list: list[dict[str, str] | None] | None = None, models: list[Any] | None = None) -> None:
    """Record datasets (each with its context and tags) and logged models as inputs of the active run."""
    from mlcask.data.dataset import dataset_input

    datasets = [d for d in datasets or [] if d is not None]
    contexts = list(contexts or []) + [None] * (len(datasets) - len(contexts or []))
    tags_list = list(tags_list or []) + [None] * (len(datasets) - len(tags_list or []))
    inputs = [dataset_input(d, c, t) for d, c, t in zip(datasets, contexts, tags_list)]
    model_ids = [getattr(m, "model_id", m) for m in models or [] if m is not None]
    _client().log_inputs(_run_id(), datasets=inputs or None, models=model_ids or None)


def log_outputs(models: list[LoggedModelOutput] | None = None) -> None:
    """Record logged models as outputs of the active run (``log_model`` does this for you)."""
    _client().log_outputs(_run_id(), list(models or []))


# -- search ---------------------------------------------------------------------------------
def search_runs(experiment_ids: list[str] | None = None, filter_string: str = "",
                run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                order_by: list[str] | None = None, output_format: str = "pandas",
                search_all_experiments: bool = False, experiment_names: list[str] | None = None) -> Any:
    """Runs matching ``filter_string`` (MLflow's grammar), as a DataFrame or a list of Runs."""
    client = _client()
    if experiment_ids and experiment_names:
        raise InvalidArgumentError("Only experiment_ids or experiment_names can be used, but not both")
    if experiment_names:
        experiment_ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name) if name is not None else None
            if experiment is not None:
                experiment_ids.append(experiment.experiment_id)
        if not experiment_ids:  # no such experiment: no runs, as in MLflow
            return [] if output_format == "list" else runs_to_frame([])
    elif not experiment_ids:
        experiment_ids = ([e.experiment_id for e in search_experiments(ViewType.ALL)]
                          if search_all_experiments else [current_experiment_id()])
    runs = all_pages(lambda n, token: client.search_runs(experiment_ids, filter_string, run_view_type, n,
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
