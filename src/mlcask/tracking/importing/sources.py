"""Which reader a source URI needs: a tracking server, MLflow's database, or an mlcask store."""

from __future__ import annotations

from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking import stores

__all__ = ["open_source"]


def open_source(uri: str, workspace: str | None = None) -> Any:
    """An opened source for ``uri``.

    Parameters
    ----------
    uri
        ``http(s)://host:port`` (``mlflow server`` or ``mlcask server``, read over MLflow's REST API),
        ``sqlite:///mlflow.db`` or ``postgresql://...`` (MLflow's database, read directly; an mlcask
        database works too), or a folder holding ``mlcask.db``.
    workspace
        For an MLflow database with workspaces: which one to read.
    """
    from mlcask.tracking.importing.mlflow_sql import MlflowSqlSource
    from mlcask.tracking.importing.store_source import StoreSource
    from mlcask.tracking.store.db import DatabaseError, check_existing

    if stores.is_server_uri(uri):
        if workspace is not None:
            raise InvalidArgumentError("--workspace applies to an MLflow database, not to a server URI.")
        return StoreSource(uri)
    database, _ = stores.database_and_artifact_root(uri)
    try:
        check_existing(database)
    except DatabaseError:
        return MlflowSqlSource(database, workspace)  # MLflow's (or refused, saying what it is)
    if workspace is not None:
        raise InvalidArgumentError(f"'{uri}' is an mlcask store: it has no workspaces; drop --workspace.")
    return StoreSource(database)
