"""The tracking store of a tracking server (``mlcask server`` or ``mlflow server``), over MLflow's REST API.

:class:`RestTrackingStore` implements :class:`mlcask.tracking.protocols.TrackingStore` with the
endpoints, verbs and fields MLflow's own REST store uses (``/api/2.0/mlflow/...``), and returns
what the SQL store returns: entities, and :class:`mlcask.tracking.paging.PagedList` pages whose
``token`` fetches the next page. Entities cross the wire through the one codec,
:mod:`mlcask.entities.messages`. Checks are the server's: its errors come back as
:class:`~mlcask.exceptions.MlcaskException` with its ``error_code`` and message.

``log_batch`` takes any number of metrics, params and tags and sends them in requests
within MLflow's limits (100 params and tags, 1,000 metrics, 1,000 entities each), params
and tags first, as MLflow's client does; a batch split in several requests is not atomic.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

from mlcask.entities import Experiment, ExperimentTag, LoggedModel, Metric, Param, Run, RunInfo, RunTag, ViewType
from mlcask.entities.messages import (
    RUN_STATUSES,
    dataset_input_to_message,
    double_from_json,
    experiment_from_message,
    logged_model_from_message,
    logged_model_status_to_message,
    metric_from_message,
    metric_to_message,
    run_from_message,
    run_info_from_message,
)
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.batches import batch_requests
from mlcask.tracking.metric_sampling import check_step_range, sample_min_max_metrics
from mlcask.tracking.paging import PagedList, check_max_results
from mlcask.tracking.protocols import MetricSummary
from mlcask.tracking.rest.http import ServerStore

__all__ = ["RestTrackingStore"]
LOGGED_MODEL_PARAMS_PER_REQUEST = 100
# What a server answers for a path it does not serve (mlflow server for mlcask's own endpoints).
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
# The most values per run get-history-bulk-interval answers (MLflow's MAX_RESULTS_PER_RUN, mlcask server's too).
BULK_INTERVAL_MAX_RESULTS = 2500
# The header of /version by which an mlcask server tells its own version (mlflow server has none).
MLCASK_VERSION_HEADER = "x-mlcask-version"
_VIEW_TYPES = {ViewType.ACTIVE_ONLY: "ACTIVE_ONLY", ViewType.DELETED_ONLY: "DELETED_ONLY", ViewType.ALL: "ALL"}


def _pairs(items: Any, what: str) -> list[dict[str, str]]:
    """``[{"key", "value"}]`` from a dict or objects with ``key`` and ``value`` (tags, params)."""
    if items is None:
        return []
    if isinstance(items, dict):
        return [{"key": key, "value": value} for key, value in items.items()]
    try:
        return [{"key": item.key, "value": item.value} for item in items]
    except (AttributeError, TypeError):
        raise InvalidArgumentError(f"{what} must be a dict or a list of objects with .key and .value, "
                                   f"got {type(items).__name__}.") from None


def _view_type(view_type: Any) -> str:
    if view_type in _VIEW_TYPES.values():
        return view_type
    try:
        return _VIEW_TYPES[view_type]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"Invalid view type {view_type!r}: expected ViewType.ACTIVE_ONLY (1), "
                                   "DELETED_ONLY (2) or ALL (3).") from None


def _status(status: Any) -> str:
    if isinstance(status, int) and not isinstance(status, bool):
        for name, number in RUN_STATUSES.items():
            if number == status:
                return name
    if isinstance(status, str) and status in RUN_STATUSES:
        return status
    raise InvalidArgumentError(f"Invalid run status {status!r}: it must be one of {', '.join(RUN_STATUSES)}.")


def _metric(metric: Metric) -> dict[str, Any]:
    """A Metric message for log-metric and log-batch (which carry the run id once, not per metric)."""
    message = metric_to_message(metric)
    message.pop("run_id", None)
    return message


def _model_ids(models: Iterable[Any] | None) -> list[str]:
    ids = []
    for model in models or ():
        model_id = getattr(model, "model_id", model)
        if not isinstance(model_id, str):
            raise InvalidArgumentError(f"models must be logged model ids (strings) or objects with model_id, "
                                       f"got {model!r}.")
        ids.append(model_id)
    return ids


def _order_by_clause(item: Any) -> dict[str, Any]:
    """MLflow's ``{"field_name", "ascending", ...}`` from such a dict or a string like ``"metrics.acc DESC"``."""
    if isinstance(item, dict):
        if not isinstance(item.get("field_name"), str):
            raise InvalidArgumentError(f"An order_by dict needs a 'field_name' string, got {item!r}.")
        clause = {"field_name": item["field_name"], "ascending": bool(item.get("ascending", True))}
        for key in ("dataset_name", "dataset_digest"):
            if item.get(key) is not None:
                clause[key] = item[key]
        return clause
    if isinstance(item, str) and item.strip():
        field, _, direction = item.strip().rpartition(" ")
        if direction.upper() in ("ASC", "DESC") and field.strip():
            return {"field_name": field.strip(), "ascending": direction.upper() == "ASC"}
        return {"field_name": item.strip(), "ascending": True}
    raise InvalidArgumentError(f"order_by items must be strings like 'metrics.acc DESC' or dicts with field_name, "
                               f"got {item!r}.")


class RestTrackingStore(ServerStore):
    """Experiments, runs, metrics, params, tags, inputs/outputs and logged models on a tracking server.

    Parameters
    ----------
    base_uri
        The server's URI, ``http(s)://host:port[/prefix]`` (the tracking URI).
    """

    #: The server chooses where experiments keep their artifacts; a client cannot know it.
    artifact_root: str = ""
    #: Whether the server is ``mlcask server`` (None: not asked yet; see _is_mlcask_server).
    _mlcask_server: bool | None = None

    # -- experiments -----------------------------------------------------------------------------
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[ExperimentTag] | None = None) -> str:
        answer = self._call("POST", "/mlflow/experiments/create", {
            "name": name, "artifact_location": artifact_location or None,
            "tags": _pairs(tags, "Experiment tags")})
        return str(answer.get("experiment_id", ""))

    def get_experiment(self, experiment_id: str) -> Experiment:
        answer = self._call("GET", "/mlflow/experiments/get", {"experiment_id": str(experiment_id)})
        return experiment_from_message(answer.get("experiment") or {})

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            answer = self._call("GET", "/mlflow/experiments/get-by-name", {"experiment_name": name})
        except MlcaskException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                return None
            raise
        return experiment_from_message(answer.get("experiment") or {})

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           page_token: str | None = None) -> PagedList[Experiment]:
        answer = self._call("POST", "/mlflow/experiments/search", {
            "max_results": max_results, "page_token": page_token or None, "filter": filter_string or None,
            "order_by": list(order_by or []), "view_type": _view_type(view_type)}, idempotent=True)
        return PagedList([experiment_from_message(item) for item in answer.get("experiments") or []],
                         answer.get("next_page_token") or None)

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("POST", "/mlflow/experiments/delete", {"experiment_id": str(experiment_id)}, idempotent=True)

    def restore_experiment(self, experiment_id: str) -> None:
        self._call("POST", "/mlflow/experiments/restore", {"experiment_id": str(experiment_id)}, idempotent=True)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._call("POST", "/mlflow/experiments/update", {"experiment_id": str(experiment_id), "new_name": new_name},
                   idempotent=True)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        self._call("POST", "/mlflow/experiments/set-experiment-tag",
                   {"experiment_id": str(experiment_id), "key": tag.key, "value": tag.value}, idempotent=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._call("POST", "/mlflow/experiments/delete-experiment-tag",
                   {"experiment_id": str(experiment_id), "key": key}, idempotent=True)

    # -- runs ------------------------------------------------------------------------------------
    def create_run(self, experiment_id: str, user_id: str | None, start_time: int | None,
                   tags: Sequence[RunTag] | dict[str, str] | None, run_name: str | None) -> Run:
        answer = self._call("POST", "/mlflow/runs/create", {
            "experiment_id": None if experiment_id is None else str(experiment_id), "user_id": user_id,
            "run_name": run_name or None, "start_time": start_time, "tags": _pairs(tags, "Run tags")})
        return run_from_message(answer.get("run") or {})

    def get_run(self, run_id: str) -> Run:
        answer = self._call("GET", "/mlflow/runs/get", {"run_id": run_id})
        return run_from_message(answer.get("run") or {})

    def update_run_info(self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None) -> RunInfo:
        answer = self._call("POST", "/mlflow/runs/update", {
            "run_id": run_id, "run_uuid": run_id, "status": None if run_status is None else _status(run_status),
            "end_time": end_time, "run_name": run_name or None}, idempotent=True)
        return run_info_from_message(answer.get("run_info") or {})

    def delete_run(self, run_id: str) -> None:
        self._call("POST", "/mlflow/runs/delete", {"run_id": run_id}, idempotent=True)

    def restore_run(self, run_id: str) -> None:
        self._call("POST", "/mlflow/runs/restore", {"run_id": run_id}, idempotent=True)

    def search_runs(self, experiment_ids: list[str], filter_string: str = "", run_view_type: int = ViewType.ACTIVE_ONLY,
                    max_results: int = 1000, order_by: list[str] | None = None,
                    page_token: str | None = None) -> PagedList[Run]:
        if not isinstance(experiment_ids, (list, tuple)):
            raise InvalidArgumentError(f"experiment_ids must be a list, got {type(experiment_ids).__name__}. Did you "
                                       f"mean experiment_ids=[{experiment_ids!r}]?")
        answer = self._call("POST", "/mlflow/runs/search", {
            "experiment_ids": [str(e) for e in experiment_ids], "filter": filter_string or None,
            "run_view_type": _view_type(run_view_type), "max_results": max_results,
            "order_by": list(order_by or []), "page_token": page_token or None}, idempotent=True)
        return PagedList([run_from_message(item) for item in answer.get("runs") or []],
                         answer.get("next_page_token") or None)

    # -- logging ---------------------------------------------------------------------------------
    def log_metric(self, run_id: str, metric: Metric) -> None:
        self._call("POST", "/mlflow/runs/log-metric", {"run_id": run_id, "run_uuid": run_id, **_metric(metric)})

    def log_param(self, run_id: str, param: Param) -> None:
        self._call("POST", "/mlflow/runs/log-parameter",
                   {"run_id": run_id, "run_uuid": run_id, "key": param.key, "value": param.value}, idempotent=True)

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self._call("POST", "/mlflow/runs/set-tag",
                   {"run_id": run_id, "run_uuid": run_id, "key": tag.key, "value": tag.value}, idempotent=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("POST", "/mlflow/runs/delete-tag", {"run_id": run_id, "key": key})

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = ()) -> None:
        for metric_chunk, param_chunk, tag_chunk in batch_requests(metrics or (), params or (), tags or ()):
            self._call("POST", "/mlflow/runs/log-batch", {
                "run_id": run_id, "metrics": [_metric(m) for m in metric_chunk],
                "params": [{"key": p.key, "value": p.value} for p in param_chunk],
                "tags": [{"key": t.key, "value": t.value} for t in tag_chunk]})

    def get_metric_history(self, run_id: str, metric_key: str, max_results: int | None = None,
                           page_token: str | None = None) -> PagedList[Metric]:
        """One page (with ``max_results``), else every value logged for ``metric_key``, page after page."""
        found: list[Metric] = []
        token = page_token
        while True:
            answer = self._call("GET", "/mlflow/metrics/get-history", {
                "run_id": run_id, "run_uuid": run_id, "metric_key": metric_key, "max_results": max_results,
                "page_token": token or None})
            found.extend(metric_from_message(item) for item in answer.get("metrics") or [])
            token = answer.get("next_page_token") or None
            if max_results is not None or token is None:
                return PagedList([_with_run(m, run_id) for m in found], token)

    def get_metric_summaries(self, run_id: str) -> list[MetricSummary]:
        """mlcask's ``/api/2.0/mlcask/runs/metric-summaries``; from a server without it (``mlflow server``
        answers 404 ENDPOINT_NOT_FOUND), worked out from each key's full history."""
        try:
            answer = self._call("GET", "/mlcask/runs/metric-summaries", {"run_id": run_id})
        except MlcaskException as exc:
            if exc.error_code != ENDPOINT_NOT_FOUND:
                raise
            return self._summaries_from_history(run_id)
        return [_summary_from_message(item) for item in answer.get("metrics") or []]

    def _summaries_from_history(self, run_id: str) -> list[MetricSummary]:
        summaries = []
        for key in sorted(self.get_run(run_id).data.metrics):
            history = list(self.get_metric_history(run_id, key))
            if not history:
                continue
            latest = max(history, key=lambda m: (m.step, m.timestamp, m.value))
            real = [m.value for m in history if m.value == m.value]
            summaries.append(MetricSummary(key, latest.value, latest.step, latest.timestamp,
                                           min(real) if real else None, max(real) if real else None, len(history)))
        return summaries

    def get_metric_history_extremes(self, run_id: str, metric_key: str, max_results: int,
                                    start_step: int | None = None, end_step: int | None = None) -> list[Metric]:
        """From an mlcask server, ``metrics/get-history-bulk-interval`` with ``sampling=min_max`` for the
        one run (the server scans the history). ``mlflow server`` ignores that field and answers its own
        sampling (each bucket's first value), so from a server that is not mlcask, and for more values than
        the endpoint answers (2,500), the full history is fetched and sampled here."""
        check_max_results(max_results, 2**31 - 1)
        check_step_range(start_step, end_step)
        if max_results <= BULK_INTERVAL_MAX_RESULTS and self._is_mlcask_server():
            answer = self._call("GET", "/mlflow/metrics/get-history-bulk-interval", {
                "run_ids": [run_id], "metric_key": metric_key, "max_results": max_results,
                "start_step": start_step, "end_step": end_step, "sampling": "min_max"})
            return [_with_run(metric_from_message(item), run_id) for item in answer.get("metrics") or []]
        history = self.get_metric_history(run_id, metric_key)
        if not history:
            self.get_run(run_id)  # mlflow server answers an unknown run's history empty: RESOURCE_DOES_NOT_EXIST here
        return sample_min_max_metrics(history, run_id, metric_key, max_results, start_step, end_step)

    def _is_mlcask_server(self) -> bool:
        """Whether the server is ``mlcask server``: its ``/version`` (public on both servers) carries the
        ``x-mlcask-version`` header. Asked once per store."""
        known = self._mlcask_server
        if known is None:
            response = self._client.send("GET", "/version")
            known = self._mlcask_server = bool(response.headers.get(MLCASK_VERSION_HEADER))
        return known

    def log_inputs(self, run_id: str, datasets: list[Any] | None = None, models: list[Any] | None = None) -> None:
        if datasets is not None and not isinstance(datasets, list):
            raise InvalidArgumentError(f"datasets must be a list of DatasetInput, got {type(datasets).__name__}.")
        self._call("POST", "/mlflow/runs/log-inputs", {
            "run_id": run_id, "datasets": [dataset_input_to_message(d) for d in datasets or []],
            "models": [{"model_id": model_id} for model_id in _model_ids(models)]}, idempotent=True)

    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        self._call("POST", "/mlflow/runs/outputs", {
            "run_id": run_id,
            "models": [{"model_id": model_id, "step": int(getattr(model, "step", 0) or 0)}
                       for model, model_id in zip(models or [], _model_ids(models))]}, idempotent=True)

    def link_model_metrics(self, model_id: str, run_id: str, step: int) -> None:
        """MLflow's client protocol: the run's values at ``step`` logged again, carrying the model's
        id (a server's store links an exact value to the model rather than copying it)."""
        metrics = [Metric(m.key, m.value, m.timestamp, m.step, model_id, m.dataset_name, m.dataset_digest)
                   for key in sorted(self.get_run(run_id).data.metrics)
                   for m in self.get_metric_history(run_id, key) if m.step == step and m.model_id != model_id]
        if metrics:
            self.log_batch(run_id, metrics=metrics)

    # -- logged models ---------------------------------------------------------------------------
    @staticmethod
    def _model_endpoint(model_id: str) -> str:
        if not isinstance(model_id, str) or not model_id:
            raise InvalidArgumentError(f"A logged model id must be a non-empty string, got {model_id!r}.")
        return f"/mlflow/logged-models/{urllib.parse.quote(model_id, safe='')}"

    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: Any = None, params: Any = None, model_type: str | None = None) -> LoggedModel:
        param_list = _pairs(params, "Logged model params")
        first, rest = param_list[:LOGGED_MODEL_PARAMS_PER_REQUEST], param_list[LOGGED_MODEL_PARAMS_PER_REQUEST:]
        answer = self._call("POST", "/mlflow/logged-models", {
            "experiment_id": str(experiment_id), "name": name, "model_type": model_type,
            "source_run_id": source_run_id, "params": first, "tags": _pairs(tags, "Logged model tags")})
        model = logged_model_from_message(answer.get("model") or {})
        if rest:
            self._log_model_params(model.model_id, rest)
            model = self.get_logged_model(model.model_id)
        return model

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        answer = self._call("GET", self._model_endpoint(model_id), {"allow_deleted": True if allow_deleted else None})
        return logged_model_from_message(answer.get("model") or {})

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        name = getattr(status, "name", status)  # MLflow's enum, or a name
        answer = self._call("PATCH", self._model_endpoint(model_id), {
            "model_id": model_id, "status": logged_model_status_to_message(name)}, idempotent=True)
        return logged_model_from_message(answer.get("model") or {})

    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        self._call("PATCH", f"{self._model_endpoint(model_id)}/tags",
                   {"model_id": model_id, "tags": _pairs(tags, "Logged model tags")}, idempotent=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._call("DELETE", f"{self._model_endpoint(model_id)}/tags/{urllib.parse.quote(str(key), safe='')}")

    def delete_logged_model(self, model_id: str) -> None:
        self._call("DELETE", self._model_endpoint(model_id), {"model_id": model_id})

    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        self._log_model_params(model_id, _pairs(params, "Logged model params"))

    def _log_model_params(self, model_id: str, params: list[dict[str, str]]) -> None:
        endpoint = f"{self._model_endpoint(model_id)}/params"
        for start in range(0, len(params), LOGGED_MODEL_PARAMS_PER_REQUEST):
            self._call("POST", endpoint, {"model_id": model_id,
                                          "params": params[start:start + LOGGED_MODEL_PARAMS_PER_REQUEST]},
                       idempotent=True)

    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             max_results: int = 100, order_by: list[Any] | None = None,
                             page_token: str | None = None,
                             datasets: list[dict[str, Any]] | None = None) -> PagedList[LoggedModel]:
        if not isinstance(experiment_ids, (list, tuple)):
            raise InvalidArgumentError(f"experiment_ids must be a list, got {type(experiment_ids).__name__}.")
        for dataset in datasets or []:
            if not isinstance(dataset, dict) or not isinstance(dataset.get("dataset_name"), str):
                raise InvalidArgumentError(f"datasets items must be dicts with a 'dataset_name', got {dataset!r}.")
        answer = self._call("POST", "/mlflow/logged-models/search", {
            "experiment_ids": [str(e) for e in experiment_ids], "filter": filter_string or None,
            "datasets": [{k: d[k] for k in ("dataset_name", "dataset_digest") if d.get(k) is not None}
                         for d in datasets or []],
            "max_results": max_results, "order_by": [_order_by_clause(item) for item in order_by or []],
            "page_token": page_token or None}, idempotent=True)
        return PagedList([logged_model_from_message(item) for item in answer.get("models") or []],
                         answer.get("next_page_token") or None)


def _summary_from_message(message: dict[str, Any]) -> MetricSummary:
    """A MetricSummary from one item of metric-summaries' ``metrics`` (see mlcask.server.run_views_api)."""
    low, high = message.get("min"), message.get("max")
    return MetricSummary(
        key=str(message.get("key", "")), value=double_from_json(message.get("value", 0.0), "metrics.value"),
        step=int(message.get("step") or 0), timestamp=int(message.get("timestamp") or 0),
        min=None if low is None else double_from_json(low, "metrics.min"),
        max=None if high is None else double_from_json(high, "metrics.max"), count=int(message.get("count") or 0))


def _with_run(metric: Metric, run_id: str) -> Metric:
    if metric.run_id:
        return metric
    return Metric(metric.key, metric.value, metric.timestamp, metric.step, metric.model_id, metric.dataset_name,
                  metric.dataset_digest, run_id)
