"""Reading registry rows into entities: prebuilt statements and batch loaders.

A single model version (by number, by alias, or the latest) is read in one round trip:
the version row joined with its tags and the aliases pointing at it. Batches (search
results, a registered model's latest versions) are read with one query per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from mlcask.entities.registry import ModelVersion, RegisteredModel
from mlcask.tracking.registry.validation import STAGE_DELETED_INTERNAL
from mlcask.tracking.store.schema import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)

mv, mvt, rma, rm, rmt = model_versions, model_version_tags, registered_model_aliases, registered_models, \
    registered_model_tags

# Batches of (name, version) keys or names per IN list: well under SQLite's parameter limit.
CHUNK = 400

_VERSION_COLUMNS = (mv.c.name, mv.c.version, mv.c.creation_time, mv.c.last_updated_time, mv.c.description,
                    mv.c.user_id, mv.c.current_stage, mv.c.source, mv.c.run_id, mv.c.model_id, mv.c.status)
LIVE = mv.c.current_stage != STAGE_DELETED_INTERNAL



def _joined_version(*where: Any) -> sa.Select:
    """One version row per (tag, alias) pair: the version with its tags and aliases, in one query."""
    other_alias = rma.alias("version_aliases")
    return (
        sa.select(*_VERSION_COLUMNS, mvt.c.key, mvt.c.value, other_alias.c.alias)
        .select_from(mv)
        .outerjoin(mvt, sa.and_(mvt.c.name == mv.c.name, mvt.c.version == mv.c.version))
        .outerjoin(other_alias, sa.and_(other_alias.c.name == mv.c.name, other_alias.c.version == mv.c.version))
        .where(LIVE, *where)
    )


_BY_NUMBER = _joined_version(mv.c.name == sa.bindparam("name"), mv.c.version == sa.bindparam("version"))
_BY_ALIAS = _joined_version(
    mv.c.name == sa.bindparam("name"),
    mv.c.version == sa.select(rma.c.version)
    .where(rma.c.name == sa.bindparam("name"), rma.c.alias == sa.bindparam("alias"))
    .scalar_subquery(),
)
_latest_number = sa.select(sa.func.max(mv.c.version)).where(mv.c.name == sa.bindparam("name"), LIVE)
_LATEST = _joined_version(mv.c.name == sa.bindparam("name"), mv.c.version == _latest_number.scalar_subquery())
_MODEL_EXISTS = sa.select(rm.c.name).where(rm.c.name == sa.bindparam("name"))


def _version_from_joined(rows: Sequence[Any]) -> ModelVersion | None:
    if not rows:
        return None
    first = rows[0]
    tags = {row.key: row.value for row in rows if row.key is not None}
    aliases = sorted({row.alias for row in rows if row.alias is not None})
    return version_entity(first, tags, aliases)


def version_entity(row: Any, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    """A ModelVersion from a model_versions row (version as a string, as MLflow's API returns it)."""
    return ModelVersion(
        name=row.name, version=str(row.version), creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time, source=row.source, description=row.description,
        run_id=row.run_id, model_id=row.model_id, status=row.status, user_id=row.user_id, tags=tags,
        aliases=aliases, current_stage=row.current_stage,
    )


def read_version(conn: Any, name: str, version: int) -> ModelVersion | None:
    """Version ``version`` of ``name`` with its tags and aliases, or None."""
    return _version_from_joined(conn.execute(_BY_NUMBER, {"name": name, "version": version}).all())


def read_version_by_alias(conn: Any, name: str, alias: str) -> ModelVersion | None:
    """The version of ``name`` that ``alias`` points at, or None."""
    return _version_from_joined(conn.execute(_BY_ALIAS, {"name": name, "alias": alias}).all())


def read_latest_version(conn: Any, name: str) -> ModelVersion | None:
    """The highest live version of ``name``, or None."""
    return _version_from_joined(conn.execute(_LATEST, {"name": name}).all())


def model_exists(conn: Any, name: str) -> bool:
    """Whether registered model ``name`` exists."""
    return conn.execute(_MODEL_EXISTS, {"name": name}).first() is not None


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


_KEYS = sa.bindparam("keys", expanding=True)
_NAMES = sa.bindparam("names", expanding=True)
_VERSIONS_IN = sa.select(*_VERSION_COLUMNS).where(LIVE, sa.tuple_(mv.c.name, mv.c.version).in_(_KEYS))
_VERSION_TAGS_IN = sa.select(mvt).where(sa.tuple_(mvt.c.name, mvt.c.version).in_(_KEYS))
_VERSION_ALIASES_IN = sa.select(rma).where(sa.tuple_(rma.c.name, rma.c.version).in_(_KEYS)).order_by(rma.c.alias)
_MODELS_IN = sa.select(rm).where(rm.c.name.in_(_NAMES))
_MODEL_TAGS_IN = sa.select(rmt).where(rmt.c.name.in_(_NAMES))
_MODEL_ALIASES_IN = sa.select(rma).where(rma.c.name.in_(_NAMES)).order_by(rma.c.alias)
_LATEST_PER_STAGE = (sa.select(mv.c.name, sa.func.max(mv.c.version).label("version"))
                     .where(mv.c.name.in_(_NAMES), LIVE).group_by(mv.c.name, mv.c.current_stage))
_LATEST_IN_STAGES = (sa.select(mv.c.name, sa.func.max(mv.c.version).label("version"))
                     .where(mv.c.name.in_(_NAMES), LIVE, mv.c.current_stage.in_(sa.bindparam("stages", expanding=True)))
                     .group_by(mv.c.name, mv.c.current_stage))


def read_versions(conn: Any, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
    """The live versions for ``keys`` ((name, version) pairs), in the order of ``keys``."""
    rows: dict[tuple[str, int], Any] = {}
    tags: dict[tuple[str, int], dict[str, str]] = {}
    aliases: dict[tuple[str, int], list[str]] = {}
    for chunk in _chunks(list(keys)):
        params = {"keys": [tuple(key) for key in chunk]}
        for row in conn.execute(_VERSIONS_IN, params):
            rows[(row.name, row.version)] = row
        for row in conn.execute(_VERSION_TAGS_IN, params):
            tags.setdefault((row.name, row.version), {})[row.key] = row.value
        for row in conn.execute(_VERSION_ALIASES_IN, params):
            aliases.setdefault((row.name, row.version), []).append(row.alias)
    return [version_entity(rows[key], tags.get(key, {}), aliases.get(key, []))
            for key in map(tuple, keys) if key in rows]


def latest_version_keys(conn: Any, names: Sequence[str], stages: Iterable[str] | None = None
                        ) -> list[tuple[str, int]]:
    """(name, version) of the highest live version in each stage of each model in ``names``."""
    keys: list[tuple[str, int]] = []
    for chunk in _chunks(list(names)):
        if stages is None:
            result = conn.execute(_LATEST_PER_STAGE, {"names": list(chunk)})
        else:
            result = conn.execute(_LATEST_IN_STAGES, {"names": list(chunk), "stages": list(stages)})
        keys.extend((row.name, row.version) for row in result)
    keys.sort()
    return keys


def read_models(conn: Any, names: Sequence[str]) -> list[RegisteredModel]:
    """The registered models ``names`` (tags, aliases, latest version per stage), in that order."""
    found: dict[str, Any] = {}
    tags: dict[str, dict[str, str]] = {}
    aliases: dict[str, dict[str, str]] = {}
    for chunk in _chunks(list(names)):
        params = {"names": list(chunk)}
        rows = conn.execute(_MODELS_IN, params).all()
        if not rows:
            continue
        found.update((row.name, row) for row in rows)
        for row in conn.execute(_MODEL_TAGS_IN, params):
            tags.setdefault(row.name, {})[row.key] = row.value
        for row in conn.execute(_MODEL_ALIASES_IN, params):
            aliases.setdefault(row.name, {})[row.alias] = str(row.version)
    latest: dict[str, list[ModelVersion]] = {}
    for version in read_versions(conn, latest_version_keys(conn, list(found))):
        latest.setdefault(version.name, []).append(version)
    return [
        RegisteredModel(name=name, creation_timestamp=found[name].creation_time,
                        last_updated_timestamp=found[name].last_updated_time, description=found[name].description,
                        tags=tags.get(name, {}), aliases=aliases.get(name, {}), latest_versions=latest.get(name, []))
        for name in names if name in found
    ]


def version_numbers(conn: Any, name: str) -> list[int]:
    """The live version numbers of ``name``, ascending (for messages)."""
    query = sa.select(mv.c.version).where(mv.c.name == name, LIVE).order_by(mv.c.version)
    return list(conn.execute(query).scalars())


def alias_map(conn: Any, name: str) -> dict[str, str]:
    """``{alias: version}`` of ``name`` (for messages)."""
    query = sa.select(rma.c.alias, rma.c.version).where(rma.c.name == name).order_by(rma.c.alias)
    return {row.alias: str(row.version) for row in conn.execute(query)}
