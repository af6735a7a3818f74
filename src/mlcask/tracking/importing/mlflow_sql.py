"""Reading MLflow's own tracking database (SQLite or PostgreSQL), at any schema revision of the 3.x line.

The tables are reflected with SQLAlchemy Core, never declared here: a column a revision lacks
(``experiments.creation_time`` before 2.x's migration, ``inputs.step``, ``*.workspace`` before
3.x's workspaces) reads as None, and a table it lacks (``logged_models`` before 3.0) as empty.
SQLite files are opened read-only; nothing in the source is ever changed.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking import stores
from mlcask.tracking.importing.records import (
    DatasetRecord,
    ExperimentRecord,
    LoggedModelRecord,
    MetricPoint,
    RegisteredModelRecord,
    RunRecord,
    VersionRecord,
    link_model_metrics,
)
from mlcask.tracking.store import db
from mlcask.utils.redaction import redact_uri

__all__ = ["MlflowSqlSource"]

_TABLES = ("alembic_version", "experiments", "experiment_tags", "runs", "tags", "params", "metrics", "datasets",
           "inputs", "input_tags", "logged_models", "logged_model_tags", "logged_model_params",
           "logged_model_metrics", "registered_models", "registered_model_tags", "model_versions",
           "model_version_tags", "registered_model_aliases")
# MLflow's LoggedModelStatus numbers (mlflow.entities.LoggedModelStatus.from_int).
_MODEL_STATUS = {0: "PENDING", 1: "PENDING", 2: "READY", 3: "FAILED"}
_MODEL_SOURCE = re.compile(r"models:/(m-[0-9a-f]{32})/?$")
_IDS = sa.bindparam("ids", expanding=True)


def _value(value: float | None, is_nan: Any) -> float:
    """A stored metric value: MLflow keeps NaN as 0 with ``is_nan`` set (and NULL in older revisions)."""
    return float("nan") if is_nan or value is None else float(value)


def _open(uri: str) -> Any:
    """A read-only engine: SQLite through a ``mode=ro`` URI, PostgreSQL as mlcask opens it."""
    path = db.sqlite_path(uri) if uri.startswith("sqlite") else None
    if uri.startswith("sqlite"):
        if not path:
            raise InvalidArgumentError(f"'{uri}' is an in-memory database: there is nothing to import from it.")
        from pathlib import Path

        if not Path(path).is_file():
            raise InvalidArgumentError(f"No MLflow database at '{uri}': the file '{path}' does not exist.")
        return sa.create_engine(f"sqlite:///file:{urllib.parse.quote(path)}?mode=ro&uri=true")
    return db.create_engine(uri)


class MlflowSqlSource:
    """The experiments, runs, logged models and registry of an MLflow tracking database.

    Parameters
    ----------
    uri
        ``sqlite:///mlflow.db`` or ``postgresql://user@host/db``.
    workspace
        The MLflow workspace to read (databases with workspaces); None: the only one there is.
    """

    kind = "MLflow database"

    def __init__(self, uri: str, workspace: str | None = None) -> None:
        self.uri = uri
        self.shown = redact_uri(uri)
        self._engine = _open(uri)
        self._meta = sa.MetaData()
        try:
            with self._engine.connect() as connection:
                present = set(sa.inspect(connection).get_table_names())
                self._meta.reflect(bind=connection, only=[t for t in _TABLES if t in present])
                self.revision = (connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                                 if "alembic_version" in present else None)
        except sa.exc.DBAPIError as exc:
            raise InvalidArgumentError(f"Cannot read the MLflow database '{self.shown}': {exc.orig}") from None
        if not {"experiments", "runs", "metrics", "params"} <= present:
            raise InvalidArgumentError(
                f"'{self.shown}' is not an MLflow tracking database: it has no experiments, runs, metrics and "
                f"params tables (it has: {', '.join(sorted(present)) or 'no tables'}).")
        self.workspace = self._choose_workspace(workspace)
        self._connection = self._engine.connect()
        # Host-less mlflow-artifacts:/ locations are on the server in front of this database: the
        # http(s) URI of MLFLOW_TRACKING_URI (or MLCASK_TRACKING_URI) names it.
        self.artifact_tracking_uri = next((value for value in (os.environ.get("MLFLOW_TRACKING_URI"),
                                                               os.environ.get("MLCASK_TRACKING_URI"))
                                           if value and stores.is_server_uri(value)), None)

    def describe(self) -> str:
        return f"MLflow database {self.shown} (schema revision {self.revision or 'unknown'})"

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()

    # -- reflection helpers ----------------------------------------------------------------------
    def _table(self, name: str) -> sa.Table | None:
        return self._meta.tables.get(name)

    def _col(self, table: sa.Table, name: str) -> Any:
        """The column, or NULL labelled with its name when this revision has no such column."""
        return table.c[name] if name in table.c else sa.null().label(name)

    def _select(self, table: sa.Table, *names: str) -> sa.Select:
        return sa.select(*(self._col(table, n) for n in names))

    def _rows(self, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
        return self._connection.execute(statement, params or {}).all()

    def _in_workspace(self, table: sa.Table) -> list[Any]:
        if self.workspace is None or "workspace" not in table.c:
            return []
        return [table.c.workspace == self.workspace]

    def _choose_workspace(self, wanted: str | None) -> str | None:
        experiments = self._meta.tables["experiments"]
        if "workspace" not in experiments.c:
            if wanted is not None:
                raise InvalidArgumentError(f"'{self.shown}' has no workspaces (MLflow schema revision "
                                           f"{self.revision}); drop --workspace.")
            return None
        with self._engine.connect() as connection:
            found = sorted(connection.execute(sa.select(experiments.c.workspace).distinct()).scalars())
        if wanted is not None:
            if wanted not in found:
                raise InvalidArgumentError(f"No workspace {wanted!r} in '{self.shown}' (it has: "
                                           f"{', '.join(map(str, found)) or 'none'}).")
            return wanted
        if len(found) > 1:
            raise InvalidArgumentError(f"'{self.shown}' holds several MLflow workspaces ({', '.join(found)}); mlcask "
                                       "has none: import them one at a time with --workspace <name>, each into "
                                       "its own mlcask store.")
        return found[0] if found else None

    # -- experiments -----------------------------------------------------------------------------
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment (deleted ones too), by id."""
        table = self._meta.tables["experiments"]
        statement = (self._select(table, "experiment_id", "name", "artifact_location", "lifecycle_stage",
                                  "creation_time", "last_update_time")
                     .where(*self._in_workspace(table)).order_by(table.c.experiment_id))
        records = [ExperimentRecord(str(r.experiment_id), r.name, r.artifact_location, r.lifecycle_stage or "active",
                                    r.creation_time, r.last_update_time) for r in self._rows(statement)]
        tags = self._table("experiment_tags")
        if tags is not None:
            by_id = {r.experiment_id: r for r in records}
            for row in self._rows(sa.select(tags.c.experiment_id, tags.c.key, tags.c.value)):
                if str(row.experiment_id) in by_id:
                    by_id[str(row.experiment_id)].tags[row.key] = row.value
        return records

    def run_ids(self, experiment_id: str) -> list[str]:
        """The experiment's runs (deleted ones too), oldest first: parents before their children."""
        runs = self._meta.tables["runs"]
        statement = (sa.select(runs.c.run_uuid).where(runs.c.experiment_id == int(experiment_id))
                     .order_by(runs.c.start_time, runs.c.run_uuid))
        return [row[0] for row in self._rows(statement)]

    # -- runs ------------------------------------------------------------------------------------
    def run(self, run_id: str) -> RunRecord:
        runs = self._meta.tables["runs"]
        row = self._rows(self._select(runs, "run_uuid", "experiment_id", "name", "user_id", "status", "start_time",
                                      "end_time", "deleted_time", "lifecycle_stage", "artifact_uri")
                         .where(runs.c.run_uuid == run_id))[0]
        record = RunRecord(row.run_uuid, str(row.experiment_id), row.name, row.user_id, row.status or "FINISHED",
                           row.start_time, row.end_time, row.deleted_time, row.lifecycle_stage or "active",
                           row.artifact_uri)
        for name, target in (("params", record.params), ("tags", record.tags)):
            table = self._meta.tables.get(name)
            if table is not None:
                target.update((r.key, r.value) for r in self._rows(
                    sa.select(table.c.key, table.c.value).where(table.c.run_uuid == run_id)))
        record.metrics = self._run_metrics(run_id)
        self._run_inputs(record)
        return record

    def _run_metrics(self, run_id: str) -> list[MetricPoint]:
        """The run's full history; points also logged to a model carry its id and dataset."""
        metrics = self._meta.tables["metrics"]
        points = [MetricPoint(r.key, _value(r.value, r.is_nan), int(r.timestamp or 0), int(r.step or 0))
                  for r in self._rows(self._select(metrics, "key", "value", "timestamp", "step", "is_nan")
                                      .where(metrics.c.run_uuid == run_id)
                                      .order_by(metrics.c.key, metrics.c.step, metrics.c.timestamp))]
        model_metrics = self._table("logged_model_metrics")
        if model_metrics is None:
            return points
        model_points = [
            MetricPoint(r.metric_name, _value(r.metric_value, False), int(r.metric_timestamp_ms),
                        int(r.metric_step), r.model_id, r.dataset_name, r.dataset_digest)
            for r in self._rows(self._select(model_metrics, "model_id", "metric_name", "metric_timestamp_ms",
                                             "metric_step", "metric_value", "dataset_name", "dataset_digest")
                                .where(model_metrics.c.run_id == run_id))]
        return link_model_metrics(points, model_points)

    def _run_inputs(self, record: RunRecord) -> None:
        inputs, datasets, input_tags = self._table("inputs"), self._table("datasets"), self._table("input_tags")
        if inputs is None:
            return
        step = inputs.c.step if "step" in inputs.c else sa.literal(0)  # MLflow added inputs.step in 3.x
        links = self._rows(sa.select(inputs.c.input_uuid, inputs.c.source_type, inputs.c.source_id,
                                     inputs.c.destination_type, inputs.c.destination_id, step.label("step")).where(
            sa.or_(inputs.c.destination_id == record.run_id, inputs.c.source_id == record.run_id)))
        dataset_links = [r for r in links if r.source_type == "DATASET" and r.destination_type == "RUN"]
        record.model_inputs = sorted(r.destination_id for r in links if r.source_type == "RUN_INPUT")
        record.model_outputs = {r.destination_id: int(r.step or 0) for r in links if r.source_type == "RUN_OUTPUT"}
        if not dataset_links or datasets is None:
            return
        found = {r.dataset_uuid: r for r in self._rows(
            self._select(datasets, "dataset_uuid", "name", "digest", "dataset_source_type", "dataset_source",
                         "dataset_schema", "dataset_profile")
            .where(datasets.c.dataset_uuid.in_(_IDS)), {"ids": [r.source_id for r in dataset_links]})}
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        if input_tags is not None:
            for r in self._rows(sa.select(input_tags).where(input_tags.c.input_uuid.in_(_IDS)),
                                {"ids": [r.input_uuid for r in dataset_links]}):
                tags[r.input_uuid][r.name] = r.value
        for link in dataset_links:
            d = found.get(link.source_id)
            if d is not None:
                record.datasets.append(DatasetRecord(d.name, d.digest, d.dataset_source_type, d.dataset_source,
                                                     d.dataset_schema, d.dataset_profile, tags[link.input_uuid]))
        record.datasets.sort(key=lambda d: (d.name, d.digest))

    # -- logged models ---------------------------------------------------------------------------
    def logged_model_ids(self, experiment_id: str) -> list[str]:
        table = self._table("logged_models")
        if table is None:
            return []
        return [r[0] for r in self._rows(sa.select(table.c.model_id).where(table.c.experiment_id == int(experiment_id))
                                         .order_by(table.c.creation_timestamp_ms, table.c.model_id))]

    def logged_model(self, model_id: str) -> LoggedModelRecord:
        table = self._meta.tables["logged_models"]
        r = self._rows(self._select(table, "model_id", "experiment_id", "name", "artifact_location",
                                    "creation_timestamp_ms", "last_updated_timestamp_ms", "status", "lifecycle_stage",
                                    "model_type", "source_run_id").where(table.c.model_id == model_id))[0]
        status = _MODEL_STATUS.get(r.status, r.status) if isinstance(r.status, int) else str(r.status)
        record = LoggedModelRecord(r.model_id, str(r.experiment_id), r.name, r.artifact_location,
                                   r.creation_timestamp_ms, r.last_updated_timestamp_ms, status,
                                   r.lifecycle_stage or "active", r.model_type, r.source_run_id)
        for name, prefix, target in (("logged_model_tags", "tag", record.tags),
                                     ("logged_model_params", "param", record.params)):
            kv = self._table(name)
            if kv is not None:
                target.update((row[0], row[1]) for row in self._rows(
                    sa.select(kv.c[f"{prefix}_key"], kv.c[f"{prefix}_value"]).where(kv.c.model_id == model_id)))
        return record

    # -- registry --------------------------------------------------------------------------------
    def registered_models(self) -> Iterator[RegisteredModelRecord]:
        models = self._table("registered_models")
        if models is None:
            return
        for r in self._rows(self._select(models, "name", "creation_time", "last_updated_time", "description")
                            .where(*self._in_workspace(models)).order_by(models.c.name)):
            record = RegisteredModelRecord(r.name, r.creation_time or 0, r.last_updated_time or r.creation_time or 0,
                                           r.description)
            record.tags = self._key_values("registered_model_tags", r.name)
            aliases = self._table("registered_model_aliases")
            if aliases is not None:
                record.aliases = {a.alias: int(a.version) for a in self._rows(
                    sa.select(aliases.c.alias, aliases.c.version).where(aliases.c.name == r.name,
                                                                        *self._in_workspace(aliases)))}
            record.versions = self._versions(r.name)
            yield record

    def _key_values(self, table_name: str, name: str, version: int | None = None) -> dict[str, str]:
        table = self._table(table_name)
        if table is None:
            return {}
        where = [table.c.name == name, *self._in_workspace(table)]
        if version is not None:
            where.append(table.c.version == version)
        return {r.key: r.value for r in self._rows(sa.select(table.c.key, table.c.value).where(*where))}

    def _versions(self, name: str) -> list[VersionRecord]:
        table = self._table("model_versions")
        if table is None:
            return []
        versions = []
        for r in self._rows(self._select(table, "version", "creation_time", "last_updated_time", "description",
                                         "user_id", "current_stage", "source", "run_id", "status", "status_message")
                            .where(table.c.name == name, *self._in_workspace(table)).order_by(table.c.version)):
            matched = _MODEL_SOURCE.match(r.source or "")
            versions.append(VersionRecord(
                int(r.version), r.creation_time or 0, r.last_updated_time or r.creation_time or 0, r.description,
                r.user_id, r.current_stage or "None", r.source, r.run_id, matched.group(1) if matched else None,
                r.status or "READY", r.status_message, self._key_values("model_version_tags", name, r.version)))
        return versions
