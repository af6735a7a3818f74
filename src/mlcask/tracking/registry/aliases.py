"""Aliases: names (``champion``) that point at one version of a registered model."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mlcask.entities.registry import ModelVersion
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking.registry import reads
from mlcask.tracking.registry._base import RegistryBase, model_not_found
from mlcask.tracking.registry.validation import (
    LATEST_ALIAS,
    validate_alias,
    validate_alias_settable,
    validate_model_name,
    validate_version,
)

rma = reads.rma


class AliasesMixin(RegistryBase):
    """The alias calls of :class:`SqlRegistryStore`."""

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` of ``name`` at ``version`` (moving it if it pointed elsewhere)."""
        validate_model_name(name)
        validate_alias(alias)
        validate_alias_settable(alias)
        number = validate_version(version)
        with self._write() as conn:
            self._require_version(conn, name, number)
            self._upsert(conn, rma, {"name": name, "alias": alias, "version": number}, ("name", "alias"))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from ``name`` (no error if it is not set)."""
        validate_model_name(name)
        validate_alias(alias)
        with self._write() as conn:
            self._require_model(conn, name)
            conn.execute(sa.delete(rma).where(rma.c.name == name, rma.c.alias == alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at (``latest``, any case: the highest version).

        One query on success: this is the path of ``models:/<name>@<alias>``.
        """
        validate_model_name(name)
        validate_alias(alias)
        latest = alias.lower() == LATEST_ALIAS

        def read(conn: Any) -> ModelVersion:
            found = (reads.read_latest_version(conn, name) if latest
                     else reads.read_version_by_alias(conn, name, alias))
            if found is not None:
                return found
            raise self._alias_not_found(conn, name, alias)

        return self._query(read)

    def _alias_not_found(self, conn: Any, name: str, alias: str) -> MlcaskException:
        if not reads.model_exists(conn, name):
            return model_not_found(name)
        if alias.lower() == LATEST_ALIAS:
            return MlcaskException(f"Latest version not found for model {name}: it has no versions yet.",
                                   error_code=RESOURCE_DOES_NOT_EXIST)
        existing = reads.alias_map(conn, name)
        listed = ", ".join(f"{a} -> version {v}" for a, v in existing.items()) if existing else "none"
        return MlcaskException(f"Registered model alias {alias} not found on model {name!r}. Its aliases: {listed}. "
                               f"Set one with set_registered_model_alias({name!r}, {alias!r}, <version>).",
                               error_code=RESOURCE_DOES_NOT_EXIST)
