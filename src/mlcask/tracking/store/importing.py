"""Writing another store's history into an mlcask database as it was: ids and timestamps kept.

The tracking and registry stores create entities (new ids, the time now); ``mlcask db import``
copies them, so :class:`ImportingStore` takes the ids and times it is given. Each ``add_*`` call
is one transaction, committed at its end: an import killed part-way leaves whole entities only,
and a re-run skips what is there (``existing_*``) and continues.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mlcask.tracking.importing.records import (
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    RegisteredModelRecord,
    RunRecord,
    VersionRecord,
)
from mlcask.tracking.store.base import SqlFoundation, chunks
from mlcask.tracking.store.schema import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    model_version_tags,
    model_versions,
    params,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
    runs,
    tags,
)

__all__ = ["ImportingStore"]

_MAX_DOUBLE = sys.float_info.max


def _metric_row(run_id: str, point: MetricPoint) -> dict[str, Any]:
    """A ``metrics`` row as the tracking store writes it: NaN as 0 with ``is_nan``, +/-inf as the largest double."""
    value, is_nan = point.value, point.value != point.value
    if is_nan:
        value = 0.0
    elif math.isinf(value):
        value = _MAX_DOUBLE if value > 0 else -_MAX_DOUBLE
    return {"run_uuid": run_id, "key": point.key, "value": value, "is_nan": is_nan, "timestamp": point.timestamp,
            "step": point.step, "model_id": point.model_id, "dataset_name": point.dataset_name,
            "dataset_digest": point.dataset_digest}


def _latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per key, the row with the highest (step, timestamp, value): MLflow's latest value."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = newest.get(row["key"])
        if current is None or (row["step"], row["timestamp"], row["value"]) > (
                current["step"], current["timestamp"], current["value"]):
            newest[row["key"]] = row
    return [{k: newest[key][k] for k in ("run_uuid", "key", "value", "is_nan", "timestamp", "step")}
            for key in sorted(newest)]


def _key_rows(owner: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    return [{**owner, "key": key, "value": value} for key, value in sorted(values.items())]


class ImportingStore(SqlFoundation):
    """An mlcask tracking database (migrated on first use), written with the source's ids and timestamps.

    Parameters
    ----------
    store_uri
        ``sqlite:///path/mlcask.db`` or ``postgresql://...`` (the database of the destination store).
    """

    # -- what is there already -------------------------------------------------------------------
    def experiment_by_name(self, name: str) -> tuple[str, str] | None:
        """``(experiment id, artifact location)`` of the experiment called ``name``, or None."""
        with self._read() as connection:
            row = connection.execute(sa.select(experiments.c.experiment_id, experiments.c.artifact_location)
                                     .where(experiments.c.name == name)).first()
        return None if row is None else (str(row[0]), row[1])

    def experiment_id_taken(self, experiment_id: str) -> bool:
        with self._read() as connection:
            return connection.execute(sa.select(experiments.c.experiment_id)
                                      .where(experiments.c.experiment_id == int(experiment_id))).first() is not None

    def _existing(self, column: sa.Column, ids: Iterable[Any]) -> set[Any]:
        wanted = list(ids)
        found: set[Any] = set()
        with self._read() as connection:
            for chunk in chunks(wanted):
                found.update(connection.execute(sa.select(column).where(column.in_(chunk))).scalars())
        return found

    def existing_runs(self, run_ids: Iterable[str]) -> set[str]:
        return self._existing(runs.c.run_uuid, run_ids)

    def existing_logged_models(self, model_ids: Iterable[str]) -> set[str]:
        return self._existing(logged_models.c.model_id, model_ids)

    def existing_registered_models(self, names: Iterable[str]) -> set[str]:
        return self._existing(registered_models.c.name, names)

    def existing_versions(self, name: str) -> set[int]:
        with self._read() as connection:
            return set(connection.execute(sa.select(model_versions.c.version)
                                          .where(model_versions.c.name == name)).scalars())

    def aliases(self, name: str) -> dict[str, int]:
        with self._read() as connection:
            return dict(connection.execute(sa.select(registered_model_aliases.c.alias, registered_model_aliases.c.version)
                                           .where(registered_model_aliases.c.name == name)).all())

    # -- experiments -----------------------------------------------------------------------------
    def add_experiment(self, record: ExperimentRecord, experiment_id: str | None, artifact_root: str) -> str:
        """Insert the experiment with ``experiment_id`` (None: the next free id) and its tags; its artifacts
        go to ``<artifact_root>/<id>``. Returns its id."""
        with self._write() as connection:
            values = {"name": record.name, "lifecycle_stage": record.lifecycle_stage,
                      "creation_time": record.creation_time, "last_update_time": record.last_update_time}
            if experiment_id is not None:
                values["experiment_id"] = int(experiment_id)
            new_id = connection.execute(experiments.insert().values(**values)).inserted_primary_key[0]
            connection.execute(experiments.update().where(experiments.c.experiment_id == new_id)
                               .values(artifact_location=f"{artifact_root.rstrip('/')}/{new_id}"))
            if record.tags:
                connection.execute(experiment_tags.insert(), _key_rows({"experiment_id": new_id}, record.tags))
            if experiment_id is not None and not self._sqlite:
                # An id given explicitly does not move PostgreSQL's sequence: move it past the largest id.
                connection.execute(sa.text("SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
                                           "(SELECT MAX(experiment_id) FROM experiments))"))
        return str(new_id)

    def add_experiment_tags(self, experiment_id: str, values: dict[str, str]) -> int:
        """Add the tags the experiment lacks (its own are kept); returns how many were added."""
        with self._write() as connection:
            present = set(connection.execute(sa.select(experiment_tags.c.key).where(
                experiment_tags.c.experiment_id == int(experiment_id))).scalars())
            missing = {key: value for key, value in values.items() if key not in present}
            if missing:
                connection.execute(experiment_tags.insert(), _key_rows({"experiment_id": int(experiment_id)}, missing))
        return len(missing)

    # -- runs ------------------------------------------------------------------------------------
    def add_run(self, record: RunRecord, experiment_id: str, artifact_uri: str) -> None:
        """Insert the run with its params, tags, full metric history and inputs, in one transaction."""
        run_id = record.run_id
        with self._write() as connection:
            connection.execute(runs.insert().values(
                run_uuid=run_id, name=record.name, user_id=record.user_id, status=record.status,
                start_time=record.start_time, end_time=record.end_time, deleted_time=record.deleted_time,
                lifecycle_stage=record.lifecycle_stage, artifact_uri=artifact_uri, experiment_id=int(experiment_id)))
            if record.params:
                connection.execute(params.insert(), _key_rows({"run_uuid": run_id}, record.params))
            if record.tags:
                connection.execute(tags.insert(), _key_rows({"run_uuid": run_id}, record.tags))
            rows = [_metric_row(run_id, point) for point in record.metrics]
            if rows:
                connection.execute(metrics.insert(), rows)
                connection.execute(latest_metrics.insert(), _latest(rows))
            self._add_inputs(connection, record, int(experiment_id))

    def _add_inputs(self, connection: sa.Connection, record: RunRecord, experiment_id: int) -> None:
        links = [("RUN_INPUT", record.run_id, "MODEL_INPUT", m, 0) for m in record.model_inputs]
        links += [("RUN_OUTPUT", record.run_id, "MODEL_OUTPUT", m, step)
                  for m, step in sorted(record.model_outputs.items())]
        tag_rows = []
        for dataset in record.datasets:
            connection.execute(self._insert(datasets).on_conflict_do_nothing(
                index_elements=[datasets.c.experiment_id, datasets.c.name, datasets.c.digest]).values(
                dataset_uuid=uuid.uuid4().hex, experiment_id=experiment_id, name=dataset.name, digest=dataset.digest,
                dataset_source_type=dataset.source_type, dataset_source=dataset.source,
                dataset_schema=dataset.schema, dataset_profile=dataset.profile))
            dataset_uuid = connection.execute(sa.select(datasets.c.dataset_uuid).where(
                datasets.c.experiment_id == experiment_id, datasets.c.name == dataset.name,
                datasets.c.digest == dataset.digest)).scalar_one()
            input_uuid = uuid.uuid4().hex
            connection.execute(inputs.insert().values(
                input_uuid=input_uuid, source_type="DATASET", source_id=dataset_uuid, destination_type="RUN",
                destination_id=record.run_id))
            tag_rows += [{"input_uuid": input_uuid, "name": k, "value": v} for k, v in sorted(dataset.tags.items())]
        if links:
            connection.execute(inputs.insert(), [
                {"input_uuid": uuid.uuid4().hex, "source_type": s, "source_id": i, "destination_type": d,
                 "destination_id": o, "step": step} for s, i, d, o, step in links])
        if tag_rows:
            connection.execute(input_tags.insert(), tag_rows)

    # -- logged models ---------------------------------------------------------------------------
    def add_logged_model(self, record: LoggedModelRecord, experiment_id: str, artifact_location: str) -> None:
        """Insert the logged model (its id kept) with its tags and params."""
        with self._write() as connection:
            connection.execute(logged_models.insert().values(
                model_id=record.model_id, experiment_id=int(experiment_id), name=record.name,
                artifact_location=artifact_location, creation_timestamp_ms=record.creation_timestamp,
                last_updated_timestamp_ms=record.last_updated_timestamp, status=record.status,
                lifecycle_stage=record.lifecycle_stage, model_type=record.model_type,
                source_run_id=record.source_run_id))
            if record.tags:
                connection.execute(logged_model_tags.insert(), _key_rows({"model_id": record.model_id}, record.tags))
            if record.params:
                connection.execute(logged_model_params.insert(),
                                   _key_rows({"model_id": record.model_id}, record.params))

    # -- registry --------------------------------------------------------------------------------
    def add_registered_model(self, record: RegisteredModelRecord) -> None:
        """Insert the registered model and its tags (its versions and aliases come with the calls below)."""
        with self._write() as connection:
            connection.execute(registered_models.insert().values(
                name=record.name, creation_time=record.creation_time, last_updated_time=record.last_updated_time,
                description=record.description))
            if record.tags:
                connection.execute(registered_model_tags.insert(), _key_rows({"name": record.name}, record.tags))

    def add_model_version(self, name: str, record: VersionRecord, source: str | None) -> None:
        """Insert version ``record.version`` of ``name`` (its number kept) with its tags; ``source`` is where
        its files are now."""
        with self._write() as connection:
            connection.execute(model_versions.insert().values(
                name=name, version=record.version, creation_time=record.creation_time,
                last_updated_time=record.last_updated_time, description=record.description, user_id=record.user_id,
                current_stage=record.current_stage, source=source, run_id=record.run_id, model_id=record.model_id,
                status=record.status, status_message=record.status_message))
            if record.tags:
                connection.execute(model_version_tags.insert(),
                                   _key_rows({"name": name, "version": record.version}, record.tags))

    def set_aliases(self, name: str, aliases: dict[str, int]) -> None:
        """Point each alias of ``name`` at its version (replacing where it pointed)."""
        if not aliases:
            return
        statement = self._insert(registered_model_aliases)
        statement = statement.on_conflict_do_update(
            index_elements=[registered_model_aliases.c.name, registered_model_aliases.c.alias],
            set_={"version": statement.excluded.version})
        with self._write() as connection:
            connection.execute(statement, [{"name": name, "alias": alias, "version": version}
                                           for alias, version in sorted(aliases.items())])
