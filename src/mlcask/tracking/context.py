"""What the fluent API works against: the tracking and registry URIs, the current client,
the active experiment, and per thread the active run stack, the last run and the last logged model.

Public functions only; autologging, ``log_model`` and the tests use these rather than
the fluent module's state. As in MLflow: the URIs and the active experiment are per process
(and a set URI is exported to ``MLFLOW_TRACKING_URI`` so child processes use it too); the active
run stack, the last active run and the last logged model are per thread, and a forked child
starts with none of them (it does not end, or log to, its parent's run).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from mlcask.entities import LoggedModelOutput
from mlcask.tracking import stores
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
             "registry": ("MLFLOW_REGISTRY_URI", "MLCASK_REGISTRY_URI")}


class _PerThread(threading.local):
    """This thread's active runs (a stack, for nested runs), last active run and last logged model."""

    def __init__(self) -> None:
        self.runs: list[Any] = []
        self.last_run_id: str | None = None
        self.last_model_id: str | None = None
        self.active_model_id: str | None = os.environ.get("MLFLOW_ACTIVE_MODEL_ID") or None


_thread = _PerThread()


def _forget_thread_state_in_child() -> None:
    global _thread
    _thread = _PerThread()


os.register_at_fork(after_in_child=_forget_thread_state_in_child)


def _export(kind: str, uri: str) -> None:
    """Put ``uri`` in the environment (both spellings) so that child processes inherit it."""
    for name in _EXPORTED[kind]:
        _saved_environment.setdefault(name, os.environ.get(name))
        os.environ[name] = uri


def _restore_environment() -> None:
    for name, value in _saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_environment.clear()


def set_tracking_uri(uri: str) -> None:
    """Where runs are stored.

    Parameters
    ----------
    uri
        ``sqlite:///mlcask.db`` (the default), ``postgresql://...``, ``http(s)://host:port``
        (an ``mlcask server`` or ``mlflow server``), or a folder path / ``file:`` URI. An
        unsupported URI (or artifact root) is refused here, not at the first call.
    """
    stores.set_current_uri("tracking", str(uri))
    _export("tracking", str(uri))


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set (``set_tracking_uri``) or given by the environment."""
    return stores.env_tracking_uri() is not None


def get_tracking_uri() -> str:
    """The tracking URI in effect (set here, else ``MLCASK_TRACKING_URI``/``MLFLOW_TRACKING_URI``, else the default)."""
    return stores.current_tracking_uri()


def set_registry_uri(uri: str) -> None:
    """Where the model registry lives, when not with the tracking store (same URI forms)."""
    stores.set_current_uri("registry", str(uri))
    _export("registry", str(uri))


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
    _state["experiment_id"] = experiment_id


def active_run_stack() -> list[Any]:
    """This thread's active runs, innermost last (the fluent API pushes and pops them)."""
    return _thread.runs


def last_active_run_id() -> str | None:
    """The run that ``mlcask.last_active_run`` returns when no run is active (this thread's last ended run)."""
    return _thread.last_run_id


def set_last_active_run_id(run_id: str | None) -> None:
    _thread.last_run_id = run_id


def last_logged_model_id() -> str | None:
    """The logged model that ``mlcask.last_logged_model`` returns (this thread's most recent one)."""
    return _thread.last_model_id


def set_last_logged_model_id(model_id: str | None) -> None:
    """Record ``model_id`` as this thread's most recently logged model (every ``log_model`` does)."""
    _thread.last_model_id = model_id


def active_model_id() -> str | None:
    """This thread's active model (``mlcask.set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``)."""
    return _thread.active_model_id


def set_active_model_id(model_id: str | None) -> None:
    _thread.active_model_id = model_id


def record_logged_model(model_id: str, run_id: str | None = None, step: int = 0) -> None:
    """What every ``log_model`` calls once it has created a logged model: it becomes this thread's
    last logged model, and an output of the active run object (so that the fluent ``log_metric`` at
    ``step`` links metrics to it, as MLflow's does)."""
    set_last_logged_model_id(model_id)
    stack = _thread.runs
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
    _thread.last_run_id = _thread.last_model_id = _thread.active_model_id = None
    with _lock:
        _clients.clear()
    stores.clear_cache()


def forget_clients() -> None:
    """Drop the cached clients and stores (they are rebuilt on next use); URIs stay."""
    with _lock:
        _clients.clear()
    stores.clear_cache()
