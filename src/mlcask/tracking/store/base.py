"""What every part of the SQL tracking store shares: the engine, transactions, errors, paging."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.store import db
from mlcask.tracking.store.db import DatabaseError, engine_for

T = TypeVar("T")

# Enough bound values per IN (...) list for any backend, with room for the other parameters.
CHUNK = 900


class PagedList(list, Generic[T]):  # type: ignore[type-arg]
    """A page of search results; ``token`` fetches the next page (None on the last page)."""

    def __init__(self, items: Sequence[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def parse_page_token(token: str | None) -> int:
    """The offset a page token stands for (MLflow's token layout, so tokens cross over)."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token))["offset"]
    except Exception:
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgumentError(f"Invalid page token {token!r}: pass the token of a previous search's result.")
    return offset


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


class SqlStoreBase:
    """The engine and transaction helpers behind :class:`SqlTrackingStore`."""

    def _search_page(self, experiment_ids: Any, max_results: int, page_token: str | None,
                     select: Any, load: Any) -> PagedList[Any]:
        """One page of a search over experiments: ``select(ids, limit, offset)`` builds the id
        query, ``load(connection, ids)`` turns the ids into entities."""
        from mlcask.tracking.store.experiments import experiment_id_int
        from mlcask.tracking.validation import validate_max_results

        if not isinstance(experiment_ids, (list, tuple)):
            raise InvalidArgumentError(f"experiment_ids must be a list, got {type(experiment_ids).__name__}. Did you "
                                       f"mean experiment_ids=[{experiment_ids!r}]?")
        validate_max_results(max_results)
        offset = parse_page_token(page_token)
        ids = [str(experiment_id_int(e)) for e in experiment_ids]
        if not ids:
            return PagedList([], None)
        with self._read() as connection:
            found_ids = list(connection.execute(select(ids, max_results + 1, offset)).scalars())
            found = load(connection, found_ids[:max_results])
        return PagedList(found, make_page_token(offset + max_results) if len(found_ids) > max_results else None)

    def __init__(self, store_uri: str, artifact_root: Any) -> None:
        self.store_uri = str(store_uri)
        root = str(artifact_root)
        self.artifact_root = root.rstrip("/") or root
        engine = engine_for(self.store_uri)  # connects and migrates now: a bad URI fails here
        self._dialect = engine.dialect.name
        if self._dialect not in ("sqlite", "postgresql"):
            raise DatabaseError(f"The tracking store supports SQLite and PostgreSQL databases, not "
                                f"{self._dialect} ('{db._redacted(self.store_uri)}').")
        self._sqlite = self._dialect == "sqlite"
        # Errors of statements run on the driver's own cursor (the metric fast path).
        self._driver_errors = engine.dialect.loaded_dbapi
        self._insert = sqlite.insert if self._sqlite else postgresql.insert

    @property
    def _engine(self) -> Any:
        # Looked up on each call (a dict lookup): db.py drops engines in a forked child, and
        # a child must not reuse the parent's pooled connections.
        return engine_for(self.store_uri)

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One connection, one transaction, committed at the end (rolled back on error).

        On SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE): a read
        followed by a write in a deferred transaction fails at once, without waiting, when
        another process wrote in between.
        """
        try:
            with self._engine.connect() as connection:
                # An explicit begin: statements run on the driver's cursor are invisible to
                # SQLAlchemy, and with no transaction of its own, commit() would do nothing.
                transaction = connection.begin()
                if self._sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                transaction.commit()
        except (sa.exc.IntegrityError, self._driver_errors.IntegrityError) as exc:
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

    def _database_error(self, exc: Exception) -> DatabaseError:
        detail = str(getattr(exc, "orig", None) or exc).strip()
        hint = ""
        if "locked" in detail or "busy" in detail:
            hint = (f" Another process held the database's write lock for longer than the busy timeout "
                    f"({db.SQLITE_BUSY_TIMEOUT_S} s).")
        return DatabaseError(f"The tracking database '{db._redacted(self.store_uri)}' failed: {detail}.{hint} "
                             "This call was rolled back; everything logged before it is intact.")
