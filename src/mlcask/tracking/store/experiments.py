"""Experiments: create, read, search, rename, tag, delete and restore."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlcask.entities import Experiment, LifecycleStage, ViewType
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, InvalidArgumentError, MlcaskException
from mlcask.models.home import refuse_mlcask_home
from mlcask.tracking.paging import PagedList, check_max_results, decode_page_token, encode_page_token, now_ms
from mlcask.tracking.store.base import SqlStoreBase, chunks, not_found, pairs
from mlcask.tracking.store.schema import experiment_tags, experiments, runs
from mlcask.tracking.validation import (
    MAX_RESULTS_THRESHOLD,
    validate_artifact_location,
    validate_experiment_id,
    validate_experiment_name,
    validate_experiment_tag,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
_ROOT_ADVICE = ("Set MLCASK_ARTIFACT_ROOT, or the tracking URI (whose folder holds the artifacts when "
                "MLCASK_ARTIFACT_ROOT is unset), to a folder outside it, or MLCASK_HOME to another folder.")
_LOCATION_ADVICE = ("Give an artifact_location outside it, or none to use the store's artifact root "
                    "(<artifact_root>/<experiment id>).")


def _resolve_local(location: str) -> str:
    """A plain relative path becomes absolute (as MLflow does); URIs are kept as given."""
    scheme = urllib.parse.urlparse(location).scheme
    if scheme and len(scheme) > 1:
        return location
    return str(Path(location).absolute())


def experiment_id_int(experiment_id: Any) -> int:
    """The integer id; None or "" mean the default experiment, as in MLflow."""
    return validate_experiment_id(DEFAULT_EXPERIMENT_ID if experiment_id in (None, "") else experiment_id)


class ExperimentsMixin(SqlStoreBase):

    def _search_page(self, experiment_ids: Any, max_results: int, page_token: str | None,
                     select: Any, load: Any) -> PagedList[Any]:
        """One page of a search over experiments: ``select(ids, limit, offset)`` builds the id
        query, ``load(connection, ids)`` turns the ids into entities."""
        if not isinstance(experiment_ids, (list, tuple)):
            raise InvalidArgumentError(f"experiment_ids must be a list, got {type(experiment_ids).__name__}. Did you "
                                       f"mean experiment_ids=[{experiment_ids!r}]?")
        check_max_results(max_results, MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        ids = [str(experiment_id_int(e)) for e in experiment_ids]
        if not ids:
            return PagedList([], None)
        with self._read() as connection:
            found_ids = list(connection.execute(select(ids, max_results + 1, offset)).scalars())
            found = load(connection, found_ids[:max_results])
        return PagedList(found, encode_page_token(offset + max_results) if len(found_ids) > max_results else None)
    def _check_artifact_root(self) -> None:
        """Refuse a default artifact root that is, holds or lies inside the mlcask home folder (the signing key)."""
        refuse_mlcask_home(self.artifact_root, "The tracking store's artifact root", _ROOT_ADVICE)

    def _ensure_default_experiment(self) -> None:
        """Check the artifact root (when the store opens), and create experiment "0" if missing."""
        self._check_artifact_root()
        with self._read() as connection:
            exists = connection.execute(sa.select(experiments.c.experiment_id)
                                        .where(experiments.c.experiment_id == 0)).first()
        if exists:
            return
        now = now_ms()
        with self._write() as connection:
            connection.execute(self._insert(experiments).values(
                experiment_id=0, name=DEFAULT_EXPERIMENT_NAME, artifact_location=f"{self.artifact_root}/0",
                lifecycle_stage=LifecycleStage.ACTIVE, creation_time=now, last_update_time=now,
            ).on_conflict_do_nothing())

    def create_experiment(self, name: str, artifact_location: str | None = None, tags: Any = None) -> str:
        """Create an experiment and return its id.

        Args:
            name: Unique name (at most 256 characters).
            artifact_location: Where its runs keep artifacts; defaults to ``<artifact_root>/<id>``. A
                location that is, holds or lies inside the mlcask home folder (``MLCASK_HOME``) is refused.
            tags: A dict, or a list of :class:`~mlcask.entities.ExperimentTag`.
        """
        validate_experiment_name(name)
        if artifact_location:
            validate_artifact_location(artifact_location)
            refuse_mlcask_home(artifact_location, "Experiment artifact_location", _LOCATION_ADVICE)
            artifact_location = _resolve_local(artifact_location)
        else:
            self._check_artifact_root()  # MLCASK_HOME may have moved since the store opened
        tag_pairs = pairs(tags, "Experiment tags")
        for key, value in tag_pairs:
            validate_experiment_tag(key, value)
        now = now_ms()
        with self._write() as connection:
            existing = connection.execute(sa.select(experiments.c.lifecycle_stage)
                                          .where(experiments.c.name == name)).first()
            if existing is not None:
                raise self._name_taken(name, existing[0])
            try:
                result = connection.execute(experiments.insert().values(
                    name=name, artifact_location=artifact_location, lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=now, last_update_time=now))
            except sa.exc.IntegrityError:  # another process created it since the check above
                raise self._name_taken(name, LifecycleStage.ACTIVE) from None
            experiment_id = result.inserted_primary_key[0]
            if not artifact_location:
                connection.execute(experiments.update().where(experiments.c.experiment_id == experiment_id)
                                   .values(artifact_location=f"{self.artifact_root}/{experiment_id}"))
            if tag_pairs:
                connection.execute(experiment_tags.insert(), [
                    {"experiment_id": experiment_id, "key": k, "value": v} for k, v in dict(tag_pairs).items()])
        return str(experiment_id)

    @staticmethod
    def _name_taken(name: str, stage: str) -> MlcaskException:
        if stage == LifecycleStage.DELETED:
            return MlcaskException(f"Experiment(name={name}) already exists: a deleted experiment has this name. "
                                   "Restore it (restore_experiment) or pick another name.", RESOURCE_ALREADY_EXISTS)
        return MlcaskException(f"Experiment(name={name}) already exists.", RESOURCE_ALREADY_EXISTS)

    def _load_experiments(self, connection: sa.Connection, ids: list[int]) -> list[Experiment]:
        """Experiments (with tags) for ``ids``, in that order, in two queries per chunk."""
        found: dict[int, Experiment] = {}
        for chunk in chunks(ids):
            for row in connection.execute(sa.select(experiments).where(experiments.c.experiment_id.in_(chunk))):
                found[row.experiment_id] = Experiment(
                    experiment_id=str(row.experiment_id), name=row.name, artifact_location=row.artifact_location,
                    lifecycle_stage=row.lifecycle_stage, tags={}, creation_time=row.creation_time,
                    last_update_time=row.last_update_time)
            for row in connection.execute(sa.select(experiment_tags)
                                          .where(experiment_tags.c.experiment_id.in_(chunk))
                                          .order_by(experiment_tags.c.key)):
                found[row.experiment_id].tags[row.key] = row.value
        return [found[i] for i in ids if i in found]

    def _experiment_row(self, connection: sa.Connection, experiment_id: Any) -> Any:
        key = experiment_id_int(experiment_id)
        row = connection.execute(sa.select(experiments).where(experiments.c.experiment_id == key)).first()
        if row is None:
            raise not_found(f"No Experiment with id={experiment_id} exists.")
        return row

    def _active_experiment_row(self, connection: sa.Connection, experiment_id: Any, action: str) -> Any:
        row = self._experiment_row(connection, experiment_id)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidArgumentError(
                f"Cannot {action}: experiment {row.experiment_id} ('{row.name}') is deleted; it must be in the "
                "'active' state (restore it with restore_experiment first).")
        return row

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (active or deleted); RESOURCE_DOES_NOT_EXIST if there is none."""
        with self._read() as connection:
            row = self._experiment_row(connection, experiment_id)
            return self._load_experiments(connection, [row.experiment_id])[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment (active or deleted) with this name, or None."""
        with self._read() as connection:
            row = connection.execute(sa.select(experiments.c.experiment_id).where(experiments.c.name == name)).first()
            return None if row is None else self._load_experiments(connection, [row[0]])[0]

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           page_token: str | None = None) -> PagedList[Experiment]:
        """Experiments matching ``filter_string`` (e.g. ``"name LIKE 'fraud%' AND tags.team = 'risk'"``),
        sorted by ``order_by`` (e.g. ``["name ASC"]``; default: newest first).

        Returns a list with a ``token`` attribute: pass it as ``page_token`` for the next page.
        """
        from mlcask.tracking.search.sql import experiments_select

        check_max_results(max_results, MAX_RESULTS_THRESHOLD)
        offset = decode_page_token(page_token)
        statement = experiments_select(view_type, filter_string, order_by, max_results + 1, offset)
        with self._read() as connection:
            ids = list(connection.execute(statement).scalars())
            found = self._load_experiments(connection, ids[:max_results])
        return PagedList(found, encode_page_token(offset + max_results) if len(ids) > max_results else None)

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an active experiment deleted, with all its runs (restore_experiment undoes it)."""
        now = now_ms()
        with self._write() as connection:
            row = self._experiment_row(connection, experiment_id)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise InvalidArgumentError(f"Experiment {experiment_id} ('{row.name}') is already deleted.")
            connection.execute(experiments.update().where(experiments.c.experiment_id == row.experiment_id)
                               .values(lifecycle_stage=LifecycleStage.DELETED, last_update_time=now))
            connection.execute(runs.update().where(runs.c.experiment_id == row.experiment_id)
                               .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and all its runs."""
        with self._write() as connection:
            row = self._experiment_row(connection, experiment_id)
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise InvalidArgumentError(f"Experiment {experiment_id} ('{row.name}') is not deleted; only a "
                                           "deleted experiment can be restored.")
            connection.execute(experiments.update().where(experiments.c.experiment_id == row.experiment_id)
                               .values(lifecycle_stage=LifecycleStage.ACTIVE, last_update_time=now_ms()))
            connection.execute(runs.update().where(runs.c.experiment_id == row.experiment_id)
                               .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an active experiment a new (unused) name."""
        validate_experiment_name(new_name)
        with self._write() as connection:
            row = self._active_experiment_row(connection, experiment_id, "rename it")
            if row.name == new_name:
                return
            taken = connection.execute(sa.select(experiments.c.lifecycle_stage)
                                       .where(experiments.c.name == new_name)).first()
            if taken is not None:
                raise self._name_taken(new_name, taken[0])
            try:
                connection.execute(experiments.update().where(experiments.c.experiment_id == row.experiment_id)
                                   .values(name=new_name, last_update_time=now_ms()))
            except sa.exc.IntegrityError:  # taken by another process since the check above
                raise self._name_taken(new_name, LifecycleStage.ACTIVE) from None

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        """Set (or overwrite) a tag on an active experiment; ``tag`` is an ExperimentTag."""
        validate_experiment_tag(tag.key, tag.value)
        with self._write() as connection:
            row = self._active_experiment_row(connection, experiment_id, f"set tag '{tag.key}'")
            statement = self._insert(experiment_tags).values(experiment_id=row.experiment_id, key=tag.key,
                                                             value=tag.value)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[experiment_tags.c.experiment_id, experiment_tags.c.key],
                set_={"value": statement.excluded.value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an active experiment."""
        with self._write() as connection:
            row = self._active_experiment_row(connection, experiment_id, f"delete tag '{key}'")
            deleted = connection.execute(experiment_tags.delete().where(
                experiment_tags.c.experiment_id == row.experiment_id, experiment_tags.c.key == key)).rowcount
            if not deleted:
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}.")
