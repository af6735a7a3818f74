"""Logging to runs: metrics, params, tags, batches, dataset and model inputs, model outputs.

Each call is one connection checkout and one transaction: the run's state is checked with
one indexed query, rows go in with ``executemany``, and ``latest_metrics`` is maintained
by the database itself (an upsert that only overwrites an older (step, timestamp, value)).
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlcask.entities import Metric, Param, RunTag
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.store.base import not_found
from mlcask.tracking.store.runs import RUN_NAME_TAG, RunsMixin
from mlcask.tracking.store.schema import datasets as datasets_table
from mlcask.tracking.store.schema import input_tags, inputs, logged_model_metrics, logged_models, runs
from mlcask.tracking.store.schema import metrics as metrics_table
from mlcask.tracking.store.schema import params as params_table
from mlcask.tracking.store.schema import tags as tags_table
from mlcask.tracking.validation import (
    validate_batch_limits,
    validate_dataset,
    validate_input_tag,
    validate_metric,
    validate_metric_key,
    validate_param,
    validate_param_keys_unique,
    validate_run_id,
    validate_run_name,
    validate_tag,
)

_last_stamp = 0
_stamp_lock = threading.Lock()


def _ordered_uuid() -> str:
    """A 32-hex id that sorts after every id made before it in this process (a strictly increasing
    nanosecond stamp, then randomness): a run's inputs are read back in the order they were logged."""
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(_last_stamp + 1, time.time_ns())
        stamp = _last_stamp
    return f"{stamp:016x}{uuid.uuid4().hex[16:]}"


class _Statements(NamedTuple):
    run_state: str
    insert_metric: str
    upsert_latest: str
    insert_param: Any
    select_params: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    # The per-metric statements are plain SQL run on the driver's cursor: SQLAlchemy's
    # parameter processing would cost more than SQLite's own work for each row. The
    # column names are those of schema.metrics and schema.latest_metrics.
    mark = "?" if dialect == "sqlite" else "%s"
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return _Statements(
        run_state=f"SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = {mark}",
        insert_metric=("INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, "
                       f"dataset_digest) VALUES ({', '.join([mark] * 9)})"),
        # MLflow's rule: the latest value is the one with the highest (step, timestamp, value).
        upsert_latest=(f"INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
                       f"VALUES ({', '.join([mark] * 6)}) ON CONFLICT (run_uuid, key) DO UPDATE SET "
                       "value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, "
                       "step = excluded.step WHERE (excluded.step, excluded.timestamp, excluded.value) > "
                       "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"),
        insert_param=insert(params_table).on_conflict_do_nothing(
            index_elements=[params_table.c.run_uuid, params_table.c.key]),
        select_params=sa.select(params_table.c.key, params_table.c.value).where(
            params_table.c.run_uuid == sa.bindparam("run_id"),
            params_table.c.key.in_(sa.bindparam("keys", expanding=True))),
    )


# A value of the run's history equal to one logged for a model (see RunLoggingMixin._link_model_twins).
_TWIN = sa.select(metrics_table.c.id, metrics_table.c.model_id).where(
    metrics_table.c.run_uuid == sa.bindparam("run_id"), metrics_table.c.key == sa.bindparam("key"),
    metrics_table.c.step == sa.bindparam("step"), metrics_table.c.timestamp == sa.bindparam("timestamp"),
    metrics_table.c.value == sa.bindparam("value"), metrics_table.c.is_nan == sa.bindparam("is_nan"),
    metrics_table.c.dataset_name.is_not_distinct_from(sa.bindparam("dataset_name", type_=sa.String)),
    metrics_table.c.dataset_digest.is_not_distinct_from(sa.bindparam("dataset_digest", type_=sa.String)),
).order_by(metrics_table.c.id).limit(1)

_MAX_DOUBLE = sys.float_info.max
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _metric_rows(run_id: str, batch: Sequence[Metric]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Validated rows for ``metrics`` (exact duplicates within the call dropped, as MLflow does)
    and, per key, the newest one for ``latest_metrics``."""
    rows: list[tuple[Any, ...]] = []
    seen: set[tuple[Any, ...]] = set()
    newest: dict[str, tuple[Any, ...]] = {}
    for metric in batch:
        try:
            key, value, timestamp, step = metric.key, metric.value, metric.timestamp, metric.step
        except AttributeError:
            raise InvalidArgumentError(f"metrics must be Metric objects, got {type(metric).__name__} "
                                       f"{metric!r}.") from None
        # Plain floats and ints in range skip the general checks (and their ABC isinstance cost).
        if (type(value) is float and type(timestamp) is int and type(step) is int
                and 0 <= timestamp <= _INT64_MAX and _INT64_MIN <= step <= _INT64_MAX):
            validate_metric_key(key)
        else:
            validate_metric(key, value, timestamp, step)
            value, timestamp, step = float(value), int(timestamp), int(step)
        is_nan = value != value
        if is_nan:
            value = 0.0
        elif value in (math.inf, -math.inf):
            value = _MAX_DOUBLE if value > 0 else -_MAX_DOUBLE
        row = (run_id, key, value, is_nan, timestamp, step, metric.model_id, metric.dataset_name,
               metric.dataset_digest)
        if row in seen:
            continue
        seen.add(row)
        rows.append(row)
        current = newest.get(key)
        if current is None or (step, timestamp, value) > (current[5], current[4], current[2]):
            newest[key] = row[:6]
    # Sorted keys: concurrent writers lock latest_metrics rows in the same order (no deadlocks).
    return rows, [newest[key] for key in sorted(newest)]


def _output_steps(models: Sequence[Any] | None) -> dict[str, int]:
    """``model_id -> step`` of a run's model outputs (the first step given for a model wins)."""
    steps: dict[str, int] = {}
    for model in models or ():
        model_id, step = getattr(model, "model_id", model), getattr(model, "step", None)
        if not isinstance(model_id, str) or not model_id:
            raise InvalidArgumentError("models must be logged model ids (non-empty strings) or LoggedModelOutput "
                                       f"objects, got {model!r}.")
        if step is None:
            step = 0
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not _INT64_MIN <= step <= _INT64_MAX:
            raise InvalidArgumentError(f"The step of model output '{model_id}' must be a 64-bit integer, got "
                                       f"{type(step).__name__} {step!r}.")
        steps.setdefault(model_id, int(step))
    return steps


def _entity(item: Any, cls: type, what: str) -> Any:
    if isinstance(item, cls) or (hasattr(item, "key") and hasattr(item, "value")):
        return item
    raise InvalidArgumentError(f"{what} must be {cls.__name__} objects, got {type(item).__name__} {item!r}.")


class RunLoggingMixin(RunsMixin):
    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric value (key, value, timestamp in ms, step) to an active run.

        NaN is stored as MLflow stores it (``is_nan``, value 0) and read back as NaN; +/-inf
        is stored as the largest finite double of that sign, as MLflow does.
        """
        self._log_metrics(run_id, [metric])

    def _log_metrics(self, run_id: str, batch: Sequence[Metric]) -> None:
        rows, latest = _metric_rows(run_id, batch)
        with self._write() as connection:
            self._write_metrics(connection, run_id, rows, latest)

    def _write_metrics(self, connection: sa.Connection, run_id: str, rows: list[tuple[Any, ...]],
                       latest: list[tuple[Any, ...]], check_run: bool = True) -> None:
        """Check the run is active, then insert ``rows`` and upsert ``latest`` (driver cursor)."""
        statements = _statements(self._dialect)
        cursor = connection.connection.cursor()
        try:
            if check_run:
                cursor.execute(statements.run_state, (run_id,))
                self._raise_unless_active(run_id, cursor.fetchone(), "log metrics")
            if any(row[6] is not None for row in rows):
                rows = self._link_model_twins(connection, run_id, rows)
            if len(rows) == 1 and len(latest) == 1:
                cursor.execute(statements.insert_metric, rows[0])
                cursor.execute(statements.upsert_latest, latest[0])
            elif rows:
                cursor.executemany(statements.insert_metric, rows)
                cursor.executemany(statements.upsert_latest, latest)
        finally:
            cursor.close()

    def _link_model_twins(self, connection: sa.Connection, run_id: str,
                          rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """``rows`` less those logged for a model whose exact value (key, value, timestamp, step,
        dataset) the run's history already holds: that value is linked to the model instead of being
        copied, as MLflow keeps the run's history once when a client logs the run's values for a model
        (``log_model(step=...)`` through the REST API). Values for a model this store does not hold are
        kept as they are."""
        wanted = sorted({row[6] for row in rows if row[6] is not None})
        known = set(connection.execute(sa.select(logged_models.c.model_id).where(
            logged_models.c.model_id.in_(wanted))).scalars())
        kept, links = [], []
        for row in rows:
            model_id = row[6]
            twin = None if model_id not in known else connection.execute(_TWIN, {
                "run_id": run_id, "key": row[1], "value": row[2], "is_nan": row[3], "timestamp": row[4],
                "step": row[5], "dataset_name": row[7], "dataset_digest": row[8]}).first()
            if twin is None:
                kept.append(row)
            elif twin.model_id != model_id:
                links.append({"model_id": model_id, "metric_id": twin.id})
        if links:
            connection.execute(self._insert(logged_model_metrics).on_conflict_do_nothing(), links)
        return kept

    def log_param(self, run_id: str, param: Param) -> None:
        """Log a param to an active run. Logging the same value again does nothing; a different
        value is an error (params are immutable)."""
        value = validate_param(param.key, param.value)
        statements = _statements(self._dialect)
        with self._write() as connection:
            self._check_run_active(connection, run_id, f"log param '{param.key}'")
            inserted = connection.execute(statements.insert_param.returning(params_table.c.key),
                                          {"run_uuid": run_id, "key": param.key, "value": value}).first()
            if inserted is None:
                self._check_params_unchanged(connection, run_id, {param.key: value})

    def _check_params_unchanged(self, connection: sa.Connection, run_id: str, wanted: dict[str, str]) -> None:
        stored = connection.execute(_statements(self._dialect).select_params,
                                    {"run_id": run_id, "keys": sorted(wanted)}).all()
        changed = [(key, old, wanted[key]) for key, old in stored if old != wanted[key]]
        if changed:
            details = "; ".join(f"param with key='{key}' was already logged with value='{old}', attempted new value "
                                f"'{new}'" for key, old, new in sorted(changed))
            raise InvalidArgumentError(f"Changing param values is not allowed: {details} (run ID='{run_id}'). "
                                       "Log a different key, or use a new run for a new value.")

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set (or overwrite) a tag on an active run. Tag ``mlflow.runName`` also renames the run."""
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from an active run; RESOURCE_DOES_NOT_EXIST if it has no such tag."""
        with self._write() as connection:
            self._check_run_active(connection, run_id, f"delete tag '{key}'")
            deleted = connection.execute(
                tags_table.delete().where(tags_table.c.run_uuid == run_id, tags_table.c.key == key)).rowcount
            if not deleted:
                raise not_found(f"No tag with name: {key} in run with id {run_id}.")

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = ()) -> None:
        """Log up to 1,000 metrics, 100 params and 100 tags (1,000 in all) to an active run, all
        or nothing, in one transaction. Rules are those of log_metric, log_param and set_tag."""
        validate_run_id(run_id)
        metrics, params, tags = list(metrics or ()), list(params or ()), list(tags or ())
        validate_batch_limits(len(metrics), len(params), len(tags))
        param_values: dict[str, str] = {}
        for item in params:
            _entity(item, Param, "params")
        validate_param_keys_unique(p.key for p in params)
        for item in params:
            param_values[item.key] = validate_param(item.key, item.value)
        tag_values: dict[str, str] = {}
        for item in tags:
            tag_values[_entity(item, RunTag, "tags").key] = validate_tag(item.key, item.value)  # last one wins
        if RUN_NAME_TAG in tag_values:
            validate_run_name(tag_values[RUN_NAME_TAG])
        metric_rows, latest = _metric_rows(run_id, metrics)
        statements = _statements(self._dialect)
        with self._write() as connection:
            self._check_run_active(connection, run_id, "log to it")
            if param_values:
                connection.execute(statements.insert_param, [{"run_uuid": run_id, "key": k, "value": v}
                                                             for k, v in sorted(param_values.items())])
                self._check_params_unchanged(connection, run_id, param_values)
            if metric_rows:
                self._write_metrics(connection, run_id, metric_rows, latest, check_run=False)
            if tag_values:
                self._upsert_tags(connection, run_id, list(tag_values.items()))
                if RUN_NAME_TAG in tag_values:
                    connection.execute(runs.update().where(runs.c.run_uuid == run_id)
                                       .values(name=tag_values[RUN_NAME_TAG]))

    def log_inputs(self, run_id: str, datasets: list[Any] | None = None, models: list[Any] | None = None) -> None:
        """Record what a run used: ``datasets`` (DatasetInput: a Dataset plus tags such as
        ``mlflow.data.context=training``) and ``models`` (logged model ids, or objects with
        ``model_id``). A dataset is stored once per experiment by (name, digest); logging the
        same input again does nothing."""
        validate_run_id(run_id)
        if datasets is not None and not isinstance(datasets, list):
            raise InvalidArgumentError(f"datasets must be a list of DatasetInput, got {type(datasets).__name__}.")
        unique: dict[tuple[str, str], Any] = {}
        for dataset_input in datasets or ():
            validate_dataset(getattr(dataset_input, "dataset", None))
            for tag in dataset_input.tags:
                validate_input_tag(tag.key, tag.value)
            unique.setdefault((dataset_input.dataset.name, dataset_input.dataset.digest), dataset_input)
        model_ids = sorted({getattr(m, "model_id", m) for m in models or ()})
        for model_id in model_ids:
            if not isinstance(model_id, str):
                raise InvalidArgumentError(f"models must be logged model ids (strings), got {model_id!r}.")
        with self._write() as connection:
            experiment_id = self._check_run_active(connection, run_id, "log inputs")
            if unique:
                self._link_datasets(connection, run_id, experiment_id, list(unique.values()))
            if model_ids:
                self._link(connection, [("RUN_INPUT", run_id, "MODEL_INPUT", m) for m in model_ids])

    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        """Record logged models as outputs of an active run: LoggedModelOutput (``model_id`` and the
        run's ``step``), other objects with ``model_id``, or ids (step 0). A model already recorded as
        an output of the run keeps its first step."""
        steps = _output_steps(models)
        with self._write() as connection:
            self._check_run_active(connection, run_id, "log outputs")
            self._link(connection, [("RUN_OUTPUT", run_id, "MODEL_OUTPUT", m) for m in sorted(steps)],
                       [steps[m] for m in sorted(steps)])

    def _link(self, connection: sa.Connection, links: list[tuple[str, str, str, str]],
              steps: list[int] | None = None) -> list[str | None]:
        """Insert ``inputs`` edges (source_type, source_id, destination_type, destination_id), at
        ``steps`` (0 if None); returns, per edge, its new input_uuid, or None if it existed (it is
        left alone)."""
        statement = self._insert(inputs).on_conflict_do_nothing(
            index_elements=[inputs.c.source_type, inputs.c.source_id, inputs.c.destination_type,
                            inputs.c.destination_id]).returning(inputs.c.input_uuid)
        created: list[str | None] = []
        for (source_type, source_id, destination_type, destination_id), step in zip(
                links, steps or [0] * len(links), strict=True):
            input_uuid = _ordered_uuid()
            inserted = connection.execute(statement, {
                "input_uuid": input_uuid, "source_type": source_type, "source_id": source_id,
                "destination_type": destination_type, "destination_id": destination_id, "step": step}).first()
            created.append(None if inserted is None else input_uuid)
        return created

    def _link_datasets(self, connection: sa.Connection, run_id: str, experiment_id: int,
                       dataset_inputs: list[Any]) -> None:
        connection.execute(self._insert(datasets_table).on_conflict_do_nothing(
            index_elements=[datasets_table.c.experiment_id, datasets_table.c.name, datasets_table.c.digest]), [
            {"dataset_uuid": uuid.uuid4().hex, "experiment_id": experiment_id, "name": d.dataset.name,
             "digest": d.dataset.digest, "dataset_source_type": d.dataset.source_type,
             "dataset_source": d.dataset.source, "dataset_schema": d.dataset.schema,
             "dataset_profile": d.dataset.profile} for d in dataset_inputs])
        names = sorted({d.dataset.name for d in dataset_inputs})
        uuids = {(row.name, row.digest): row.dataset_uuid for row in connection.execute(
            sa.select(datasets_table.c.name, datasets_table.c.digest, datasets_table.c.dataset_uuid).where(
                datasets_table.c.experiment_id == experiment_id, datasets_table.c.name.in_(names)))}
        created = self._link(connection, [("DATASET", uuids[(d.dataset.name, d.dataset.digest)], "RUN", run_id)
                                          for d in dataset_inputs])
        # Tags go with a new link only: re-logging an input does not change its tags (as in MLflow).
        new_tags = [{"input_uuid": input_uuid, "name": tag.key, "value": tag.value}
                    for dataset_input, input_uuid in zip(dataset_inputs, created) if input_uuid
                    for tag in {t.key: t for t in dataset_input.tags}.values()]
        if new_tags:
            connection.execute(input_tags.insert(), new_tags)
