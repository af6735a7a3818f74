"""From a tracking URI to the stores behind it.

``sqlite:///path.db`` (the embedded default: ``mlcask.db`` in the working folder,
artifacts in ``./mlcask-artifacts``) and ``postgresql://...`` are databases; a plain
folder path or ``file:`` URI means "a SQLite store inside this folder" (``mlcask.db``
and ``artifacts/``). ``MLCASK_ARTIFACT_ROOT`` overrides where new experiments keep
their artifacts.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError

_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg", "mysql")
_stores: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()


def default_tracking_uri() -> str:
    return f"sqlite:///{Path.cwd() / 'mlcask.db'}"


def env_tracking_uri() -> str | None:
    return os.environ.get("MLCASK_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI") or None


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
        "postgresql://, a folder path or file: URI)."
    )


def _cached(kind: str, tracking_uri: str, factory: Any) -> Any:
    database, root = database_and_artifact_root(tracking_uri)
    key = (kind, database, root)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = factory(database, root)
                _stores[key] = store
    return store


def tracking_store(tracking_uri: str) -> Any:
    """The (cached) tracking store for ``tracking_uri``."""
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    return _cached("tracking", tracking_uri, lambda db, root: SqlTrackingStore(db, root))


def registry_store(registry_uri: str) -> Any:
    """The (cached) model registry store for ``registry_uri``."""
    from mlcask.tracking.registry_store import SqlRegistryStore

    return _cached("registry", registry_uri, lambda db, root: SqlRegistryStore(db))


def clear_cache() -> None:
    with _lock:
        _stores.clear()
