"""Where a model version's files are: its source, with ``models:/`` sources followed.

A version registered from ``models:/<model_id>`` (a logged model) is stored where that
logged model's artifacts are; a copy (source ``models:/<name>/<version>``, as
``copy_model_version`` writes) is stored where the copied version is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.uri import ModelsUri, is_models_uri, parse_models_uri
from mlcask.tracking.registry import reads
from mlcask.tracking.store.schema import logged_models

MAX_HOPS = 16


def models_source(source: str) -> ModelsUri | None:
    """The parts of ``source`` if it is a ``models:`` URI, None for any other source.

    A malformed ``models:`` URI raises (:func:`mlcask.models.uri.parse_models_uri`).
    """
    return parse_models_uri(source) if is_models_uri(source) else None


def logged_model(conn: Any, model_id: str) -> Any:
    """The logged_models row of ``model_id`` (artifact_location, source_run_id), or None."""
    query = sa.select(logged_models.c.artifact_location, logged_models.c.source_run_id).where(
        logged_models.c.model_id == model_id)
    return conn.execute(query).first()


def _target_version(conn: Any, parsed: ModelsUri) -> int | None:
    """The version number a name-based ``models:/`` URI points at, or None."""
    mv, rma = reads.mv, reads.rma
    if parsed.version is not None:
        return parsed.version
    if parsed.alias is not None:
        query = sa.select(rma.c.version).where(rma.c.name == parsed.name, rma.c.alias == parsed.alias)
        return conn.execute(query).scalar()
    where = [mv.c.name == parsed.name, reads.LIVE]
    if parsed.stage is not None:
        where.append(sa.func.lower(mv.c.current_stage) == parsed.stage.lower())
    return conn.execute(sa.select(sa.func.max(mv.c.version)).where(*where)).scalar()


def resolve(conn: Any, source: str, *, hops: int = 0) -> str:
    """The storage location of a version whose source is ``source``.

    Copies are followed through versions deleted since (their source is kept for this).
    Raises RESOURCE_DOES_NOT_EXIST if a ``models:/<name>/...`` source leads nowhere.
    """
    parsed = models_source(source)
    if parsed is None:
        return source
    if parsed.path:
        raise InvalidArgumentError(f"Model source {source!r} names a path inside a model ({parsed.path!r}); a "
                                   "version's source is a whole model.")
    if parsed.model_id is not None:
        row = logged_model(conn, parsed.model_id)
        return row.artifact_location if row is not None else source
    if hops >= MAX_HOPS:
        raise MlcaskException(f"Model source {source!r} is a chain of more than {MAX_HOPS} models:/ references.")
    number = _target_version(conn, parsed)
    row = None
    if number is not None:
        query = sa.select(reads.mv.c.source).where(reads.mv.c.name == parsed.name, reads.mv.c.version == number)
        row = conn.execute(query).first()
    if row is None or row.source is None:
        raise MlcaskException(f"Model source {source!r} points at no model version: registered model "
                              f"{parsed.name!r} has no such version (it may have been renamed or deleted).",
                              error_code=RESOURCE_DOES_NOT_EXIST)
    return resolve(conn, row.source, hops=hops + 1)
