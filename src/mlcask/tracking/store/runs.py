"""Runs: create, read, search, update, delete and restore; loading many runs without N+1 queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from mlcask.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LifecycleStage,
    LoggedModelOutput,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    ViewType,
)
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.metric_sampling import Point, check_step_range, point_to_metric, scan_min_max
from mlcask.tracking.paging import PagedList, check_max_results, decode_page_token, encode_page_token, now_ms
from mlcask.tracking.protocols import MetricSummary
from mlcask.tracking.store.base import chunks, not_found, pairs
from mlcask.tracking.store.experiments import ExperimentsMixin, experiment_id_int
from mlcask.tracking.store.names import random_name
from mlcask.tracking.store.schema import datasets as datasets_table
from mlcask.tracking.store.schema import input_tags, inputs, latest_metrics, runs
from mlcask.tracking.store.schema import metrics as metrics_table
from mlcask.tracking.store.schema import params as params_table
from mlcask.tracking.store.schema import tags as tags_table
from mlcask.tracking.validation import (
    validate_run_name,
    validate_tag,
    validate_timestamp,
    validate_user_id,
)
from mlcask.utils.mlflow_tags import MLFLOW_RUN_NAME

RUN_NAME_TAG = MLFLOW_RUN_NAME
# MLflow's RunStatus enum numbers, accepted wherever a status is.
_STATUS_NUMBERS = {1: RunStatus.RUNNING, 2: RunStatus.SCHEDULED, 3: RunStatus.FINISHED, 4: RunStatus.FAILED,
                   5: RunStatus.KILLED}

_RUN_STATE = sa.select(runs.c.lifecycle_stage, runs.c.experiment_id).where(runs.c.run_uuid == sa.bindparam("run_id"))


def to_run_status(status: Any) -> str:
    """A RunStatus name from a name or MLflow's enum number."""
    if isinstance(status, int) and not isinstance(status, bool) and status in _STATUS_NUMBERS:
        return _STATUS_NUMBERS[status]
    if isinstance(status, str) and status in RunStatus.ALL:
        return status
    raise InvalidArgumentError(f"Invalid run status {status!r}: it must be one of {', '.join(RunStatus.ALL)}.")


_IDS = sa.bindparam("ids", expanding=True)
_LOAD_RUNS = sa.select(runs).where(runs.c.run_uuid.in_(_IDS))
_LOAD_TAGS = (sa.select(tags_table.c.run_uuid, tags_table.c.key, tags_table.c.value)
              .where(tags_table.c.run_uuid.in_(_IDS)).order_by(tags_table.c.key))
_LOAD_PARAMS = (sa.select(params_table.c.run_uuid, params_table.c.key, params_table.c.value)
                .where(params_table.c.run_uuid.in_(_IDS)).order_by(params_table.c.key))
# is_nan read as the stored integer: the Boolean result processor costs a third of the metric rows' time.
_LOAD_METRICS = (sa.select(latest_metrics.c.run_uuid, latest_metrics.c.key, latest_metrics.c.value,
                           sa.type_coerce(latest_metrics.c.is_nan, sa.Integer), latest_metrics.c.timestamp,
                           latest_metrics.c.step)
                 .where(latest_metrics.c.run_uuid.in_(_IDS)).order_by(latest_metrics.c.key))


# One pass over the run's history, grouped by key (the (run_uuid, key, step) index orders it), joined with
# each key's latest row. NaN is stored as 0 with is_nan set: left out of min and max, counted.
_real_value = sa.case((metrics_table.c.is_nan == sa.true(), None), else_=metrics_table.c.value)
_AGGREGATES = (sa.select(metrics_table.c.key.label("key"), sa.func.min(_real_value).label("low"),
                         sa.func.max(_real_value).label("high"), sa.func.count().label("count"))
               .where(metrics_table.c.run_uuid == sa.bindparam("run_id"))
               .group_by(metrics_table.c.key).subquery())
_SUMMARIES = (sa.select(latest_metrics.c.key, latest_metrics.c.value,
                        sa.type_coerce(latest_metrics.c.is_nan, sa.Integer).label("is_nan"),
                        latest_metrics.c.step, latest_metrics.c.timestamp, _AGGREGATES.c.low, _AGGREGATES.c.high,
                        _AGGREGATES.c.count)
              .join(_AGGREGATES, _AGGREGATES.c.key == latest_metrics.c.key)
              .where(latest_metrics.c.run_uuid == sa.bindparam("run_id"))
              .order_by(latest_metrics.c.key))

# A history's points for the min/max sample (is_nan as the stored integer, as in _LOAD_METRICS).
_POINTS = sa.select(metrics_table.c.step, metrics_table.c.timestamp, metrics_table.c.value,
                    sa.type_coerce(metrics_table.c.is_nan, sa.Integer))


def nan_or(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else value


class RunsMixin(ExperimentsMixin):
    def _check_run_active(self, connection: sa.Connection, run_id: str, action: str = "change it") -> int:
        """Raise unless the run exists and is active; returns its experiment id (one indexed query)."""
        row = connection.execute(_RUN_STATE, {"run_id": run_id}).first()
        return self._raise_unless_active(run_id, row, action)

    @staticmethod
    def _raise_unless_active(run_id: str, row: Any, action: str) -> int:
        if row is None:
            raise not_found(f"Run with id={run_id} not found.")
        if row[0] != LifecycleStage.ACTIVE:
            raise InvalidArgumentError(f"Cannot {action}: run {run_id} is {row[0]}; it must be in the 'active' state "
                                       "(restore it with restore_run first).")
        return row[1]

    def create_run(self, experiment_id: str, user_id: str | None, start_time: int | None, tags: Any,
                   run_name: str | None) -> Run:
        """Create a RUNNING run in an active experiment.

        Args:
            experiment_id: The experiment (None means the default experiment, "0").
            user_id: Who runs it.
            start_time: Milliseconds since the epoch (None: now).
            tags: A list of RunTag, or a dict.
            run_name: The run's name; without one (and without an ``mlflow.runName`` tag) a random
                name like ``brave-otter-417`` is chosen. It is also stored as tag ``mlflow.runName``.
        """
        exp_id = experiment_id_int(experiment_id)
        tag_values = {key: validate_tag(key, value) for key, value in pairs(tags, "Run tags")}
        name_tag = tag_values.get(RUN_NAME_TAG)
        if run_name and name_tag and run_name != name_tag:
            raise InvalidArgumentError(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
                f"(run_name='{run_name}', mlflow.runName='{name_tag}').")
        run_name = run_name or name_tag or random_name()
        validate_run_name(run_name)
        tag_values[RUN_NAME_TAG] = run_name
        validate_user_id(user_id)
        start_time = now_ms() if start_time is None else validate_timestamp("Run start_time", start_time)
        run_id = uuid.uuid4().hex
        with self._write() as connection:
            row = self._experiment_row(connection, exp_id)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise InvalidArgumentError(
                    f"Cannot create a run in experiment {row.experiment_id} ('{row.name}'): it is deleted; it must be "
                    "in the 'active' state (restore it with restore_experiment first).")
            artifact_uri = f"{row.artifact_location.rstrip('/')}/{run_id}/artifacts"
            connection.execute(runs.insert().values(
                run_uuid=run_id, name=run_name, user_id=user_id, status=RunStatus.RUNNING, start_time=start_time,
                end_time=None, deleted_time=None, lifecycle_stage=LifecycleStage.ACTIVE, artifact_uri=artifact_uri,
                experiment_id=exp_id))
            connection.execute(tags_table.insert(), [{"run_uuid": run_id, "key": k, "value": v}
                                                     for k, v in sorted(tag_values.items())])
        info = RunInfo(run_id=run_id, experiment_id=str(exp_id), run_name=run_name, user_id=user_id,
                       status=RunStatus.RUNNING, start_time=start_time, end_time=None, artifact_uri=artifact_uri)
        return Run(info=info, data=RunData(tags=dict(sorted(tag_values.items()))), inputs=RunInputs())

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags and inputs; RESOURCE_DOES_NOT_EXIST if unknown."""
        with self._read() as connection:
            found = self._load_runs(connection, [run_id])
        if not found:
            raise not_found(f"Run with id={run_id} not found.")
        return found[0]

    def _load_runs(self, connection: sa.Connection, run_ids: list[str]) -> list[Run]:
        """Runs for ``run_ids`` in that order: one query per table (per chunk of 900 ids).

        The statements are built once (module level) and rows fetched all at once: a page of
        100 runs with 30 values each is ~3,000 rows, and per-row overhead is what a search costs.
        """
        loaded: dict[str, Run] = {}
        for chunk in chunks(run_ids):
            ids = {"ids": list(chunk)}
            for row in connection.execute(_LOAD_RUNS, ids).all():
                loaded[row.run_uuid] = Run(RunInfo(
                    run_id=row.run_uuid, experiment_id=str(row.experiment_id), run_name=row.name,
                    user_id=row.user_id, status=row.status, start_time=row.start_time, end_time=row.end_time,
                    artifact_uri=row.artifact_uri, lifecycle_stage=row.lifecycle_stage), RunData(), RunInputs())
            if not loaded:
                continue
            for run_uuid, key, value in connection.execute(_LOAD_TAGS, ids).all():
                loaded[run_uuid].data.tags[key] = value
            for run_uuid, key, value in connection.execute(_LOAD_PARAMS, ids).all():
                loaded[run_uuid].data.params[key] = value
            for run_uuid, key, value, is_nan, timestamp, step in connection.execute(_LOAD_METRICS, ids).all():
                data = loaded[run_uuid].data
                value = data.metrics[key] = nan_or(value, is_nan)
                data.latest_metrics[key] = Metric(key, value, timestamp, step)
            self._load_inputs(connection, chunk, loaded)
        return [loaded[run_id] for run_id in run_ids if run_id in loaded]

    def _load_inputs(self, connection: sa.Connection, run_ids: Any, loaded: dict[str, Run]) -> None:
        statement = (
            sa.select(inputs.c.input_uuid, inputs.c.destination_id, datasets_table, input_tags.c.name.label("tag_key"),
                      input_tags.c.value.label("tag_value"))
            .select_from(inputs.join(datasets_table, inputs.c.source_id == datasets_table.c.dataset_uuid)
                         .outerjoin(input_tags, input_tags.c.input_uuid == inputs.c.input_uuid))
            .where(inputs.c.source_type == "DATASET", inputs.c.destination_type == "RUN",
                   inputs.c.destination_id.in_(run_ids))
            .order_by(inputs.c.input_uuid, input_tags.c.name))  # input ids sort in logging order
        by_input: dict[str, DatasetInput] = {}
        for row in connection.execute(statement):
            dataset_input = by_input.get(row.input_uuid)
            if dataset_input is None:
                dataset = Dataset(name=row.name, digest=row.digest, source_type=row.dataset_source_type,
                                  source=row.dataset_source, schema=row.dataset_schema, profile=row.dataset_profile)
                dataset_input = by_input[row.input_uuid] = DatasetInput(dataset=dataset, tags=[])
                loaded[row.destination_id].inputs.dataset_inputs.append(dataset_input)
            if row.tag_key is not None:
                dataset_input.tags.append(InputTag(row.tag_key, row.tag_value))
        for row in connection.execute(sa.select(inputs.c.source_id, inputs.c.destination_id).where(
                inputs.c.source_type == "RUN_INPUT", inputs.c.source_id.in_(run_ids),
                inputs.c.destination_type == "MODEL_INPUT").order_by(inputs.c.destination_id)):
            loaded[row.source_id].inputs.model_inputs.append(row.destination_id)
        for row in connection.execute(sa.select(inputs.c.source_id, inputs.c.destination_id, inputs.c.step).where(
                inputs.c.source_type == "RUN_OUTPUT", inputs.c.source_id.in_(run_ids),
                inputs.c.destination_type == "MODEL_OUTPUT").order_by(inputs.c.destination_id)):
            loaded[row.source_id].outputs.model_outputs.append(LoggedModelOutput(row.destination_id, row.step))

    def update_run_info(self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None) -> RunInfo:
        """Set an active run's status (a RunStatus name), end time and/or name (None leaves a field as it is)."""
        status = None if run_status is None else to_run_status(run_status)
        if end_time is not None:
            end_time = validate_timestamp("Run end_time", end_time)
        if run_name:
            validate_run_name(run_name)
        with self._write() as connection:
            row = connection.execute(sa.select(runs).where(runs.c.run_uuid == run_id)).first()
            if row is None:
                raise not_found(f"Run with id={run_id} not found.")
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise InvalidArgumentError(f"Cannot update run {run_id}: it is {row.lifecycle_stage}; it must be in "
                                           "the 'active' state (restore it with restore_run first).")
            changes: dict[str, Any] = {}
            if status is not None:
                changes["status"] = status
            if end_time is not None:
                changes["end_time"] = end_time
            if run_name:
                changes["name"] = run_name
                self._upsert_tags(connection, run_id, [(RUN_NAME_TAG, run_name)])
            if changes:
                connection.execute(runs.update().where(runs.c.run_uuid == run_id).values(**changes))
        values = {**row._mapping, **changes}
        return RunInfo(run_id=run_id, experiment_id=str(values["experiment_id"]), run_name=values["name"],
                       user_id=values["user_id"], status=values["status"], start_time=values["start_time"],
                       end_time=values["end_time"], artifact_uri=values["artifact_uri"],
                       lifecycle_stage=values["lifecycle_stage"])

    def _upsert_tags(self, connection: sa.Connection, run_id: str, tag_pairs: list[tuple[str, str]]) -> None:
        statement = self._insert(tags_table)
        statement = statement.on_conflict_do_update(index_elements=[tags_table.c.run_uuid, tags_table.c.key],
                                                    set_={"value": statement.excluded.value})
        # Sorted keys: concurrent writers lock rows in the same order (no deadlocks on PostgreSQL).
        connection.execute(statement, [{"run_uuid": run_id, "key": k, "value": v} for k, v in sorted(tag_pairs)])

    def _set_lifecycle(self, run_id: str, stage: str) -> None:
        deleted_time = now_ms() if stage == LifecycleStage.DELETED else None
        with self._write() as connection:
            updated = connection.execute(runs.update().where(runs.c.run_uuid == run_id)
                                         .values(lifecycle_stage=stage, deleted_time=deleted_time)).rowcount
        if not updated:
            raise not_found(f"Run with id={run_id} not found.")

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (its data stays; restore_run undoes it)."""
        self._set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Mark a deleted run active again."""
        self._set_lifecycle(run_id, LifecycleStage.ACTIVE)

    def get_metric_history(self, run_id: str, metric_key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList[Metric]:
        """Every value logged for ``metric_key`` in the run, ordered by (step, timestamp), then
        by logging order. NaN comes back as NaN. Empty if the metric was never logged."""
        offset = decode_page_token(page_token)
        statement = (sa.select(metrics_table)
                     .where(metrics_table.c.run_uuid == run_id, metrics_table.c.key == metric_key)
                     .order_by(metrics_table.c.step, metrics_table.c.timestamp, metrics_table.c.id).offset(offset))
        if max_results is not None:
            check_max_results(max_results, 2**31 - 1)
            statement = statement.limit(max_results + 1)
        with self._read() as connection:
            if connection.execute(_RUN_STATE, {"run_id": run_id}).first() is None:
                raise not_found(f"Run with id={run_id} not found.")
            rows = connection.execute(statement).all()
        token = None
        if max_results is not None and len(rows) > max_results:
            rows, token = rows[:max_results], encode_page_token(offset + max_results)
        return PagedList([Metric(key=r.key, value=nan_or(r.value, r.is_nan), timestamp=r.timestamp, step=r.step,
                                 model_id=r.model_id, dataset_name=r.dataset_name, dataset_digest=r.dataset_digest,
                                 run_id=run_id) for r in rows], token)

    def get_metric_summaries(self, run_id: str) -> list[MetricSummary]:
        """Every metric key of the run: its latest value (with step and timestamp), the min and max of
        its values that are not NaN (None if all are NaN), and how many values were logged; sorted by
        key. One grouped query, however many keys. RESOURCE_DOES_NOT_EXIST for an unknown run."""
        with self._read() as connection:
            if connection.execute(_RUN_STATE, {"run_id": run_id}).first() is None:
                raise not_found(f"Run with id={run_id} not found.")
            rows = connection.execute(_SUMMARIES, {"run_id": run_id}).all()
        return [MetricSummary(key=r.key, value=nan_or(r.value, r.is_nan), step=r.step, timestamp=r.timestamp,
                              min=r.low, max=r.high, count=r.count) for r in rows]

    def get_metric_history_extremes(self, run_id: str, metric_key: str, max_results: int,
                                    start_step: int | None = None, end_step: int | None = None) -> list[Metric]:
        """The min/max sample of the metric's history (see ``TrackingStore.get_metric_history_extremes``):
        one scan of its rows through the driver's own cursor, about a second per million values on
        SQLite (loading them as Metric objects takes ten times as long), the history whole when short."""
        check_max_results(max_results, 2**31 - 1)
        check_step_range(start_step, end_step)
        where = [metrics_table.c.run_uuid == run_id, metrics_table.c.key == metric_key]
        if start_step is not None:
            where += [metrics_table.c.step >= start_step, metrics_table.c.step <= end_step]
        step = metrics_table.c.step
        try:
            with self._read() as connection:
                if connection.execute(_RUN_STATE, {"run_id": run_id}).first() is None:
                    raise not_found(f"Run with id={run_id} not found.")
                count, low, high = connection.execute(
                    sa.select(sa.func.count(), sa.func.min(step), sa.func.max(step)).where(*where)).one()
                if count <= max_results:
                    ordered = _POINTS.where(*where).order_by(step, metrics_table.c.timestamp, metrics_table.c.id)
                    points: list[Point] = [tuple(row) for row in connection.execute(ordered)]
                else:
                    # Bounded by the range counted: a value logged since (PostgreSQL reads each statement's
                    # own snapshot) at a step beyond it would fall outside every bucket.
                    rows = self._driver_points(connection, run_id, metric_key, low, high)
                    points = scan_min_max(rows, low, high, max_results)
        except self._driver_errors.Error as exc:
            raise self._database_error(exc) from exc
        return [point_to_metric(metric_key, point, run_id) for point in points]

    def _driver_points(self, connection: sa.Connection, run_id: str, key: str, low: int,
                       high: int) -> Iterator[Point]:
        """Every (step, timestamp, value, is_nan) at steps ``low..high`` through the driver's own cursor
        (SQLAlchemy's rows cost twice as much on a million values), unordered: the scan keeps what it
        needs in any order."""
        mark = "?" if self._sqlite else "%s"
        sql = (f"SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = {mark} AND key = {mark} "
               f"AND step >= {mark} AND step <= {mark}")
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, (run_id, key, low, high))
            while rows := cursor.fetchmany(10_000):
                yield from rows
        finally:
            cursor.close()

    def search_runs(self, experiment_ids: list[str], filter_string: str = "",
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, page_token: str | None = None) -> PagedList[Run]:
        """Runs of ``experiment_ids`` matching ``filter_string`` (MLflow's search syntax, e.g.
        ``"metrics.rmse < 1 AND params.model = 'tree'"``), sorted by ``order_by`` (e.g.
        ``["metrics.rmse ASC"]``; default: newest first).

        Returns a list with a ``token`` attribute: pass it as ``page_token`` for the next page.
        """
        from mlcask.tracking.search.sql import runs_select

        return self._search_page(
            experiment_ids, max_results, page_token,
            lambda ids, limit, offset: runs_select(ids, filter_string or None, run_view_type, order_by, limit, offset),
            self._load_runs)
