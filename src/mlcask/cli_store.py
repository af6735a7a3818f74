"""The store a command works on: the ``--tracking-uri`` option, and read-only access that
never creates a store (a missing or foreign database is an error naming where the URI came from)."""

from __future__ import annotations

import os
from typing import Any

import click
from click.core import ParameterSource

TRACKING_URI_ENV = ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI")
tracking_uri_option = click.option(
    "--tracking-uri", envvar=list(TRACKING_URI_ENV), default=None,
    help="sqlite:///mlcask.db (default), postgresql://..., or a folder. Env: MLCASK_TRACKING_URI.",
)
POINT_ELSEWHERE = ("Commands that only read never create a store: point at an existing one with --tracking-uri "
                    "<uri> or MLCASK_TRACKING_URI (sqlite:///path/to/mlcask.db, postgresql://..., or the folder "
                    "holding mlcask.db).")


def open_client(tracking_uri: str | None) -> Any:
    """A client of the store, created on first use (for commands that write)."""
    from mlcask.tracking.client import MlcaskClient

    return MlcaskClient(tracking_uri)


def tracking_uri_and_origin(tracking_uri: str | None) -> tuple[str, str]:
    """The tracking URI a command uses and where it came from, for messages."""
    from mlcask.tracking.fluent import get_tracking_uri

    if not tracking_uri:
        return get_tracking_uri(), "the default store (mlcask.db in the working folder)"
    source = click.get_current_context().get_parameter_source("tracking_uri")
    if source == ParameterSource.ENVIRONMENT:
        name = next((name for name in TRACKING_URI_ENV if os.environ.get(name)), TRACKING_URI_ENV[0])
        return tracking_uri, f"the store ${name} names ('{tracking_uri}')"
    return tracking_uri, f"the store --tracking-uri names ('{tracking_uri}')"


def reading_client(tracking_uri: str | None) -> Any:
    """A client of an existing store at this mlcask's schema, or of a tracking server (``http(s)://``);
    a missing or foreign database is an error (nothing is created)."""
    from mlcask.tracking.store.db import DatabaseError, NoDatabaseError, check_existing
    from mlcask.tracking.stores import database_and_artifact_root, is_server_uri

    uri, origin = tracking_uri_and_origin(tracking_uri)
    if is_server_uri(uri):
        return open_client(uri)
    database, _ = database_and_artifact_root(uri)
    try:
        check_existing(database)
    except DatabaseError as exc:
        advice = f" {POINT_ELSEWHERE}" if isinstance(exc, NoDatabaseError) else ""
        raise click.ClickException(f"{exc.message} That is {origin}.{advice}") from None
    return open_client(uri)


def needs_store(model_uri: str) -> bool:
    """Whether ``model_uri`` is resolved through the tracking store (``runs:/``, ``models:/``)."""
    import urllib.parse

    return urllib.parse.urlparse(model_uri).scheme.lower() in ("runs", "models")


def check_store_for(model_uri: str, tracking_uri: str | None) -> None:
    """Refuse a ``runs:/`` or ``models:/`` URI when its store does not exist (nothing is created)."""
    if needs_store(model_uri):
        reading_client(tracking_uri)
