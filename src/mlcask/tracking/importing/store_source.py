"""Reading a store through the tracking and registry store API: a running tracking server
(``mlflow server`` or ``mlcask server``, over the REST stores of :mod:`mlcask.tracking.rest`) or
another mlcask database.

A server shows what its API shows: deleted runs and experiments yes (``ViewType.ALL``), deleted
logged models and a run's ``deleted_time`` no. MLflow keeps a model's metrics apart from its
run's; they are read from the model (``GET /mlflow/logged-models/<id>``) and joined to the run's
history (:func:`~mlcask.tracking.importing.records.link_model_metrics`).
"""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from mlcask.entities import LifecycleStage, LoggedModel, Run, ViewType
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
from mlcask.utils import iter_pages
from mlcask.utils.redaction import redact_uri

__all__ = ["StoreSource"]
_PAGE = 1000


def _point(metric: Any) -> MetricPoint:
    return MetricPoint(metric.key, float(metric.value), int(metric.timestamp or 0), int(metric.step or 0),
                       metric.model_id or None, metric.dataset_name or None, metric.dataset_digest or None)


class StoreSource:
    """Experiments, runs, logged models and registered models behind a tracking URI.

    Parameters
    ----------
    tracking_uri
        ``http(s)://host:port`` (a tracking server), or the database of an existing mlcask store.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.uri = tracking_uri.rstrip("/") if stores.is_server_uri(tracking_uri) else tracking_uri
        self.shown = redact_uri(self.uri)
        self.server = stores.is_server_uri(self.uri)
        self.kind = "tracking server" if self.server else "mlcask store"
        self.artifact_tracking_uri = self.uri if self.server else None
        self.tracking = stores.tracking_store(self.uri)
        self.registry = stores.registry_store(self.uri)
        self._models_by_run: dict[str, dict[str, list[str]]] = {}
        self._model_metrics: dict[str, list[MetricPoint]] = {}

    def describe(self) -> str:
        return f"{self.kind} {self.shown}"

    def close(self) -> None:
        """Nothing to release: the stores are the process's cached ones."""

    # -- experiments and runs --------------------------------------------------------------------
    def experiments(self) -> list[ExperimentRecord]:
        found = iter_pages(lambda token: self.tracking.search_experiments(
            view_type=ViewType.ALL, max_results=_PAGE, page_token=token))
        records = [ExperimentRecord(e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage,
                                    e.creation_time, e.last_update_time, dict(e.tags)) for e in found]
        return sorted(records, key=lambda r: int(r.experiment_id))

    def run_ids(self, experiment_id: str) -> list[str]:
        found = iter_pages(lambda token: self.tracking.search_runs(
            [experiment_id], run_view_type=ViewType.ALL, max_results=_PAGE,
            order_by=["attributes.start_time ASC"], page_token=token))
        return [run.info.run_id for run in found]

    def run(self, run_id: str) -> RunRecord:
        run: Run = self.tracking.get_run(run_id)
        info = run.info
        record = RunRecord(info.run_id, str(info.experiment_id), info.run_name, info.user_id, info.status,
                           info.start_time, info.end_time, None, info.lifecycle_stage, info.artifact_uri,
                           dict(run.data.params), dict(run.data.tags))
        points = [_point(m) for key in sorted(run.data.metrics)
                  for m in self.tracking.get_metric_history(run_id, key)]
        record.metrics = link_model_metrics(points, self._metrics_of_models(record))
        for dataset_input in run.inputs.dataset_inputs:
            d = dataset_input.dataset
            record.datasets.append(DatasetRecord(d.name, d.digest, d.source_type, d.source, d.schema, d.profile,
                                                 {t.key: t.value for t in dataset_input.tags}))
        record.datasets.sort(key=lambda d: (d.name, d.digest))
        record.model_inputs = sorted(run.inputs.model_inputs)
        record.model_outputs = {output.model_id: output.step for output in run.outputs.model_outputs}
        return record

    def _metrics_of_models(self, record: RunRecord) -> list[MetricPoint]:
        """The metric points a server keeps on the run's logged models (none for an mlcask store, whose
        run history already carries them)."""
        if not self.server:
            return []
        model_ids = self._models_by_experiment(record.experiment_id).get(record.run_id, [])
        return [p for model_id in model_ids for p in self._model_points(model_id, record.run_id)]

    def _models_by_experiment(self, experiment_id: str) -> dict[str, list[str]]:
        cached = self._models_by_run.get(experiment_id)
        if cached is None:
            cached = defaultdict(list)
            for model in self._search_models(experiment_id):
                if model.source_run_id:
                    cached[model.source_run_id].append(model.model_id)
            self._models_by_run[experiment_id] = cached
        return cached

    def _model_points(self, model_id: str, run_id: str) -> list[MetricPoint]:
        from mlcask.entities.messages import metric_from_message
        from mlcask.tracking.rest.http import server_client

        answer = server_client(self.uri).call("GET", f"/mlflow/logged-models/{urllib.parse.quote(model_id, safe='')}")
        metrics = ((answer.get("model") or {}).get("data") or {}).get("metrics") or []
        points = []
        for message in metrics:
            metric = metric_from_message(message)
            if (metric.run_id or run_id) == run_id:
                points.append(MetricPoint(metric.key, float(metric.value), int(metric.timestamp or 0),
                                          int(metric.step or 0), model_id, metric.dataset_name or None,
                                          metric.dataset_digest or None))
        return points

    # -- logged models ---------------------------------------------------------------------------
    def _search_models(self, experiment_id: str) -> list[LoggedModel]:
        return list(iter_pages(lambda token: self.tracking.search_logged_models(
            [experiment_id], max_results=100, page_token=token)))

    def logged_model_ids(self, experiment_id: str) -> list[str]:
        models = sorted(self._search_models(experiment_id), key=lambda m: (m.creation_timestamp, m.model_id))
        return [m.model_id for m in models]

    def logged_model(self, model_id: str) -> LoggedModelRecord:
        m = self.tracking.get_logged_model(model_id, allow_deleted=True)
        return LoggedModelRecord(m.model_id, str(m.experiment_id), m.name, m.artifact_location, m.creation_timestamp,
                                 m.last_updated_timestamp, m.status, getattr(m, "lifecycle_stage", None)
                                 or LifecycleStage.ACTIVE, m.model_type, m.source_run_id, dict(m.tags),
                                 dict(m.params))

    # -- registry --------------------------------------------------------------------------------
    def registered_models(self) -> Iterator[RegisteredModelRecord]:
        found = list(iter_pages(lambda token: self.registry.search_registered_models(
            max_results=_PAGE, page_token=token)))
        for model in sorted(found, key=lambda m: m.name):
            record = RegisteredModelRecord(model.name, model.creation_timestamp, model.last_updated_timestamp,
                                           model.description or None, dict(model.tags),
                                           {alias: int(version) for alias, version in model.aliases.items()})
            quoted = model.name.replace("'", "\\'")
            versions = iter_pages(lambda token, q=quoted: self.registry.search_model_versions(
                filter_string=f"name='{q}'", max_results=_PAGE, page_token=token))
            record.versions = sorted((VersionRecord(
                int(v.version), v.creation_timestamp, v.last_updated_timestamp, v.description or None, v.user_id or None,
                v.current_stage or "None", v.source, v.run_id or None, v.model_id or None, v.status or "READY",
                getattr(v, "status_message", None) or None, dict(v.tags)) for v in versions), key=lambda v: v.version)
            yield record
