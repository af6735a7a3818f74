"""What the fluent API works against: the tracking and registry URIs, the current client,
the active experiment, and per thread the active run stack, the last run and the last logged model.

Public functions only; autologging, ``log_model`` and the tests use these rather than
the fluent module's state. As in MLflow: the URIs and the active experiment are per process
(a set URI is exported to ``MLFLOW_TRACKING_URI``, the active experiment to ``MLFLOW_EXPERIMENT_ID``,
so that child processes use them too); the active run stack, the last active run, the last logged
model and the active model are per thread (:mod:`mlcask.tracking.thread_state`), and a forked child
starts with none of them (it does not end, or log to, its parent's run).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from mlcask.entities import LoggedModelOutput
from mlcask.tracking import stores, thread_state
from mlcask.tracking.client import MlcaskClient

__all__ = [
    "active_experiment_id", "active_model_id", "active_run_stack", "current_client", "get_registry_uri",
    "get_tracking_uri", "is_tracking_uri_set", "last_active_run_id", "last_logged_model_id", "record_logged_model",
    "reset", "set_active_experiment_id", "set_active_model_id", "set_last_active_run_id", "set_last_logged_model_id",
    "set_registry_uri", "set_tracking_uri",
]

_clients: dict[tuple[str, str], MlcaskClient] = {}
_lock = threading.Lock()
_state: dict[str, str | None] = {"experiment_id": None}
# Environment variables as they were before set_tracking_uri / set_registry_uri exported a URI
# (reset puts them back).
_saved_environment: dict[str, str | None] = {}
_EXPORTED = {"tracking": ("MLFLOW_TRACKING_URI", "MLCASK_TRACKING_URI"),
             "registry": ("MLFLOW_REGISTRY_URI", "MLCASK_REGISTRY_URI"), "experiment": ("MLFLOW_EXPERIMENT_ID",)}


def _export(kind: str, value: str | None) -> None:
    """Put ``value`` in the environment (every spelling) so that child processes inherit it;
    None removes it, as MLflow does for ``set_tracking_uri(None)``."""
    for name in _EXPORTED[kind]:
        _saved_environment.setdefault(name, os.environ.get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _uri_text(uri: str | os.PathLike | None) -> str | None:
    if isinstance(uri, os.PathLike):
        return Path(uri).absolute().resolve().as_uri()
    return None if uri is None else str(uri)


def _restore_environment() -> None:
    for name, value in _saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_environment.clear()


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Where runs are stored.

    Parameters
    ----------
    uri
        ``sqlite:///mlcask.db`` (the default), ``postgresql://...``, ``http(s)://host:port``
        (an ``mlcask server`` or ``mlflow server``), or a folder path / ``file:`` URI. An
        unsupported URI (or artifact root) is refused here, not at the first call. A
        :class:`pathlib.Path` means that folder (as a ``file:`` URI); None forgets the URI set
        here and removes it from the environment.
    """
    text = _uri_text(uri)
    stores.set_current_uri("tracking", text)
    _export("tracking", text)


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set (``set_tracking_uri``) or given by the environment."""
    return stores.env_tracking_uri() is not None


def get_tracking_uri() -> str:
    """The tracking URI in effect (set here, else ``MLCASK_TRACKING_URI``/``MLFLOW_TRACKING_URI``, else the default)."""
    return stores.current_tracking_uri()


def set_registry_uri(uri: str | os.PathLike | None) -> None:
    """Where the model registry lives, when not with the tracking store (same URI forms; None
    forgets it)."""
    text = _uri_text(uri)
    stores.set_current_uri("registry", text)
    _export("registry", text)


def get_registry_uri() -> str:
    """The registry URI in effect (set, else ``MLFLOW_REGISTRY_URI``, else the tracking URI)."""
    return stores.current_registry_uri()


def current_client() -> MlcaskClient:
    """The client of the current tracking and registry URIs (one per pair, reused)."""
    key = (get_tracking_uri(), get_registry_uri())
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = MlcaskClient(*key)
    return client


def active_experiment_id() -> str | None:
    """The experiment made active by ``set_experiment`` (None: the environment's or "0")."""
    return _state["experiment_id"]


def set_active_experiment_id(experiment_id: str | None) -> None:
    """Make ``experiment_id`` the active experiment of this process, and of the child processes it
    starts (``MLFLOW_EXPERIMENT_ID``, as MLflow's ``set_experiment`` exports it)."""
    _state["experiment_id"] = experiment_id
    if experiment_id is not None:
        _export("experiment", experiment_id)


def active_run_stack() -> list[Any]:
    """This thread's active runs, innermost last (the fluent API pushes and pops them)."""
    return thread_state.current().runs


def last_active_run_id() -> str | None:
    """The run that ``mlcask.last_active_run`` returns when no run is active (this thread's last ended run)."""
    return thread_state.current().last_run_id


def set_last_active_run_id(run_id: str | None) -> None:
    thread_state.current().last_run_id = run_id


def last_logged_model_id() -> str | None:
    """The logged model that ``mlcask.last_logged_model`` returns (this thread's most recent one)."""
    return thread_state.current().last_model_id


def set_last_logged_model_id(model_id: str | None) -> None:
    """Record ``model_id`` as this thread's most recently logged model (every ``log_model`` does)."""
    thread_state.current().last_model_id = model_id


def active_model_id() -> str | None:
    """This thread's active model (``mlcask.set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``)."""
    return thread_state.current().active_model_id


def set_active_model_id(model_id: str | None) -> None:
    thread_state.current().active_model_id = model_id


def record_logged_model(model_id: str, run_id: str | None = None, step: int = 0) -> None:
    """What every ``log_model`` calls once it has created a logged model: it becomes this thread's
    last logged model, and an output of the active run object (so that the fluent ``log_metric`` at
    ``step`` links metrics to it, as MLflow's does)."""
    set_last_logged_model_id(model_id)
    stack = thread_state.current().runs
    if run_id is not None and stack and stack[-1].info.run_id == run_id:
        outputs = stack[-1].outputs.model_outputs
        if not any(o.model_id == model_id for o in outputs):
            outputs.append(LoggedModelOutput(model_id, step))


def reset() -> None:
    """Forget the set URIs (the environment is as before they were set), the active experiment,
    this thread's last run and last logged model, and every cached client and store."""
    stores.set_current_uri("tracking", None)
    stores.set_current_uri("registry", None)
    _restore_environment()
    _state.update(experiment_id=None)
    state = thread_state.current()
    state.last_run_id = state.last_model_id = state.active_model_id = None
    with _lock:
        _clients.clear()
    stores.clear_cache()


def forget_clients() -> None:
    """Drop the cached clients and stores (they are rebuilt on next use); URIs stay."""
    with _lock:
        _clients.clear()
    stores.clear_cache()
