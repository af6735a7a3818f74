"""Model versions: numbered registration (safe under concurrency), reads, updates, tags."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import sqlalchemy as sa

from mlcask.entities.registry import ModelVersion
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, MlcaskException
from mlcask.tracking.paging import now_ms
from mlcask.tracking.registry import reads, source_policy, sources
from mlcask.tracking.registry._base import RegistryBase, model_not_found
from mlcask.tracking.registry.models import TagsArg, tag_dict
from mlcask.tracking.registry.validation import (
    ACTIVE_STAGES,
    MAX_DESCRIPTION_LENGTH,
    MAX_MODEL_ID_LENGTH,
    MAX_RUN_ID_LENGTH,
    MAX_SOURCE_LENGTH,
    STAGE_ARCHIVED,
    STAGE_DELETED_INTERNAL,
    canonical_stage,
    check_length,
    invalid,
    validate_model_name,
    validate_tag_key,
    validate_tag_value,
    validate_version,
)

_logger = logging.getLogger(__name__)
mv, mvt, rm, rma = reads.mv, reads.mvt, reads.rm, reads.rma

_REDACTED_RUN_ID = "REDACTED-RUN-ID"
_SOURCE = sa.select(mv.c.source).where(mv.c.name == sa.bindparam("name"), mv.c.version == sa.bindparam("version"),
                                       reads.LIVE)


class _VersionClash(MlcaskException):
    """Another writer took the version number being inserted."""


class ModelVersionsMixin(RegistryBase):
    """The model-version calls of :class:`SqlRegistryStore`."""

    CREATE_MODEL_VERSION_RETRIES = 5

    def _checked_run_id(self, source: str, run_id: str | None, model_id: str | None) -> str | None:
        """``run_id``, or the run of the logged model behind ``model_id`` or a ``models:/<model_id>`` source.

        A ``models:/<name>/...`` source must point at an existing version.
        """
        parsed = sources.models_source(source)
        if parsed is None and not model_id:
            return run_id

        def read(conn: Any) -> str | None:
            if parsed is not None and parsed.model_id is None:
                sources.resolve(conn, source)
            logged_id = model_id or (parsed.model_id if parsed is not None else None)
            if logged_id and not run_id:
                row = sources.logged_model(conn, logged_id)
                return row.source_run_id if row is not None else None
            return run_id

        return self._query(read)

    def create_model_version(self, name: str, source: str, run_id: str | None = None, tags: TagsArg = None,
                             run_link: str | None = None, description: str | None = None,
                             local_model_path: str | None = None, model_id: str | None = None) -> ModelVersion:
        """Register ``source`` as the next version of ``name`` (which must exist).

        Versions count from 1 per model and are never reused, even after a deletion; two
        processes registering at once get consecutive numbers. ``run_link`` and
        ``local_model_path`` are accepted for MLflow compatibility and not stored.
        ``source`` is checked by :mod:`~mlcask.tracking.registry.source_policy`: no ``..``
        in any encoding, and a local source given with a run id must lie in that run's files.
        """
        validate_model_name(name)
        if not isinstance(source, str) or not source:
            raise invalid(f"The source of a new version of {name!r} must be a non-empty URI or path, got {source!r}.")
        checked = tag_dict(tags, allow_none_values=False)
        check_length("The source", source, MAX_SOURCE_LENGTH)
        check_length("The description", description, MAX_DESCRIPTION_LENGTH)
        check_length("The run_id", run_id, MAX_RUN_ID_LENGTH)
        check_length("The model_id", model_id, MAX_MODEL_ID_LENGTH)
        source_policy.check_source(source)
        if run_id and source_policy.is_local(source):
            self._query(lambda conn: source_policy.check_source_in_run(conn, source, run_id))
        run_id = self._checked_run_id(source, run_id, model_id)
        for attempt in range(self.CREATE_MODEL_VERSION_RETRIES):
            try:
                return self._insert_version(name, source, run_id, model_id, description, checked)
            except _VersionClash:
                # Only reachable if a writer bypassed the row lock; take the next number.
                _logger.info("Version number clash registering %r; retrying (%d)", name, attempt + 1)
                time.sleep(random.uniform(0.001, 0.02) * (attempt + 1))
        raise MlcaskException(f"Could not register a new version of {name!r}: the version number clashed "
                              f"{self.CREATE_MODEL_VERSION_RETRIES} times with concurrent registrations.")

    def _insert_version(self, name: str, source: str, run_id: str | None, model_id: str | None,
                        description: str | None, tags: dict[str, Any]) -> ModelVersion:
        now = now_ms()
        with self._write(already_exists=_VersionClash) as conn:
            # Writing the model row first takes its lock (PostgreSQL: the row; SQLite: the
            # database) before the highest number is read, so concurrent registrations queue.
            locked = conn.execute(sa.update(rm).where(rm.c.name == name).values(last_updated_time=now))
            if locked.rowcount == 0:
                raise model_not_found(name)
            highest = conn.execute(sa.select(sa.func.max(mv.c.version)).where(mv.c.name == name)).scalar()
            number = (highest or 0) + 1
            conn.execute(sa.insert(mv).values(
                name=name, version=number, creation_time=now, last_updated_time=now, description=description,
                current_stage="None", source=source, run_id=run_id, model_id=model_id, status="READY"))
            if tags:
                conn.execute(sa.insert(mvt), [{"name": name, "version": number, "key": k, "value": v}
                                              for k, v in tags.items()])
        return ModelVersion(name=name, version=str(number), creation_timestamp=now, last_updated_timestamp=now,
                            source=source, description=description, run_id=run_id, model_id=model_id,
                            tags=dict(tags))

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Version ``version`` of ``name``, with its tags and aliases."""
        validate_model_name(name)
        number = validate_version(version)

        def read(conn: Any) -> ModelVersion:
            found = reads.read_version(conn, name, number)
            if found is None:
                raise self._version_not_found(conn, name, number)
            return found

        return self._query(read)

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        """Set the description of a version (None clears it); returns the updated version."""
        validate_model_name(name)
        number = validate_version(version)
        check_length("The description", description, MAX_DESCRIPTION_LENGTH)
        with self._write() as conn:
            updated = conn.execute(sa.update(mv).where(mv.c.name == name, mv.c.version == number, reads.LIVE)
                                   .values(description=description, last_updated_time=now_ms()))
            if updated.rowcount == 0:
                raise self._version_not_found(conn, name, number)
            return reads.read_version(conn, name, number)

    def transition_model_version_stage(self, name: str, version: str | int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        """Move a version to ``stage`` (deprecated in MLflow in favour of aliases; kept for old code).

        With ``archive_existing_versions``, other versions in that stage (Staging or
        Production only) move to Archived.
        """
        validate_model_name(name)
        number = validate_version(version)
        target = canonical_stage(stage)
        if archive_existing_versions and target not in ACTIVE_STAGES:
            raise invalid(f"archive_existing_versions=True needs an active stage ({', '.join(ACTIVE_STAGES)}), "
                          f"got {stage!r}.")
        now = now_ms()
        with self._write() as conn:
            moved = conn.execute(sa.update(mv).where(mv.c.name == name, mv.c.version == number, reads.LIVE)
                                 .values(current_stage=target, last_updated_time=now))
            if moved.rowcount == 0:
                raise self._version_not_found(conn, name, number)
            if archive_existing_versions:
                conn.execute(sa.update(mv).where(mv.c.name == name, mv.c.version != number,
                                                 mv.c.current_stage == target)
                             .values(current_stage=STAGE_ARCHIVED, last_updated_time=now))
            conn.execute(sa.update(rm).where(rm.c.name == name).values(last_updated_time=now))
            return reads.read_version(conn, name, number)

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version: it disappears with its tags and the aliases that pointed at it.

        As in MLflow its number is never given to a later version.
        """
        validate_model_name(name)
        number = validate_version(version)
        now = now_ms()
        with self._write() as conn:
            # The row stays, hidden (so the number is not reused, and copies of it still
            # resolve); what described it goes.
            deleted = conn.execute(sa.update(mv).where(mv.c.name == name, mv.c.version == number, reads.LIVE).values(
                current_stage=STAGE_DELETED_INTERNAL, last_updated_time=now, description=None, user_id=None,
                run_id=_REDACTED_RUN_ID, status_message=None))
            if deleted.rowcount == 0:
                raise self._version_not_found(conn, name, number)
            conn.execute(sa.delete(rma).where(rma.c.name == name, rma.c.version == number))
            conn.execute(sa.delete(mvt).where(mvt.c.name == name, mvt.c.version == number))
            conn.execute(sa.update(rm).where(rm.c.name == name).values(last_updated_time=now))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where the files of a version are: its source, with ``models:/`` sources resolved."""
        validate_model_name(name)
        number = validate_version(version)

        def read(conn: Any) -> str:
            row = conn.execute(_SOURCE, {"name": name, "version": number}).first()
            if row is None:
                raise self._version_not_found(conn, name, number)
            return sources.resolve(conn, row.source)

        return self._query(read)

    def set_model_version_tag(self, name: str, version: str | int, tag: Any) -> None:
        """Set tag ``tag.key`` of a version to ``tag.value`` (a ``ModelVersionTag``)."""
        validate_model_name(name)
        number = validate_version(version)
        key = validate_tag_key(tag.key)
        value = validate_tag_value(key, tag.value, allow_none=False)
        with self._write() as conn:
            self._require_version(conn, name, number)
            self._upsert(conn, mvt, {"name": name, "version": number, "key": key, "value": value},
                         ("name", "version", "key"))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        """Remove tag ``key`` of a version (no error if it is not set)."""
        validate_model_name(name)
        number = validate_version(version)
        validate_tag_key(key)
        with self._write() as conn:
            self._require_version(conn, name, number)
            conn.execute(sa.delete(mvt).where(mvt.c.name == name, mvt.c.version == number, mvt.c.key == key))

    def copy_model_version(self, src_mv: ModelVersion, dst_name: str) -> ModelVersion:
        """Copy ``src_mv`` as the next version of ``dst_name`` (created if absent).

        As MLflow: the copy's source is ``models:/<src name>/<src version>`` (its download
        URI is the original's), and it keeps the run id, model id, tags and description.
        """
        validate_model_name(dst_name)
        try:
            self.create_registered_model(dst_name)  # type: ignore[attr-defined]
            _logger.info("Registered model %r created to receive a copy of %s version %s",
                         dst_name, src_mv.name, src_mv.version)
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        source = f"models:/{src_mv.name}/{src_mv.version}"
        try:
            return self.create_model_version(dst_name, source, run_id=src_mv.run_id, tags=dict(src_mv.tags),
                                             description=src_mv.description, model_id=src_mv.model_id)
        except MlcaskException as exc:
            raise MlcaskException(f"Cannot copy version {src_mv.version} of {src_mv.name!r} to {dst_name!r}: "
                                  f"{exc.message}", error_code=exc.error_code) from exc
