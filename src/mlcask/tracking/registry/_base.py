"""What every part of the registry store shares beyond the SQL foundation
(:class:`mlcask.tracking.store.base.SqlFoundation`): the fast read engine and the refusals."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking.registry import reads
from mlcask.tracking.store.base import SqlFoundation

T = TypeVar("T")

_read_engines: dict[str, Any] = {}
_read_lock = threading.Lock()
os.register_at_fork(after_in_child=_read_engines.clear)


def read_engine(store_uri: str, engine: Any) -> Any:
    """The engine registry reads use.

    On PostgreSQL: a pool of autocommit connections with no ping on checkout and no
    rollback on return, so a one-statement read is one round trip (about 5x faster than
    the shared engine's four). Stale connections are retried in ``RegistryBase._query``.
    Elsewhere: ``engine`` itself.
    """
    if engine.dialect.name != "postgresql":
        return engine
    reader = _read_engines.get(store_uri)
    if reader is None:
        with _read_lock:
            reader = _read_engines.get(store_uri)
            if reader is None:
                reader = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                          pool_pre_ping=False)
                _read_engines[store_uri] = reader
    return reader


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[-10:]))
    return shown if len(numbers) <= 10 else f"..., {shown}"


def model_not_found(name: str) -> MlcaskException:
    """RESOURCE_DOES_NOT_EXIST for a registered model."""
    return MlcaskException(f"Registered Model with name={name} not found. Create it with "
                           f"create_registered_model({name!r}), or check the name (search_registered_models "
                           "lists the models).", error_code=RESOURCE_DOES_NOT_EXIST)


class RegistryBase(SqlFoundation):
    """The registry's part of the foundation: one-round-trip reads and the refusals its parts share."""

    @property
    def _reader(self) -> Any:
        """The engine for reads (see :func:`read_engine`; its cache is dropped in a forked child)."""
        return read_engine(self.store_uri, self._engine)

    def _query(self, read: Callable[[Any], T]) -> T:
        """``read(connection)`` on a read connection; retried once if the connection had gone stale."""
        try:
            try:
                with self._reader.connect() as conn:
                    return read(conn)
            except sa.exc.DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            with self._reader.connect() as conn:
                return read(conn)
        except sa.exc.DBAPIError as exc:
            raise self._database_error(exc) from exc

    def _version_not_found(self, conn: Any, name: str, version: int) -> MlcaskException:
        """RESOURCE_DOES_NOT_EXIST for a model version, saying which versions exist."""
        if not reads.model_exists(conn, name):
            detail = f"there is no registered model named {name!r}"
        else:
            numbers = reads.version_numbers(conn, name)
            detail = (f"model {name!r} has versions {_numbers(numbers)}" if numbers
                      else f"model {name!r} has no versions yet")
        return MlcaskException(f"Model Version (name={name}, version={version}) not found: {detail}.",
                               error_code=RESOURCE_DOES_NOT_EXIST)

    def _require_model(self, conn: Any, name: str) -> None:
        if not reads.model_exists(conn, name):
            raise model_not_found(name)

    def _require_version(self, conn: Any, name: str, version: int) -> None:
        query = sa.select(reads.mv.c.version).where(reads.mv.c.name == name, reads.mv.c.version == version,
                                                   reads.LIVE)
        if conn.execute(query).first() is None:
            raise self._version_not_found(conn, name, version)
