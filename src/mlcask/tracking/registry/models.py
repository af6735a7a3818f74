"""Registered models: create, read, rename, describe, delete, tag."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from mlcask.entities.registry import ModelVersion, RegisteredModel
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, MlcaskException
from mlcask.tracking.paging import now_ms
from mlcask.tracking.registry import reads
from mlcask.tracking.registry._base import RegistryBase, model_not_found
from mlcask.tracking.registry.validation import (
    ALL_STAGES,
    MAX_DESCRIPTION_LENGTH,
    canonical_stage,
    check_length,
    validate_model_name,
    validate_tag_key,
    validate_tag_value,
)

rm, rmt = reads.rm, reads.rmt

TagsArg = Mapping[str, Any] | Iterable[Any] | None


def tag_dict(tags: TagsArg, *, allow_none_values: bool) -> dict[str, str | None]:
    """``{key: value}`` from a dict or a list of tag entities (anything with ``key`` and ``value``); checked."""
    if tags is None:
        return {}
    pairs = tags.items() if isinstance(tags, Mapping) else ((tag.key, tag.value) for tag in tags)
    checked: dict[str, str | None] = {}
    for key, value in pairs:
        checked[validate_tag_key(key)] = validate_tag_value(key, value, allow_none=allow_none_values)
    return checked


class RegisteredModelsMixin(RegistryBase):
    """The registered-model calls of :class:`SqlRegistryStore`."""

    def create_registered_model(self, name: str, tags: TagsArg = None, description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        """Create registered model ``name`` (RESOURCE_ALREADY_EXISTS if the name is taken).

        ``tags`` is a dict or a list of ``RegisteredModelTag``. ``deployment_job_id`` is
        accepted for MLflow compatibility and ignored.
        """
        validate_model_name(name)
        checked = tag_dict(tags, allow_none_values=True)
        check_length("The description", description, MAX_DESCRIPTION_LENGTH)
        now = now_ms()
        def taken() -> MlcaskException:
            return MlcaskException(f"Registered Model (name={name}) already exists. Pick another name, or add a "
                                   f"version to it with create_model_version({name!r}, source).", error_code=RESOURCE_ALREADY_EXISTS)

        with self._write(already_exists=taken) as conn:
            conn.execute(sa.insert(rm).values(name=name, creation_time=now, last_updated_time=now,
                                              description=description))
            if checked:
                conn.execute(sa.insert(rmt), [{"name": name, "key": k, "value": v} for k, v in checked.items()])
        return RegisteredModel(name=name, creation_timestamp=now, last_updated_timestamp=now, description=description,
                               tags=dict(checked))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Registered model ``name`` with its tags, aliases and latest version per stage."""
        validate_model_name(name)
        found = self._query(lambda conn: reads.read_models(conn, [name]))
        if not found:
            raise model_not_found(name)
        return found[0]

    def update_registered_model(self, name: str, description: str | None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        """Set the description of ``name`` (None clears it); returns the updated model."""
        validate_model_name(name)
        check_length("The description", description, MAX_DESCRIPTION_LENGTH)
        with self._write() as conn:
            updated = conn.execute(sa.update(rm).where(rm.c.name == name)
                                   .values(description=description, last_updated_time=now_ms()))
            if updated.rowcount == 0:
                raise model_not_found(name)
            return reads.read_models(conn, [name])[0]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename ``name`` to ``new_name``; its versions, tags and aliases follow."""
        validate_model_name(name)
        validate_model_name(new_name, parameter="new_name")
        now = now_ms()
        def taken() -> MlcaskException:
            return MlcaskException(f"Cannot rename registered model {name!r} to {new_name!r}: Registered Model "
                                   f"(name={new_name}) already exists.", error_code=RESOURCE_ALREADY_EXISTS)

        with self._write(already_exists=taken) as conn:
            # The foreign keys cascade the new name to versions, tags and aliases.
            renamed = conn.execute(sa.update(rm).where(rm.c.name == name).values(name=new_name, last_updated_time=now))
            if renamed.rowcount == 0:
                raise model_not_found(name)
            conn.execute(sa.update(reads.mv).where(reads.mv.c.name == new_name).values(last_updated_time=now))
            return reads.read_models(conn, [new_name])[0]

    def delete_registered_model(self, name: str) -> None:
        """Delete ``name`` with all its versions, tags and aliases."""
        validate_model_name(name)
        with self._write() as conn:
            if conn.execute(sa.delete(rm).where(rm.c.name == name)).rowcount == 0:
                raise model_not_found(name)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The highest version of ``name`` in each of ``stages`` (every stage if None or empty)."""
        validate_model_name(name)
        wanted = [canonical_stage(stage) for stage in stages] if stages else list(ALL_STAGES)

        def read(conn: Any) -> list[ModelVersion]:
            self._require_model(conn, name)
            return reads.read_versions(conn, reads.latest_version_keys(conn, [name], wanted))

        return self._query(read)

    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        """Set tag ``tag.key`` of ``name`` to ``tag.value`` (a ``RegisteredModelTag``)."""
        validate_model_name(name)
        key = validate_tag_key(tag.key)
        value = validate_tag_value(key, tag.value, allow_none=True)
        with self._write() as conn:
            self._require_model(conn, name)
            self._upsert(conn, rmt, {"name": name, "key": key, "value": value}, ("name", "key"))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove tag ``key`` of ``name`` (no error if it is not set)."""
        validate_model_name(name)
        validate_tag_key(key)
        with self._write() as conn:
            self._require_model(conn, name)
            conn.execute(sa.delete(rmt).where(rmt.c.name == name, rmt.c.key == key))
