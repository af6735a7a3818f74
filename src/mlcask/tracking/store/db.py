"""Database engines for the tracking and registry stores, migrated on first use.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so many
processes can log to one file at once; PostgreSQL is the team store. An empty
database is brought to the current schema with Alembic on first use; a database at an
older schema is refused with the command that upgrades it, never changed silently.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from mlcask.exceptions import MlcaskException

HEAD_REVISION = "0001"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 60

_engines: dict[str, Any] = {}
_lock = threading.Lock()


class DatabaseError(MlcaskException):
    """The tracking database cannot be reached, or is not at the schema this mlcask uses."""


def _reset_after_fork() -> None:
    # Pooled connections must not cross a fork: the child drops the parent's (without
    # closing them, which would close the parent's sockets) and opens its own.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def _sqlite_path(uri: str) -> str | None:
    rest = uri.split("://", 1)[1]
    return None if rest in ("", "/", "/:memory:") else rest[1:]


def _create_engine(uri: str) -> Any:
    import sqlalchemy as sa

    if uri.startswith("sqlite"):
        path = _sqlite_path(uri)
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(uri, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint the WAL every ~40 MB rather than every 4 MB: a metric batch
            # rewrites the same index pages, and each checkpoint copies them again.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.close()

        return engine
    if uri.startswith(("postgresql://", "postgres://")):
        uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    try:
        return sa.create_engine(uri, pool_pre_ping=True)
    except ImportError as exc:
        raise DatabaseError(f"The driver for '{uri.split(':', 1)[0]}' is not installed: {exc}. "
                            "For PostgreSQL: pip install 'mlcask[postgres]'.") from None


def _current_revision(connection: Any) -> str | None:
    import sqlalchemy as sa

    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(uri: str) -> None:
    """Bring the database at ``uri`` to the current schema (``mlcask db upgrade``)."""
    from alembic import command
    from alembic.config import Config

    engine = _create_engine(uri)
    try:
        with engine.begin() as connection:
            if uri.startswith("postgresql"):
                import sqlalchemy as sa

                connection.execute(sa.text("SELECT pg_advisory_xact_lock(4242)"))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def _check_schema(engine: Any, uri: str) -> None:
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            revision = _current_revision(connection)
            empty = revision is None and not sa.inspect(connection).get_table_names()
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"Cannot reach the tracking database '{_redacted(uri)}': {exc.orig}") from None
    if revision == HEAD_REVISION:
        return
    if empty:
        upgrade(uri)
        return
    if revision is None:
        raise DatabaseError(f"'{_redacted(uri)}' holds tables but no mlcask schema version; it is not an mlcask "
                            "tracking database.")
    raise DatabaseError(f"The tracking database '{_redacted(uri)}' is at schema revision {revision}, this mlcask "
                        f"needs {HEAD_REVISION}. Back it up, then run: mlcask db upgrade {_redacted(uri)}")


def _redacted(uri: str) -> str:
    """The URI without its password, for messages."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:
        return uri
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def engine_for(uri: str) -> Any:
    """The (cached, migrated) SQLAlchemy engine for a store URI."""
    engine = _engines.get(uri)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(uri)
        if engine is None:
            engine = _create_engine(uri)
            _check_schema(engine, uri)
            _engines[uri] = engine
    return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a process forks on purpose)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
