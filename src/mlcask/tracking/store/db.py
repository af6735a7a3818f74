"""Database engines for the tracking and registry stores, migrated on first use.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so many
processes can log to one file at once; PostgreSQL is the team store. An empty
database is brought to the current schema with Alembic on first use; a database at an
older schema is refused with the command that upgrades it, never changed silently. A
database that is not mlcask's (MLflow's own tracking database, any other) is recognised
by reading it without changing it, and refused with what it is and what to do.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.utils.redaction import redact_uri

HEAD_REVISION = "0002"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 60
_MLCASK_REVISION = re.compile(r"\d{4}")  # mlcask numbers its migrations: 0001, 0002, ...
_MLFLOW_REVISION = re.compile(r"[0-9a-f]{12,13}")  # MLflow's Alembic ids: 1b5f0d9ad7c1, ...

_engines: dict[str, Any] = {}
_lock = threading.Lock()


class DatabaseError(MlcaskException):
    """The tracking database cannot be reached, or is not at the schema this mlcask uses."""


class NoDatabaseError(DatabaseError):
    """There is no database at the URI yet, or it is empty (raised where none may be created)."""


def _reset_after_fork() -> None:
    # Pooled connections must not cross a fork: the child drops the parent's (without
    # closing them, which would close the parent's sockets) and opens its own.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def sqlite_path(uri: str) -> str | None:
    """The file of a ``sqlite:///`` URI (None for an in-memory database)."""
    rest = uri.split("://", 1)[1]
    return None if rest in ("", "/", "/:memory:") else rest[1:]


def create_engine(uri: str) -> Any:
    """A new, unmigrated engine for a database URI: SQLite in WAL mode with a busy timeout and foreign keys,
    PostgreSQL through psycopg. The tracking and registry stores get theirs from :func:`engine_for`."""
    import sqlalchemy as sa

    if uri.startswith("sqlite"):
        path = sqlite_path(uri)
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


def mlcask_revisions() -> list[str]:
    """The schema revisions this mlcask has migrations for, oldest first."""
    return sorted(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _missing_sqlite_file(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI if it does not exist (None for other URIs, memory, or a file)."""
    path = sqlite_path(uri) if uri.startswith("sqlite") else None
    return None if path is None or Path(path).exists() else Path(path)


def _inspect(uri: str) -> tuple[str | None, list[str]]:
    """The schema revision and table names of an existing database, read without changing it.

    SQLite files are opened read-only. Raises DatabaseError if the database cannot be read.
    """
    import urllib.parse

    import sqlalchemy as sa

    path = sqlite_path(uri) if uri.startswith("sqlite") else None
    engine = None
    try:
        if path:
            engine = sa.create_engine(f"sqlite:///file:{urllib.parse.quote(path)}?mode=ro&uri=true",
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        else:
            engine = create_engine(uri)
        with engine.connect() as connection:
            return _current_revision(connection), sa.inspect(connection).get_table_names()
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"Cannot reach the tracking database '{redact_uri(uri)}': {exc.orig}") from None
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"Cannot read the tracking database '{redact_uri(uri)}': {exc.orig}"
                            + (" (is it a SQLite database?)" if "not a database" in str(exc.orig) else "")) from None
    except sa.exc.ArgumentError:
        raise DatabaseError(f"'{redact_uri(uri)}' is not a database URI: expected sqlite:///<path> or "
                            "postgresql://<user>@<host>/<database>.") from None
    finally:
        if engine is not None:
            engine.dispose()


def _looks_like_mlflow(revision: str | None, tables: list[str]) -> bool:
    """MLflow's SQL store: its core tables, stamped by MLflow's Alembic history (hex revision ids)."""
    return (revision is not None and _MLFLOW_REVISION.fullmatch(revision) is not None
            and {"experiments", "runs", "metrics", "params"} <= set(tables))


def _refusal(uri: str, revision: str | None, tables: list[str], *, upgrading: bool = False) -> DatabaseError | None:
    """Why the (non-empty) database at ``uri`` cannot be used or upgraded by this mlcask, or None."""
    shown = redact_uri(uri)
    if _looks_like_mlflow(revision, tables):
        return DatabaseError(
            f"'{shown}' is an MLflow tracking database (MLflow schema revision {revision}), not an mlcask one, so "
            "mlcask neither reads nor upgrades it. Copy its experiments, runs, models and artifacts into an mlcask "
            f"store with: mlcask db import --from {shown} --to <mlcask tracking URI>; or keep using it with MLflow "
            f"(mlflow ui --backend-store-uri {shown}) and give mlcask a database of its own (MLCASK_TRACKING_URI, "
            "mlcask.set_tracking_uri or --tracking-uri).")
    if revision is None:
        return DatabaseError(f"'{shown}' holds tables but no mlcask schema version; it is not an mlcask tracking "
                             "database. Point mlcask at its own database (MLCASK_TRACKING_URI or --tracking-uri).")
    known = mlcask_revisions()
    if not _MLCASK_REVISION.fullmatch(revision):
        return DatabaseError(f"'{shown}' is at schema revision {revision!r}, which is neither an mlcask revision "
                             f"({', '.join(known)}) nor MLflow's; it is not an mlcask tracking database.")
    if int(revision) > int(known[-1]):
        return DatabaseError(f"'{shown}' was written by a newer mlcask (schema revision {revision}; this mlcask "
                             f"knows up to {known[-1]}). Upgrade mlcask (pip install -U mlcask) to use it; "
                             "mlcask db upgrade never downgrades a database.")
    if upgrading:
        return None if revision in known else DatabaseError(
            f"'{shown}' is at schema revision {revision}, which this mlcask has no migration from (it knows "
            f"{', '.join(known)}).")
    return DatabaseError(f"The tracking database '{shown}' is at schema revision {revision}, this mlcask "
                         f"needs {HEAD_REVISION}. Back it up, then run: mlcask db upgrade {shown}")


def upgrade(uri: str) -> bool:
    """Bring the existing database at ``uri`` to the current schema (``mlcask db upgrade``).

    Returns False if it was already there (it is then not opened for writing). Refused with a
    DatabaseError: a SQLite file that does not exist, MLflow's databases, other databases that
    hold tables, and schemas of a newer mlcask.
    """
    missing = _missing_sqlite_file(uri)
    if missing is not None:
        raise NoDatabaseError(f"No database at '{uri}': the file '{missing}' does not exist, so there is nothing "
                              "to upgrade (mlcask creates a new database at the current schema on first use).")
    revision, tables = _inspect(uri)
    if revision == HEAD_REVISION:
        return False
    refusal = _refusal(uri, revision, tables, upgrading=True) if tables else None
    if refusal is not None:
        raise refusal
    _migrate(uri)
    return True


def _migrate(uri: str) -> None:
    """Run the Alembic migrations up to the head on ``uri`` (PostgreSQL: under an advisory lock)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    engine = create_engine(uri)
    try:
        with engine.begin() as connection:
            if uri.startswith("postgresql"):
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(4242)"))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.DBAPIError as exc:
        readonly = "readonly" in str(exc.orig) or "read-only" in str(exc.orig)
        raise DatabaseError(f"Cannot write the schema to '{redact_uri(uri)}': {exc.orig}"
                            + (" (the file or its folder is read-only for this user)" if readonly else "")) from None
    except CommandError as exc:  # Alembic: a revision it has no script for
        raise DatabaseError(f"Cannot migrate '{redact_uri(uri)}': {exc}") from None
    finally:
        engine.dispose()


def check_existing(uri: str) -> None:
    """Refuse (DatabaseError) a database that does not exist or is not at this mlcask's schema.

    For read-only commands: nothing is created, migrated or written.
    """
    missing = _missing_sqlite_file(uri)
    if missing is not None:
        raise NoDatabaseError(f"No tracking database at '{uri}': the file '{missing}' does not exist.")
    revision, tables = _inspect(uri)
    if revision == HEAD_REVISION:
        return
    if not tables:
        raise NoDatabaseError(f"The tracking database '{redact_uri(uri)}' is empty: nothing has been logged there "
                              "yet.")
    raise _refusal(uri, revision, tables)


def _check_schema(uri: str) -> None:
    """Create the schema in a new or empty database; refuse one at another schema, unchanged."""
    if _missing_sqlite_file(uri) is None:
        revision, tables = _inspect(uri)
        if revision == HEAD_REVISION:
            return
        if tables:
            raise _refusal(uri, revision, tables)
    _migrate(uri)


def engine_for(uri: str) -> Any:
    """The (cached, migrated) SQLAlchemy engine for a store URI."""
    engine = _engines.get(uri)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(uri)
        if engine is None:
            _check_schema(uri)
            engine = create_engine(uri)
            _engines[uri] = engine
    return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a process forks on purpose)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
