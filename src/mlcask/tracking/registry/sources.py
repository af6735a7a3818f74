"""Where a model version's files are: its source, with ``models:/`` sources followed.

A version registered from ``models:/<model_id>`` (a logged model) is stored where that
logged model's artifacts are; a copy (source ``models:/<name>/<version>``, as
``copy_model_version`` writes) is stored where the copied version is.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import sqlalchemy as sa

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking.registry import reads
from mlcask.tracking.registry.validation import ALL_STAGES, LATEST_ALIAS
from mlcask.tracking.store.schema import logged_models

MAX_HOPS = 16
_STAGES = {stage.lower() for stage in ALL_STAGES}


class ModelsUri(NamedTuple):
    """The parts of a ``models:/`` URI: a logged model id, or a name with a version, stage or alias."""

    model_id: str | None = None
    name: str | None = None
    version: int | None = None
    stage: str | None = None
    alias: str | None = None


_URI = re.compile(r"^models:/+(?P<path>[^?#]+)$")


def parse_models_uri(uri: str) -> ModelsUri | None:
    """The parts of ``uri`` if it is a well-formed ``models:/`` URI, else None."""
    match = _URI.match(uri or "")
    if match is None:
        return None
    path = match["path"].rstrip("/")
    if "@" in path and "/" not in path:
        name, _, alias = path.partition("@")
        return ModelsUri(name=name, alias=alias) if name and alias else None
    parts = path.split("/")
    if len(parts) == 1:
        return ModelsUri(model_id=parts[0]) if parts[0] else None
    if len(parts) != 2 or not parts[0]:
        return None
    name, rest = parts
    if rest.isdigit():
        return ModelsUri(name=name, version=int(rest))
    if rest.lower() == LATEST_ALIAS:
        return ModelsUri(name=name, stage=LATEST_ALIAS)
    if rest.lower() in _STAGES:
        return ModelsUri(name=name, stage=rest)
    return None


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
    if parsed.stage and parsed.stage.lower() != LATEST_ALIAS:
        where.append(sa.func.lower(mv.c.current_stage) == parsed.stage.lower())
    return conn.execute(sa.select(sa.func.max(mv.c.version)).where(*where)).scalar()


def resolve(conn: Any, source: str, *, hops: int = 0) -> str:
    """The storage location of a version whose source is ``source``.

    Copies are followed through versions deleted since (their source is kept for this).
    Raises RESOURCE_DOES_NOT_EXIST if a ``models:/<name>/...`` source leads nowhere.
    """
    parsed = parse_models_uri(source)
    if parsed is None:
        return source
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
