"""Logged models (MLflow 3's ``models:/<model_id>``): create, finalize, tag, search, delete."""

from __future__ import annotations

import numbers
import uuid
from typing import Any

import sqlalchemy as sa

from mlcask.entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.paging import PagedList, now_ms
from mlcask.tracking.store.base import chunks, not_found, pairs
from mlcask.tracking.store.names import random_name
from mlcask.tracking.store.run_logging import RunLoggingMixin
from mlcask.tracking.store.runs import nan_or
from mlcask.tracking.store.schema import (
    inputs,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    metrics,
    model_metric_values,
    runs,
)
from mlcask.tracking.validation import (
    validate_key,
    validate_length,
    validate_logged_model_name,
    validate_run_id,
)

_MAX_LOGGED_MODEL_KEY_LENGTH = 255


def _status(status: Any) -> str:
    name = getattr(status, "name", status)  # MLflow's LoggedModelStatus enum, or a name
    if name in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
        return name
    raise InvalidArgumentError(f"A logged model is finalized with status READY or FAILED, got {status!r}.")


def _checked_pairs(items: Any, what: str) -> dict[str, str]:
    checked = {}
    for key, value in pairs(items, f"Logged model {what}s"):
        validate_key(f"logged model {what}", key, _MAX_LOGGED_MODEL_KEY_LENGTH)
        if not isinstance(value, str):
            raise InvalidArgumentError(f"Logged model {what} '{key}' value must be a string, got "
                                       f"{type(value).__name__} {value!r}.")
        checked[key] = value
    return checked


class LoggedModelsMixin(RunLoggingMixin):
    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: Any = None, params: Any = None, model_type: str | None = None) -> LoggedModel:
        """Create a PENDING logged model in an active experiment; its artifacts go to
        ``<experiment artifact location>/models/<model_id>/artifacts``.

        Args:
            name: The model's name (random if None); no ``/ : . % " '``.
            source_run_id: The run that produced it (must exist).
            tags, params: Dicts, or lists of objects with ``key`` and ``value``.
        """
        validate_logged_model_name(name)
        name = name or random_name()
        tag_values, param_values = _checked_pairs(tags, "tag"), _checked_pairs(params, "param")
        if model_type is not None:
            validate_length("Model type", model_type, 500)
        model_id = f"m-{uuid.uuid4().hex}"
        now = now_ms()
        with self._write() as connection:
            row = self._active_experiment_row(connection, experiment_id, "create a logged model in it")
            if source_run_id is not None and connection.execute(
                    sa.select(runs.c.run_uuid).where(runs.c.run_uuid == source_run_id)).first() is None:
                raise not_found(f"Run with id={source_run_id} not found (the logged model's source_run_id).")
            location = f"{row.artifact_location.rstrip('/')}/models/{model_id}/artifacts"
            connection.execute(logged_models.insert().values(
                model_id=model_id, experiment_id=row.experiment_id, name=name, artifact_location=location,
                creation_timestamp_ms=now, last_updated_timestamp_ms=now, status=LoggedModelStatus.PENDING,
                lifecycle_stage=LifecycleStage.ACTIVE, model_type=model_type, source_run_id=source_run_id))
            if tag_values:
                connection.execute(logged_model_tags.insert(), [{"model_id": model_id, "key": k, "value": v}
                                                                for k, v in tag_values.items()])
            if param_values:
                connection.execute(logged_model_params.insert(), [{"model_id": model_id, "key": k, "value": v}
                                                                  for k, v in param_values.items()])
        return LoggedModel(model_id=model_id, experiment_id=str(row.experiment_id), name=name,
                           artifact_location=location, creation_timestamp=now, last_updated_timestamp=now,
                           status=LoggedModelStatus.PENDING, source_run_id=source_run_id, model_type=model_type,
                           tags=dict(sorted(tag_values.items())), params=dict(sorted(param_values.items())))

    def _model_row(self, connection: sa.Connection, model_id: str, allow_deleted: bool = False) -> Any:
        row = connection.execute(sa.select(logged_models).where(logged_models.c.model_id == model_id)).first()
        if row is None or (row.lifecycle_stage != LifecycleStage.ACTIVE and not allow_deleted):
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return row

    def _load_models(self, connection: sa.Connection, model_ids: list[str]) -> list[LoggedModel]:
        loaded: dict[str, LoggedModel] = {}
        for chunk in chunks(model_ids):
            for row in connection.execute(sa.select(logged_models).where(logged_models.c.model_id.in_(chunk))):
                loaded[row.model_id] = LoggedModel(
                    model_id=row.model_id, experiment_id=str(row.experiment_id), name=row.name,
                    artifact_location=row.artifact_location, creation_timestamp=row.creation_timestamp_ms,
                    last_updated_timestamp=row.last_updated_timestamp_ms, status=row.status,
                    source_run_id=row.source_run_id, model_type=row.model_type)
            for table, field in ((logged_model_tags, "tags"), (logged_model_params, "params")):
                for row in connection.execute(sa.select(table).where(table.c.model_id.in_(chunk))
                                              .order_by(table.c.key)):
                    getattr(loaded[row.model_id], field)[row.key] = row.value
            values = model_metric_values()  # in the order they were logged, as MLflow's store returns them:
            # so the last value of a key is its most recently logged one
            for row in connection.execute(sa.select(values).where(values.c.model_id.in_(chunk)).order_by(
                    values.c.model_id, values.c.id)):
                model = loaded.get(row.model_id)  # None: values logged for an id that is no model here
                if model is not None:
                    model.metrics = model.metrics or []  # None for a model without metrics, as MLflow's
                    model.metrics.append(Metric(row.key, nan_or(row.value, row.is_nan), row.timestamp, row.step,
                                                row.model_id, row.dataset_name, row.dataset_digest, row.run_uuid))
        return [loaded[m] for m in model_ids if m in loaded]

    def link_model_metrics(self, model_id: str, run_id: str, step: int) -> None:
        """Link the metric values ``run_id`` has logged at ``step`` to the logged model ``model_id``
        (MLflow's ``log_model(step=...)``): they appear in its ``metrics``, the run's history keeps
        each value once. Values logged later at that step are not linked; linking again adds only
        the values logged since."""
        validate_run_id(run_id)
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise InvalidArgumentError(f"The step to link metrics at must be an integer, got {type(step).__name__} "
                                       f"{step!r}.")
        values = sa.select(sa.literal(model_id, sa.String(64)), metrics.c.id).where(
            metrics.c.run_uuid == run_id, metrics.c.step == int(step),
            sa.or_(metrics.c.model_id.is_(None), metrics.c.model_id != model_id))
        with self._write() as connection:
            self._check_run_active(connection, run_id, "link its metrics to a logged model")
            self._model_row(connection, model_id)
            connection.execute(self._insert(logged_model_metrics)
                               .from_select(["model_id", "metric_id"], values).on_conflict_do_nothing())

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The logged model with its tags and params; RESOURCE_DOES_NOT_EXIST if unknown (or deleted)."""
        with self._read() as connection:
            self._model_row(connection, model_id, allow_deleted)
            return self._load_models(connection, [model_id])[0]

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        """Set a logged model's status to READY (its artifacts are complete) or FAILED."""
        status = _status(status)
        with self._write() as connection:
            self._model_row(connection, model_id)
            connection.execute(logged_models.update().where(logged_models.c.model_id == model_id)
                               .values(status=status, last_updated_timestamp_ms=now_ms()))
            return self._load_models(connection, [model_id])[0]

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        """Set (or overwrite) tags on a logged model: a dict or a list of objects with key and value."""
        tag_values = _checked_pairs(tags, "tag")
        with self._write() as connection:
            self._model_row(connection, model_id)
            if tag_values:
                statement = self._insert(logged_model_tags)
                connection.execute(statement.on_conflict_do_update(
                    index_elements=[logged_model_tags.c.model_id, logged_model_tags.c.key],
                    set_={"value": statement.excluded.value}),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in sorted(tag_values.items())])

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        """Add params to a logged model (a dict or a list of objects with key and value)."""
        param_values = _checked_pairs(params, "param")
        with self._write() as connection:
            self._model_row(connection, model_id)
            if param_values:
                statement = self._insert(logged_model_params)
                connection.execute(statement.on_conflict_do_update(
                    index_elements=[logged_model_params.c.model_id, logged_model_params.c.key],
                    set_={"value": statement.excluded.value}),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in sorted(param_values.items())])

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a logged model; RESOURCE_DOES_NOT_EXIST if it has no such tag."""
        with self._write() as connection:
            self._model_row(connection, model_id)
            deleted = connection.execute(logged_model_tags.delete().where(
                logged_model_tags.c.model_id == model_id, logged_model_tags.c.key == key)).rowcount
            if not deleted:
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a logged model deleted (get and search no longer return it)."""
        with self._write() as connection:
            self._model_row(connection, model_id)
            connection.execute(logged_models.update().where(logged_models.c.model_id == model_id)
                               .values(lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp_ms=now_ms()))

    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             max_results: int = 100, order_by: list[Any] | None = None,
                             page_token: str | None = None, datasets: list[dict[str, Any]] | None = None,
                             ) -> PagedList[LoggedModel]:
        """Logged models of ``experiment_ids`` matching ``filter_string`` (e.g.
        ``"source_run_id = '<run id>'"``, ``"tags.stage = 'prod'"``, ``"metrics.acc > 0.9"``),
        sorted by ``order_by`` (strings like ``"metrics.acc DESC"`` or MLflow's dicts).
        ``datasets`` (``[{"dataset_name": ..., "dataset_digest": ...}]``) keeps only metrics
        logged on those datasets.

        Returns a list with a ``token`` attribute: pass it as ``page_token`` for the next page.
        """
        from mlcask.tracking.search.sql import logged_models_select

        return self._search_page(
            experiment_ids, max_results, page_token,
            lambda ids, limit, offset: logged_models_select(ids, filter_string or None, order_by, limit, offset,
                                                            datasets=datasets),
            self._load_models)

    def list_logged_models_for_run(self, run_id: str) -> list[LoggedModel]:
        """The (non-deleted) logged models a run produced: those with it as ``source_run_id`` and
        those recorded with ``log_outputs``, oldest first."""
        outputs = sa.select(inputs.c.destination_id).where(
            inputs.c.source_type == "RUN_OUTPUT", inputs.c.source_id == run_id,
            inputs.c.destination_type == "MODEL_OUTPUT")
        statement = (sa.select(logged_models.c.model_id)
                     .where(sa.or_(logged_models.c.source_run_id == run_id, logged_models.c.model_id.in_(outputs)),
                            logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE)
                     .order_by(logged_models.c.creation_timestamp_ms, logged_models.c.model_id))
        with self._read() as connection:
            if connection.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
                raise not_found(f"Run with id={run_id} not found.")
            return self._load_models(connection, list(connection.execute(statement).scalars()))
