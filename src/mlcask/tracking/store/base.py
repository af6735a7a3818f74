"""The SQL foundation both stores stand on (tracking: ``SqlTrackingStore``; registry:
``SqlRegistryStore``): the engine, transactions, database errors and upserts. Paging
tokens, ``PagedList``, ``max_results`` checks and ``now_ms`` are :mod:`mlcask.tracking.paging`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.store import db, write_gate
from mlcask.tracking.store.db import DatabaseError, engine_for
from mlcask.utils.redaction import redact_uri

__all__ = ["CHUNK", "SqlFoundation", "SqlStoreBase", "chunks", "not_found", "pairs"]

T = TypeVar("T")

# Enough bound values per IN (...) list for any backend, with room for the other parameters.
CHUNK = 900

def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def not_found(message: str) -> MlcaskException:
    return MlcaskException(message, error_code=RESOURCE_DOES_NOT_EXIST)


def pairs(items: Any, what: str) -> list[tuple[Any, Any]]:
    """``(key, value)`` pairs from a dict or from objects with ``key`` and ``value`` (tags, params)."""
    if items is None:
        return []
    if isinstance(items, dict):
        return list(items.items())
    try:
        return [(item.key, item.value) for item in items]
    except (AttributeError, TypeError):
        raise InvalidArgumentError(f"{what} must be a dict or a list of objects with .key and .value, "
                                   f"got {type(items).__name__}.") from None


class SqlFoundation:
    """One database (SQLite or PostgreSQL, migrated on first use) and the way every store writes to it.

    The engine is looked up on each use: :mod:`mlcask.tracking.store.db` drops its engines in a
    forked child, so a child never reuses its parent's pooled connections.
    """

    def __init__(self, store_uri: str) -> None:
        self.store_uri = str(store_uri)
        engine = engine_for(self.store_uri)  # connects and migrates now: a bad URI fails here
        self._dialect = engine.dialect.name
        if self._dialect not in ("sqlite", "postgresql"):
            raise DatabaseError(f"The tracking store supports SQLite and PostgreSQL databases, not "
                                f"{self._dialect} ('{redact_uri(self.store_uri)}').")
        self._sqlite = self._dialect == "sqlite"
        self._gate = write_gate.gate_for(db.sqlite_path(self.store_uri)) if self._sqlite else None
        # Errors of statements run on the driver's own cursor (the metric fast path).
        self._driver_errors = engine.dialect.loaded_dbapi
        self._insert = sqlite.insert if self._sqlite else postgresql.insert

    @property
    def _engine(self) -> Any:
        return engine_for(self.store_uri)

    @contextmanager
    def _write(self, already_exists: Callable[[], MlcaskException] | None = None) -> Iterator[sa.Connection]:
        """One connection, one transaction, committed at the end (rolled back on error).

        On SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE): a read
        followed by a write in a deferred transaction fails at once, without waiting, when
        another process wrote in between. Writers queue at the database's write gate first
        (:mod:`mlcask.tracking.store.write_gate`), so none starves in SQLite's busy loop. A uniqueness violation raises ``already_exists()``
        when given (RESOURCE_ALREADY_EXISTS with the caller's words).
        """
        try:
            with self._gate.held() if self._gate else nullcontext(), self._engine.connect() as connection:
                # An explicit begin: statements run on the driver's cursor are invisible to
                # SQLAlchemy, and with no transaction of its own, commit() would do nothing.
                transaction = connection.begin()
                if self._sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                transaction.commit()
        except (sa.exc.IntegrityError, self._driver_errors.IntegrityError) as exc:
            if already_exists is not None:
                raise already_exists() from None
            raise MlcaskException(f"The tracking database refused the change: {getattr(exc, 'orig', exc)}") from exc
        except (sa.exc.DBAPIError, self._driver_errors.Error) as exc:
            raise self._database_error(exc) from exc

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """One connection for a group of reads (one snapshot on SQLite)."""
        try:
            with self._engine.connect() as connection:
                if self._sqlite:
                    connection.exec_driver_sql("BEGIN")
                yield connection
        except sa.exc.DBAPIError as exc:
            raise self._database_error(exc) from exc

    def _upsert(self, conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: tuple[str, ...]) -> None:
        """Insert ``values`` into ``table``, or update the row with the same ``keys``."""
        statement = self._insert(table).values(**values)
        changes = {k: statement.excluded[k] for k in values if k not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))

    def _database_error(self, exc: Exception) -> DatabaseError:
        detail = str(getattr(exc, "orig", None) or exc).strip()
        hint = ""
        if "locked" in detail or "busy" in detail:
            hint = (f" Another process held the database's write lock for longer than the busy timeout "
                    f"({db.SQLITE_BUSY_TIMEOUT_S} s).")
        return DatabaseError(f"The tracking database '{redact_uri(self.store_uri)}' failed: {detail}.{hint} "
                             "This call was rolled back; everything logged before it is intact.")


class SqlStoreBase(SqlFoundation):
    """The tracking store's part of the foundation: where its experiments keep artifacts."""

    def __init__(self, store_uri: str, artifact_root: Any) -> None:
        super().__init__(store_uri)
        root = str(artifact_root)
        self.artifact_root = root.rstrip("/") or root
