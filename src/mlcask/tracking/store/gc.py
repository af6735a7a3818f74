"""Permanent deletion, for ``mlcask gc``: the SQL store's maintenance interface.

Deleting a run, experiment or logged model through the tracking API only marks it
``deleted`` (restorable). These calls remove such rows for good, with every row that
belongs to them, each in one transaction: a failure part-way leaves the entity whole.
They never touch artifacts (the caller removes those first, as ``mlflow gc`` does, so a
failed removal leaves the run in place for the next attempt).

Only a database store can do this: MLflow's REST API has no permanent deletion, so a
tracking server's store (:class:`mlcask.tracking.rest.RestTrackingStore`) does not
satisfy :class:`HardDeletingStore`; run ``mlcask gc`` against the server's database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa

from mlcask.entities import LifecycleStage
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.paging import now_ms
from mlcask.tracking.store.base import SqlStoreBase, chunks, not_found
from mlcask.tracking.store.experiments import DEFAULT_EXPERIMENT_ID, experiment_id_int
from mlcask.tracking.store.schema import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    params,
    runs,
    tags,
)

__all__ = ["GarbageCollectionMixin", "HardDeletingStore"]


@runtime_checkable
class HardDeletingStore(Protocol):
    """A tracking store that can remove deleted runs, logged models and experiments for good."""

    def deleted_run_ids(self, older_than_ms: int = 0) -> list[str]:
        """Ids of the runs in the ``deleted`` stage, deleted at least ``older_than_ms`` ago."""
    def deleted_logged_model_ids(self, older_than_ms: int = 0) -> list[str]:
        """Ids of the logged models in the ``deleted`` stage, last changed at least ``older_than_ms`` ago."""
    def hard_delete_run(self, run_id: str) -> None:
        """Remove a deleted run with its metrics, params, tags, inputs and outputs."""
    def hard_delete_logged_model(self, model_id: str) -> None:
        """Remove a deleted logged model with its tags, params and input/output links."""
    def hard_delete_experiment(self, experiment_id: str) -> None:
        """Remove a deleted experiment with everything in it: runs, logged models, datasets, tags
        (never the Default experiment, id 0: every store has it)."""


def _delete_links(connection: sa.Connection, condition: Any) -> None:
    """Remove ``inputs`` edges matching ``condition`` and their tags."""
    doomed = list(connection.execute(sa.select(inputs.c.input_uuid).where(condition)).scalars())
    for part in chunks(doomed):
        connection.execute(input_tags.delete().where(input_tags.c.input_uuid.in_(part)))
        connection.execute(inputs.delete().where(inputs.c.input_uuid.in_(part)))


def _delete_runs(connection: sa.Connection, run_ids: Sequence[str]) -> None:
    for part in chunks(list(run_ids)):
        _delete_links(connection, sa.or_(
            sa.and_(inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(part)),
            sa.and_(inputs.c.source_type.in_(("RUN_INPUT", "RUN_OUTPUT")), inputs.c.source_id.in_(part))))
        # Bulk deletes, child tables first: memory stays flat however long a metric history is.
        connection.execute(logged_model_metrics.delete().where(logged_model_metrics.c.metric_id.in_(
            sa.select(metrics.c.id).where(metrics.c.run_uuid.in_(part)))))
        for table in (metrics, latest_metrics, params, tags):
            connection.execute(table.delete().where(table.c.run_uuid.in_(part)))
        connection.execute(runs.delete().where(runs.c.run_uuid.in_(part)))


def _delete_models(connection: sa.Connection, model_ids: Sequence[str]) -> None:
    for part in chunks(list(model_ids)):
        _delete_links(connection, sa.or_(
            sa.and_(inputs.c.destination_type.in_(("MODEL_INPUT", "MODEL_OUTPUT")), inputs.c.destination_id.in_(part)),
            sa.and_(inputs.c.source_type == "MODEL", inputs.c.source_id.in_(part))))
        for table in (logged_model_metrics, logged_model_tags, logged_model_params):
            connection.execute(table.delete().where(table.c.model_id.in_(part)))
        connection.execute(logged_models.delete().where(logged_models.c.model_id.in_(part)))


def _delete_experiment(connection: sa.Connection, number: int) -> None:
    """Remove the experiment ``number`` with its runs, logged models, datasets and tags."""
    _delete_runs(connection, list(connection.execute(
        sa.select(runs.c.run_uuid).where(runs.c.experiment_id == number)).scalars()))
    _delete_models(connection, list(connection.execute(
        sa.select(logged_models.c.model_id).where(logged_models.c.experiment_id == number)).scalars()))
    dataset_ids = list(connection.execute(
        sa.select(datasets.c.dataset_uuid).where(datasets.c.experiment_id == number)).scalars())
    for part in chunks(dataset_ids):
        _delete_links(connection, sa.and_(inputs.c.source_type == "DATASET", inputs.c.source_id.in_(part)))
    connection.execute(datasets.delete().where(datasets.c.experiment_id == number))
    connection.execute(experiment_tags.delete().where(experiment_tags.c.experiment_id == number))
    connection.execute(experiments.delete().where(experiments.c.experiment_id == number))


class GarbageCollectionMixin(SqlStoreBase):
    """:class:`HardDeletingStore` on the SQL tracking store."""

    def _deleted_ids(self, id_column: sa.Column, stage_column: sa.Column, changed: Any,
                     older_than_ms: int) -> list[str]:
        """The ids of the rows in the ``deleted`` stage whose ``changed`` time is at least ``older_than_ms`` ago."""
        cutoff = now_ms() - int(older_than_ms)
        statement = (sa.select(id_column).where(stage_column == LifecycleStage.DELETED, changed <= cutoff)
                     .order_by(id_column))
        with self._read() as connection:
            return list(connection.execute(statement).scalars())

    def deleted_run_ids(self, older_than_ms: int = 0) -> list[str]:
        return self._deleted_ids(runs.c.run_uuid, runs.c.lifecycle_stage, sa.func.coalesce(runs.c.deleted_time, 0),
                                 older_than_ms)

    def deleted_logged_model_ids(self, older_than_ms: int = 0) -> list[str]:
        return self._deleted_ids(logged_models.c.model_id, logged_models.c.lifecycle_stage,
                                 logged_models.c.last_updated_timestamp_ms, older_than_ms)

    def _hard_delete(self, stage_column: sa.Column, key_column: sa.Column, key: Any,
                     delete: Callable[[sa.Connection], None], missing: str, not_deleted: str) -> None:
        """In one transaction: refuse unless the row ``key_column == key`` exists (else ``missing``, a
        not-found error) and is in the ``deleted`` stage (else ``not_deleted``, an invalid argument);
        then ``delete`` it."""
        with self._write() as connection:
            stage = connection.execute(sa.select(stage_column).where(key_column == key)).scalar()
            if stage is None:
                raise not_found(missing)
            if stage != LifecycleStage.DELETED:
                raise InvalidArgumentError(not_deleted)
            delete(connection)

    def hard_delete_run(self, run_id: str) -> None:
        self._hard_delete(runs.c.lifecycle_stage, runs.c.run_uuid, run_id,
                          lambda connection: _delete_runs(connection, [run_id]),
                          f"Run with id={run_id} not found.",
                          f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle "
                          "stage can be deleted.")

    def hard_delete_logged_model(self, model_id: str) -> None:
        self._hard_delete(logged_models.c.lifecycle_stage, logged_models.c.model_id, model_id,
                          lambda connection: _delete_models(connection, [model_id]),
                          f"Logged model with ID '{model_id}' not found.",
                          f"Logged model {model_id} is not in `deleted` lifecycle stage. Only logged models in "
                          "`deleted` lifecycle stage can be deleted.")

    def hard_delete_experiment(self, experiment_id: str) -> None:
        number = experiment_id_int(experiment_id)
        if number == int(DEFAULT_EXPERIMENT_ID):
            raise InvalidArgumentError("The Default experiment (id 0) cannot be permanently deleted: every store has "
                                       "it. Its deleted runs can be (--run-ids).")
        self._hard_delete(experiments.c.lifecycle_stage, experiments.c.experiment_id, number,
                          lambda connection: _delete_experiment(connection, number),
                          f"No Experiment with id={experiment_id} exists",
                          f"Experiments ['{experiment_id}'] are not in the deleted lifecycle stage. Only "
                          "experiments in the deleted lifecycle stage can be hard-deleted.")
