"""From a tracking URI to the stores behind it, and which URI is current.

``http://`` and ``https://`` URIs name a tracking server (``mlcask server`` or
``mlflow server``) spoken to over MLflow's REST API. ``sqlite:///path.db`` (the embedded default: ``mlcask.db`` in the working folder,
artifacts in ``./mlcask-artifacts``) and ``postgresql://...`` are databases; a plain
folder path or ``file:`` URI means "a SQLite store inside this folder" (``mlcask.db``
and ``artifacts/``). ``MLCASK_ARTIFACT_ROOT`` overrides where new experiments keep
their artifacts.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlcask.environment_variables import MLFLOW_REGISTRY_URI, MLFLOW_TRACKING_URI
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.protocols import RegistryStore, TrackingStore

_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg", "mysql")
_SERVER_SCHEMES = ("http", "https")
_stores: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()
# The URIs given to set_tracking_uri / set_registry_uri (mlcask.tracking.context); None: from
# the environment, else the default.
_current: dict[str, str | None] = {"tracking": None, "registry": None}


def default_tracking_uri() -> str:
    return f"sqlite:///{Path.cwd() / 'mlcask.db'}"


def env_tracking_uri() -> str | None:
    return os.environ.get("MLCASK_TRACKING_URI") or MLFLOW_TRACKING_URI.get_raw() or None


def env_registry_uri() -> str | None:
    return os.environ.get("MLCASK_REGISTRY_URI") or MLFLOW_REGISTRY_URI.get_raw() or None


def current_tracking_uri() -> str:
    """The tracking URI in effect: the one set in this process, else the environment's, else the default."""
    return _current["tracking"] or env_tracking_uri() or default_tracking_uri()


def current_registry_uri() -> str:
    """The registry URI in effect: set, else the environment's, else the tracking URI."""
    return _current["registry"] or env_registry_uri() or current_tracking_uri()


def set_current_uri(kind: str, uri: str | None) -> None:
    """Make ``uri`` (checked first) the current ``"tracking"`` or ``"registry"`` URI; None forgets it."""
    if uri is not None:
        check_store_uri(str(uri))
    _current[kind] = None if uri is None else str(uri)


def is_server_uri(uri: str) -> bool:
    """Whether ``uri`` names a tracking server (``http(s)://``) rather than a database or folder."""
    return urllib.parse.urlparse(str(uri)).scheme.lower() in _SERVER_SCHEMES


def check_store_uri(uri: str) -> None:
    """Refuse, now, a tracking or registry URI no store serves (and a bad artifact root)."""
    if is_server_uri(uri):
        if not urllib.parse.urlparse(uri).netloc:
            raise InvalidArgumentError(f"Tracking URI '{uri}': a server URI needs a host, as in http://127.0.0.1:5000.")
        return
    from mlcask.tracking.artifacts import check_artifact_uri

    _, root = database_and_artifact_root(uri)
    check_artifact_uri(root, "Artifact root (MLCASK_ARTIFACT_ROOT)")


def database_and_artifact_root(tracking_uri: str) -> tuple[str, str]:
    """The database URI and the default artifact root for a tracking URI."""
    scheme = urllib.parse.urlparse(tracking_uri).scheme
    override = os.environ.get("MLCASK_ARTIFACT_ROOT")
    if scheme in _DATABASE_SCHEMES:
        return tracking_uri, override or str(Path.cwd() / "mlcask-artifacts")
    if scheme in ("", "file") or len(scheme) == 1:
        folder = Path(urllib.parse.unquote(urllib.parse.urlparse(tracking_uri).path) if scheme == "file"
                      else tracking_uri).absolute()
        return f"sqlite:///{folder / 'mlcask.db'}", override or str(folder / "artifacts")
    raise InvalidArgumentError(
        f"Tracking URI '{tracking_uri}': scheme '{scheme}:' is not supported (supported: sqlite:///, "
        "postgresql://, http(s):// (a tracking server), a folder path or file: URI)."
    )


def _cached(kind: str, tracking_uri: str, factory: Callable[[str, str], Any], artifact_root: str | None = None) -> Any:
    if is_server_uri(tracking_uri):
        database, root = tracking_uri.rstrip("/"), ""
    else:
        database, root = database_and_artifact_root(tracking_uri)
        if artifact_root is not None:
            from mlcask.tracking.artifacts import check_artifact_uri

            root = check_artifact_uri(str(artifact_root), "Artifact root")
    key = (kind, database, root)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = factory(database, root)
                _stores[key] = store
    return store


def tracking_store(tracking_uri: str, artifact_root: str | None = None) -> TrackingStore:
    """The (cached) tracking store for ``tracking_uri``: SQL, or REST for a server URI.

    Parameters
    ----------
    tracking_uri
        ``sqlite:///...``, ``postgresql://...``, a folder or ``file:`` URI, or ``http(s)://`` (a server).
    artifact_root
        Where new experiments of a SQL store keep artifacts; None: ``MLCASK_ARTIFACT_ROOT``, else the
        default for the URI (ignored for a server, which chooses its own).
    """
    if is_server_uri(tracking_uri):
        from mlcask.tracking.rest import RestTrackingStore

        return _cached("tracking", tracking_uri, lambda base, _: RestTrackingStore(base))
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    return _cached("tracking", tracking_uri, lambda db, root: SqlTrackingStore(db, root), artifact_root)


def registry_store(registry_uri: str) -> RegistryStore:
    """The (cached) model registry store for ``registry_uri``: SQL, or REST for a server URI."""
    if is_server_uri(registry_uri):
        from mlcask.tracking.rest import RestRegistryStore

        return _cached("registry", registry_uri, lambda base, _: RestRegistryStore(base))
    from mlcask.tracking.registry_store import SqlRegistryStore

    return _cached("registry", registry_uri, lambda db, root: SqlRegistryStore(db))


def clear_cache() -> None:
    with _lock:
        _stores.clear()
