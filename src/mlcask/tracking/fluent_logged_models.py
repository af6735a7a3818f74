"""The fluent API of MLflow 3's logged models: ``mlcask.last_logged_model()``,
``search_logged_models``, ``initialize_logged_model``, ``create_external_model``, the model's
tags and params, and the active model (``set_active_model``) that metrics link to.

The last logged model and the active model are per thread, as in MLflow; every ``log_model``
records its model as the last one (:func:`mlcask.tracking.context.record_logged_model`), and so do
``initialize_logged_model`` and ``create_external_model``.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mlcask.entities import LoggedModel, LoggedModelStatus
from mlcask.environment_variables import MLFLOW_ACTIVE_MODEL_ID
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking import context, fluent
from mlcask.utils.mlflow_tags import MLFLOW_MODEL_IS_EXTERNAL

__all__ = [
    "ActiveModel", "clear_active_model", "create_external_model", "delete_logged_model_tag",
    "finalize_logged_model", "get_active_model_id", "get_logged_model", "initialize_logged_model",
    "last_logged_model", "log_model_params", "search_logged_models", "set_active_model", "set_logged_model_tags",
]



def _experiment_for_model(experiment_id: str | None, source_run_id: str | None) -> tuple[str, str | None]:
    """MLflow's defaults: the active run is the source run and gives the experiment; else the
    experiment of fluent calls (the active one, else the environment's, else "0"), and only if there
    is none, the source run's."""
    run = fluent.active_run()
    if source_run_id is None and run is not None:
        source_run_id = run.info.run_id
    if experiment_id is None and run is not None:
        experiment_id = run.info.experiment_id
    elif experiment_id is None:
        experiment_id = fluent.current_experiment_id() or (
            context.current_client().get_run(source_run_id).info.experiment_id if source_run_id else None)
    return str(experiment_id), source_run_id


def _create(name: str | None, source_run_id: str | None, tags: dict[str, Any] | None, params: dict[str, Any] | None,
            model_type: str | None, experiment_id: str | None) -> LoggedModel:
    experiment_id, source_run_id = _experiment_for_model(experiment_id, source_run_id)
    all_tags = {**fluent.default_run_tags(), **{k: str(v) for k, v in (tags or {}).items()}}
    model = context.current_client().create_logged_model(experiment_id, name, source_run_id, all_tags, params,
                                                         model_type)
    context.set_last_logged_model_id(model.model_id)  # not an output of the run: log_model makes it one
    return model


def initialize_logged_model(name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """Create a PENDING logged model with no artifacts (add them, then :func:`finalize_logged_model`).

    Parameters
    ----------
    name
        The model's name (random if None).
    source_run_id
        The run that produced it; default: the active run.
    tags, params
        Tags and params of the model (values stored as strings); the user, source name and
        source type tags are added, as for a run.
    model_type
        A free-form type to search by (``"agent"``, ...).
    experiment_id
        Default: the active run's experiment, else the active experiment.

    Returns
    -------
    LoggedModel
        The new model; it is also this thread's :func:`last_logged_model`.
    """
    return _create(name, source_run_id, tags, params, model_type, experiment_id)


def create_external_model(name: str | None = None, source_run_id: str | None = None,
                          tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                          model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """Create a READY logged model whose artifacts live outside mlcask (tagged
    ``mlflow.model.isExternal``); it holds an MLmodel file only, so that it can be registered.
    Arguments as :func:`initialize_logged_model`."""
    from mlcask.models.model import Model
    from mlcask.tracking.artifacts import get_artifact_repository

    tags = {**(tags or {}), MLFLOW_MODEL_IS_EXTERNAL: "true"}
    model = _create(name, source_run_id, tags, params, model_type, experiment_id)
    client = context.current_client()
    spec = Model(artifact_path=model.artifact_location, run_id=model.source_run_id, model_id=model.model_id,
                 model_uuid=model.model_id, metadata={MLFLOW_MODEL_IS_EXTERNAL: True})
    folder = Path(tempfile.mkdtemp(prefix="mlcask-external-model-"))
    try:
        spec.save(folder / "MLmodel")
        get_artifact_repository(model.artifact_location, client.tracking_uri).log_artifacts(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)


def finalize_logged_model(model_id: str, status: str | LoggedModelStatus) -> LoggedModel:
    """Set a logged model's final status, ``READY`` or ``FAILED``; returns the updated model."""
    return context.current_client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    """The logged model ``model_id`` (``RESOURCE_DOES_NOT_EXIST`` if unknown)."""
    return context.current_client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The logged model this thread logged last (``log_model``, autolog, ``initialize_logged_model``...),
    read again from the store; None if it has logged none."""
    model_id = context.last_logged_model_id()
    return get_logged_model(model_id) if model_id else None


def search_logged_models(experiment_ids: list[str] | None = None, filter_string: str | None = None,
                         datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
                         order_by: list[dict[str, Any]] | None = None, output_format: str = "pandas") -> Any:
    """Logged models matching ``filter_string`` (``"name = 'm'"``, ``"metrics.acc > 0.9"``,
    ``"params.alpha = '0.1'"``, ``"tags.t = 'x'"``), newest first unless ``order_by``.

    Parameters
    ----------
    experiment_ids
        Default: the active experiment.
    datasets
        ``[{"dataset_name": ..., "dataset_digest": ...}]``: metric filters and ordering consider
        only metrics logged on these datasets.
    max_results
        At most this many (default: all, page by page).
    order_by
        MLflow's dicts: ``{"field_name": "metrics.acc", "ascending": False, "dataset_name": ...}``.
    output_format
        ``"pandas"`` (MLflow's columns, one row per model) or ``"list"`` (of LoggedModel).
    """
    if output_format not in ("pandas", "list"):
        raise InvalidArgumentError(f"Unsupported output format: {output_format!r}. Supported string values are "
                                   "'pandas' or 'list'")
    client = fluent.MlflowClient()  # a client of the current URIs (its stores are shared)
    experiment_ids = list(experiment_ids or [fluent.current_experiment_id()])
    models: list[LoggedModel] = []
    token = None
    while True:
        page = client.search_logged_models(experiment_ids=experiment_ids, filter_string=filter_string,
                                           datasets=datasets, max_results=max_results, order_by=order_by,
                                           page_token=token)
        models.extend(page.to_list())
        if (max_results is not None and len(models) >= max_results) or not page.token:
            break
        token = page.token
    models = models[:max_results] if max_results is not None else models
    if output_format == "list":
        return models
    import pandas as pd

    columns = sorted(f.name for f in dataclasses.fields(LoggedModel))
    return pd.DataFrame([{c: getattr(m, c) for c in columns} for m in models], columns=columns)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    """Set (or overwrite) tags of a logged model (values stored as strings)."""
    context.current_client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    """Remove a tag from a logged model (``RESOURCE_DOES_NOT_EXIST`` if it has none of that key)."""
    context.current_client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, Any], model_id: str | None = None) -> None:
    """Add params to a logged model (default: the active model)."""
    model_id = model_id or get_active_model_id()
    if not isinstance(model_id, str) or not model_id:
        raise InvalidArgumentError(f"`model_id` must be a non-empty string, but got {model_id!r}")
    context.current_client().log_model_params(model_id, params)


# -- the active model ----------------------------------------------------------------------
class ActiveModel(LoggedModel):
    """The model ``set_active_model`` returns; as a context manager it restores the previous
    active model on exit."""

    def __init__(self, logged_model: LoggedModel) -> None:
        super().__init__(**{f.name: getattr(logged_model, f.name) for f in dataclasses.fields(LoggedModel)})
        self._previous = context.active_model_id()
        context.set_active_model_id(self.model_id)

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        context.set_active_model_id(self._previous)


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a logged model the active one (by ``model_id``, or by ``name``: the newest of that name in
    the active experiment, created as an external model if there is none); metrics logged without
    ``model_id`` link to it. Usable as a context manager."""
    if name is None and model_id is None:
        raise InvalidArgumentError("Either name or model_id must be provided")
    if model_id is not None:
        model = get_logged_model(model_id)
        if name is not None and model.name != name:
            raise InvalidArgumentError(f"LoggedModel with model_id {model_id!r} has name {model.name!r}, which "
                                       f"does not match the provided name {name!r}.")
    else:
        found = search_logged_models(filter_string=f"name = '{_quoted(name)}'", max_results=1, output_format="list")
        model = found[0] if found else create_external_model(name=name)
    return ActiveModel(model)


def _quoted(value: Any) -> str:
    return str(value).replace("'", "\\'")


def get_active_model_id() -> str | None:
    """The active model's id in this thread (``set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``), or None."""
    return context.active_model_id()


def clear_active_model() -> None:
    """Forget the active model of this thread (including one from ``MLFLOW_ACTIVE_MODEL_ID``)."""
    context.set_active_model_id(None)
    MLFLOW_ACTIVE_MODEL_ID.unset()
