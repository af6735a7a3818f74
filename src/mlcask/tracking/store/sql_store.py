"""The SQL tracking store: MLflow's ``SqlAlchemyStore`` calls on SQLite and PostgreSQL.

The methods live in small modules by subject (``experiments``, ``runs``, ``run_logging``,
``logged_models``); this class puts them together.
"""

from __future__ import annotations

import os
from typing import Any

from mlcask.tracking.paging import PagedList
from mlcask.tracking.store.experiments import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME
from mlcask.tracking.store.gc import GarbageCollectionMixin
from mlcask.tracking.store.logged_models import LoggedModelsMixin
from mlcask.utils.redaction import redact_uri

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "PagedList", "SqlTrackingStore"]


class SqlTrackingStore(LoggedModelsMixin, GarbageCollectionMixin):
    """Experiments, runs, metrics, params, tags, inputs and logged models in a SQL database.

    Args:
        store_uri: ``sqlite:///path/to/mlcask.db`` or ``postgresql://user@host/db``. The
            database is created and migrated on first use.
        artifact_root: Where new experiments keep artifacts (an absolute path or a URI):
            experiment ``N`` gets ``<artifact_root>/N``, its runs
            ``<artifact_root>/N/<run_id>/artifacts``.

    Every store has the experiment "Default" with id "0". All calls are safe from many
    threads and processes at once; a call that fails changes nothing. The permanent deletions
    of ``mlcask gc`` are :class:`mlcask.tracking.store.gc.HardDeletingStore`'s.
    """

    def __init__(self, store_uri: str, artifact_root: str | os.PathLike[str] | Any) -> None:
        super().__init__(store_uri, artifact_root)
        self._ensure_default_experiment()

    def __repr__(self) -> str:
        return f"SqlTrackingStore({redact_uri(self.store_uri)!r}, {self.artifact_root!r})"
