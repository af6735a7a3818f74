"""What the fluent API works against: the tracking and registry URIs, the current client,
the active experiment and the last run.

Public functions only; autologging, ``log_model`` and the tests use these rather than
the fluent module's state. The active run itself is per thread and lives with the
fluent API (``mlcask.start_run``).
"""

from __future__ import annotations

import threading

from mlcask.tracking import stores
from mlcask.tracking.client import MlcaskClient

__all__ = [
    "active_experiment_id", "current_client", "get_registry_uri", "get_tracking_uri", "last_active_run_id",
    "reset", "set_active_experiment_id", "set_last_active_run_id", "set_registry_uri", "set_tracking_uri",
]

_clients: dict[tuple[str, str], MlcaskClient] = {}
_lock = threading.Lock()
_state: dict[str, str | None] = {"experiment_id": None, "last_run_id": None}


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


def get_tracking_uri() -> str:
    """The tracking URI in effect (set here, else ``MLCASK_TRACKING_URI``/``MLFLOW_TRACKING_URI``, else the default)."""
    return stores.current_tracking_uri()


def set_registry_uri(uri: str) -> None:
    """Where the model registry lives, when not with the tracking store (same URI forms)."""
    stores.set_current_uri("registry", str(uri))


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


def last_active_run_id() -> str | None:
    """The run that ``mlcask.last_active_run`` returns."""
    return _state["last_run_id"]


def set_last_active_run_id(run_id: str | None) -> None:
    _state["last_run_id"] = run_id


def reset() -> None:
    """Forget the set URIs, the active experiment, the last run and every cached client and store."""
    stores.set_current_uri("tracking", None)
    stores.set_current_uri("registry", None)
    _state.update(experiment_id=None, last_run_id=None)
    with _lock:
        _clients.clear()
    stores.clear_cache()


def forget_clients() -> None:
    """Drop the cached clients and stores (they are rebuilt on next use); URIs stay."""
    with _lock:
        _clients.clear()
    stores.clear_cache()
