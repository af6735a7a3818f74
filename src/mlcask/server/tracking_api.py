"""MLflow's tracking REST API: experiments, runs, metrics, artifacts listing.

Paths, verbs, request fields and response shapes are those of MLflow 3.x
(``mlflow/protos/service.proto``); messages go through :mod:`mlcask.entities.messages`.
Logged models are in :mod:`mlcask.server.logged_models_api`.
"""

from __future__ import annotations

import json
from typing import Any

from mlcask.entities import DatasetInput, ExperimentTag, LoggedModelOutput, Metric, Param, RunTag, ViewType
from mlcask.entities.messages import (
    dataset_input_from_message,
    experiment_to_message,
    file_info_to_message,
    metric_to_message,
    run_info_to_message,
    run_to_message,
)
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.server.artifact_roots import check_artifact_location, repository_for
from mlcask.server.endpoints import AJAX_PREFIX, TAG_FIELDS, Context, Endpoint, F
from mlcask.server.sampling import sample_history
from mlcask.tracking.metric_sampling import check_step_range
from mlcask.tracking.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_RESULTS_THRESHOLD,
    validate_batch_limits,
)
from mlcask.utils.mlflow_tags import MLFLOW_LOGGED_MODELS
from mlcask.utils.paths import clean_relative_path

__all__ = ["ENDPOINTS", "routes"]

VIEW_TYPES = ("VIEW_TYPE_UNSPECIFIED", "ACTIVE_ONLY", "DELETED_ONLY", "ALL")
RUN_STATUSES = ("RUN_STATUS_UNSPECIFIED", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_RUNS_GET_METRIC_HISTORY_BULK = 100
MAX_RESULTS_PER_RUN = 2500
#: get-history-bulk-interval's sampling: MLflow's (each bucket's first value) or mlcask's min_max.
SAMPLINGS = ("first", "min_max")
MAX_RESULTS_GET_METRIC_HISTORY = 25000
LOG_MODEL_HISTORY_TAG = MLFLOW_LOGGED_MODELS

METRIC_FIELDS = (F("key", "string", required=True), F("value", "double", required=True),
                 F("timestamp", "int64", required=True), F("step", "int64", default=0), F("model_id", "string"),
                 F("dataset_name", "string"), F("dataset_digest", "string"))
DATASET_FIELDS = (F("name", "string", required=True), F("digest", "string", required=True),
                  F("source_type", "string", required=True), F("source", "string", required=True),
                  F("schema", "string"), F("profile", "string"))
DATASET_INPUT_FIELDS = (F("tags", "object", repeated=True, fields=TAG_FIELDS),
                        F("dataset", "object", required=True, fields=DATASET_FIELDS))


def _view_type(name: str | None) -> int:
    return {"DELETED_ONLY": ViewType.DELETED_ONLY, "ALL": ViewType.ALL}.get(name or "", ViewType.ACTIVE_ONLY)


def _run_id(args: dict[str, Any]) -> str:
    """``run_id``, or the older ``run_uuid`` MLflow's client also sends; one of them is required."""
    run_id = args.get("run_id") or args.get("run_uuid")
    if not run_id:
        raise InvalidArgumentError("Missing value for required parameter 'run_id': expected a string (the run's id).")
    return run_id


def _not_found(message: str) -> MlcaskException:
    return MlcaskException(message, RESOURCE_DOES_NOT_EXIST)


# -- experiments -----------------------------------------------------------------------------------------------------

def create_experiment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    location = args.get("artifact_location") or None
    if location is not None:
        location = check_artifact_location(ctx.config, location)
    tags = [ExperimentTag(t.get("key", ""), t.get("value", "")) for t in args.get("tags", ())]
    return {"experiment_id": ctx.tracking.create_experiment(args["name"], location, tags)}


def get_experiment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": experiment_to_message(ctx.tracking.get_experiment(args["experiment_id"]))}


def get_experiment_by_name(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    experiment = ctx.tracking.get_experiment_by_name(args["experiment_name"])
    if experiment is None:
        raise _not_found(f"Could not find experiment with name '{args['experiment_name']}'")
    return {"experiment": experiment_to_message(experiment)}


def search_experiments(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    page = ctx.tracking.search_experiments(
        view_type=_view_type(args.get("view_type")), max_results=args.get("max_results", 1000),
        filter_string=args.get("filter") or None, order_by=args.get("order_by") or None,
        page_token=args.get("page_token") or None)
    response: dict[str, Any] = {"experiments": [experiment_to_message(e) for e in page]}
    if page.token:
        response["next_page_token"] = page.token
    return response


def update_experiment(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.rename_experiment(args["experiment_id"], args["new_name"])


def delete_experiment(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_experiment(args["experiment_id"])


def restore_experiment(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.restore_experiment(args["experiment_id"])


def set_experiment_tag(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.set_experiment_tag(args["experiment_id"], ExperimentTag(args["key"], args.get("value", "")))


def delete_experiment_tag(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_experiment_tag(args["experiment_id"], args["key"])


# -- runs ------------------------------------------------------------------------------------------------------------

def create_run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    tags = [RunTag(t.get("key", ""), t.get("value", "")) for t in args.get("tags", ())]
    run = ctx.tracking.create_run(experiment_id=args.get("experiment_id") or "0", user_id=args.get("user_id"),
                                  start_time=args.get("start_time"), tags=tags, run_name=args.get("run_name"))
    return {"run": run_to_message(run)}


def get_run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"run": run_to_message(ctx.tracking.get_run(_run_id(args)))}


def update_run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    status = args.get("status")
    status = None if status in (None, "RUN_STATUS_UNSPECIFIED") else status
    info = ctx.tracking.update_run_info(_run_id(args), status, args.get("end_time"), args.get("run_name") or None)
    return {"run_info": run_info_to_message(info)}


def delete_run(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_run(args["run_id"])


def restore_run(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.restore_run(args["run_id"])


def search_runs(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    page = ctx.tracking.search_runs(
        experiment_ids=args.get("experiment_ids", []), filter_string=args.get("filter") or "",
        run_view_type=_view_type(args.get("run_view_type")), max_results=args.get("max_results", 1000),
        order_by=args.get("order_by") or None, page_token=args.get("page_token") or None)
    response: dict[str, Any] = {"runs": [run_to_message(run) for run in page]}
    if page.token:
        response["next_page_token"] = page.token
    return response


def _metric(args: dict[str, Any], run_id: str | None = None) -> Metric:
    return Metric(key=args["key"], value=args["value"], timestamp=args["timestamp"], step=args.get("step", 0),
                  model_id=args.get("model_id") or None, dataset_name=args.get("dataset_name") or None,
                  dataset_digest=args.get("dataset_digest") or None, run_id=run_id)


def log_metric(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.log_metric(_run_id(args), _metric(args))


def log_param(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.log_param(_run_id(args), Param(args["key"], args.get("value", "")))


def set_tag(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.set_tag(_run_id(args), RunTag(args["key"], args.get("value", "")))


def delete_tag(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_tag(args["run_id"], args["key"])


def log_batch(ctx: Context, args: dict[str, Any]) -> None:
    metrics, params, tags = args.get("metrics", []), args.get("params", []), args.get("tags", [])
    validate_batch_limits(len(metrics), len(params), len(tags))
    ctx.tracking.log_batch(_run_id(args), metrics=[_metric(m) for m in metrics],
                           params=[Param(p.get("key", ""), p.get("value", "")) for p in params],
                           tags=[RunTag(t.get("key", ""), t.get("value", "")) for t in tags])


def log_inputs(ctx: Context, args: dict[str, Any]) -> None:
    datasets: list[DatasetInput] = [dataset_input_from_message(d, f"datasets[{i}]")
                                    for i, d in enumerate(args.get("datasets", []))]
    models = [m["model_id"] for m in args.get("models", []) if m.get("model_id")]
    ctx.tracking.log_inputs(args["run_id"], datasets=datasets, models=models)


def log_outputs(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.log_outputs(args["run_id"], [LoggedModelOutput(m["model_id"], int(m.get("step") or 0))
                                              for m in args.get("models", []) if m.get("model_id")])


def log_model(ctx: Context, args: dict[str, Any]) -> None:
    """MLflow 2's model history: the model's JSON appended to the run's ``mlflow.log-model.history`` tag."""
    run_id = _run_id(args)
    try:
        model = json.loads(args.get("model_json") or "")
    except ValueError:
        raise InvalidArgumentError("Invalid value for parameter 'model_json': expected a JSON object.") from None
    if not isinstance(model, dict):
        raise InvalidArgumentError("Invalid value for parameter 'model_json': expected a JSON object.")
    history = ctx.tracking.get_run(run_id).data.tags.get(LOG_MODEL_HISTORY_TAG)
    models = json.loads(history) if history else []
    models.append(model)
    ctx.tracking.set_tag(run_id, RunTag(LOG_MODEL_HISTORY_TAG, json.dumps(models)))


# -- metrics ---------------------------------------------------------------------------------------------------------

def get_metric_history(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    max_results = args.get("max_results")
    page = ctx.tracking.get_metric_history(_run_id(args), args["metric_key"], max_results=max_results,
                                           page_token=args.get("page_token") or None)
    response: dict[str, Any] = {"metrics": [metric_to_message(_without_run_id(m)) for m in page]}
    if page.token:
        response["next_page_token"] = page.token
    return response


def _without_run_id(metric: Metric) -> Metric:
    if metric.run_id is None:
        return metric
    return Metric(metric.key, metric.value, metric.timestamp, metric.step, metric.model_id, metric.dataset_name,
                  metric.dataset_digest)


def get_metric_history_bulk_interval(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """A metric's history in several runs, sampled to at most ``max_results`` values per run.

    By default as MLflow 3.17 samples (the first value of each of ``max_results`` equal buckets, and
    the last value). mlcask's ``sampling=min_max`` keeps, in each of ``(max_results - 2) // 2`` equal
    step ranges, the values with the smallest and the largest value, and the range's first and last
    values: spikes survive, and a chart drawn from it has the envelope of the full history.
    """
    start, end = args.get("start_step"), args.get("end_step")
    check_step_range(start, end)
    max_results, key = args.get("max_results", MAX_RESULTS_PER_RUN), args["metric_key"]
    metrics: list[dict[str, Any]] = []
    for run_id in args["run_ids"]:
        if args.get("sampling") == "min_max":
            sampled = ctx.tracking.get_metric_history_extremes(run_id, key, max_results, start, end)
        else:
            sampled = [Metric(m.key, m.value, m.timestamp, m.step, run_id=run_id) for m in
                       sample_history(list(ctx.tracking.get_metric_history(run_id, key)), max_results, start, end)]
        metrics.extend(metric_to_message(metric) for metric in sampled)
    return {"metrics": metrics}


def get_metric_history_bulk(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """The web UI's older bulk history: each run's values (at most max_results), by timestamp then step."""
    run_ids = args.get("run_id") or []
    if not run_ids:
        raise InvalidArgumentError("GetMetricHistoryBulk request must specify at least one run_id.")
    max_results = min(args.get("max_results", MAX_RESULTS_GET_METRIC_HISTORY), MAX_RESULTS_GET_METRIC_HISTORY)
    metrics: list[dict[str, Any]] = []
    for run_id in sorted(run_ids):
        history = ctx.tracking.get_metric_history(run_id, args["metric_key"], max_results=max_results)
        for m in sorted(history, key=lambda m: (m.timestamp, m.step, m.value)):
            metrics.append(metric_to_message(Metric(m.key, m.value, m.timestamp, m.step, run_id=run_id)))
    return {"metrics": metrics}


# -- artifacts -------------------------------------------------------------------------------------------------------

def list_artifacts(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    run = ctx.tracking.get_run(_run_id(args))
    path = args.get("path") or None
    if path is not None:
        path = clean_relative_path(path)
    root = run.info.artifact_uri
    files = repository_for(ctx.config, root).list_artifacts(path)
    response: dict[str, Any] = {"root_uri": root}
    if files:
        response["files"] = [file_info_to_message(f) for f in files]
    return response


def _run_id_fields(required: bool = False) -> tuple[F, ...]:
    return (F("run_id", "string", required=required), F("run_uuid", "string"))


_TAGS = F("tags", "object", repeated=True, fields=TAG_FIELDS)
_PAGE = F("page_token", "string")
ENDPOINTS: tuple[Endpoint, ...] = (
    # experiments
    Endpoint("POST", "/experiments/create", create_experiment, (
        F("name", "string", required=True), F("artifact_location", "string"), _TAGS),
        "Create an experiment; its artifact_location must lie under one of the server's artifact roots."),
    Endpoint("GET", "/experiments/get", get_experiment, (F("experiment_id", "string", required=True),),
             "Get an experiment by id."),
    Endpoint("GET", "/experiments/get-by-name", get_experiment_by_name,
             (F("experiment_name", "string", required=True),), "Get an experiment by name."),
    *(Endpoint(method, "/experiments/search", search_experiments, (
        F("max_results", "int64", minimum=1, maximum=MAX_RESULTS_THRESHOLD), _PAGE, F("filter", "string"),
        F("order_by", "string", repeated=True), F("view_type", "enum", choices=VIEW_TYPES)),
        "Search experiments.") for method in ("GET", "POST")),
    Endpoint("POST", "/experiments/update", update_experiment, (
        F("experiment_id", "string", required=True), F("new_name", "string", required=True)),
        "Rename an experiment."),
    Endpoint("POST", "/experiments/delete", delete_experiment, (F("experiment_id", "string", required=True),),
             "Mark an experiment (and its runs) deleted."),
    Endpoint("POST", "/experiments/restore", restore_experiment, (F("experiment_id", "string", required=True),),
             "Restore a deleted experiment."),
    Endpoint("POST", "/experiments/set-experiment-tag", set_experiment_tag, (
        F("experiment_id", "string", required=True), F("key", "string", required=True), F("value", "string")),
        "Set a tag on an experiment."),
    Endpoint("POST", "/experiments/delete-experiment-tag", delete_experiment_tag, (
        F("experiment_id", "string", required=True), F("key", "string", required=True)),
        "Delete a tag of an experiment."),
    # runs
    Endpoint("POST", "/runs/create", create_run, (
        F("experiment_id", "string"), F("user_id", "string"), F("run_name", "string"),
        F("start_time", "int64"), _TAGS), "Create a run."),
    Endpoint("GET", "/runs/get", get_run, _run_id_fields(), "Get a run."),
    Endpoint("POST", "/runs/update", update_run, (
        *_run_id_fields(), F("status", "enum", choices=RUN_STATUSES), F("end_time", "int64"),
        F("run_name", "string")), "Update a run's status, end time or name."),
    Endpoint("POST", "/runs/delete", delete_run, (F("run_id", "string", required=True),), "Mark a run deleted."),
    Endpoint("POST", "/runs/restore", restore_run, (F("run_id", "string", required=True),),
             "Restore a deleted run."),
    Endpoint("POST", "/runs/search", search_runs, (
        F("experiment_ids", "string", repeated=True), F("filter", "string"),
        F("run_view_type", "enum", choices=VIEW_TYPES),
        F("max_results", "int32", minimum=1, maximum=MAX_RESULTS_THRESHOLD),
        F("order_by", "string", repeated=True), _PAGE), "Search runs."),
    Endpoint("POST", "/runs/log-metric", log_metric, (*_run_id_fields(), *METRIC_FIELDS), "Log a metric."),
    Endpoint("POST", "/runs/log-parameter", log_param, (
        *_run_id_fields(), F("key", "string", required=True), F("value", "string")), "Log a param."),
    Endpoint("POST", "/runs/set-tag", set_tag, (
        *_run_id_fields(), F("key", "string", required=True), F("value", "string")), "Set a tag on a run."),
    Endpoint("POST", "/runs/delete-tag", delete_tag, (
        F("run_id", "string", required=True), F("key", "string", required=True)), "Delete a tag of a run."),
    Endpoint("POST", "/runs/log-batch", log_batch, (
        F("run_id", "string"),
        F("metrics", "object", repeated=True, fields=METRIC_FIELDS, max_items=MAX_METRICS_PER_BATCH),
        F("params", "object", repeated=True, fields=TAG_FIELDS, max_items=MAX_PARAMS_TAGS_PER_BATCH),
        F("tags", "object", repeated=True, fields=TAG_FIELDS, max_items=MAX_PARAMS_TAGS_PER_BATCH)),
        f"Log metrics, params and tags at once (at most {MAX_METRICS_PER_BATCH} metrics, "
        f"{MAX_PARAMS_TAGS_PER_BATCH} params, {MAX_PARAMS_TAGS_PER_BATCH} tags, {MAX_ENTITIES_PER_BATCH} in all)."),
    Endpoint("POST", "/runs/log-model", log_model, (F("run_id", "string"), F("model_json", "string")),
             "Record a model in the run's mlflow.log-model.history tag (MLflow 2's model history)."),
    Endpoint("POST", "/runs/log-inputs", log_inputs, (
        F("run_id", "string", required=True), F("datasets", "object", repeated=True, fields=DATASET_INPUT_FIELDS),
        F("models", "object", repeated=True, fields=(F("model_id", "string"),))), "Log a run's inputs."),
    Endpoint("POST", "/runs/outputs", log_outputs, (
        F("run_id", "string", required=True),
        F("models", "object", repeated=True, fields=(F("model_id", "string"), F("step", "int64")))),
        "Log a run's outputs (logged models)."),
    # metrics
    Endpoint("GET", "/metrics/get-history", get_metric_history, (
        *_run_id_fields(), F("metric_key", "string", required=True), _PAGE,
        F("max_results", "int32", minimum=1, maximum=MAX_RESULTS_GET_METRIC_HISTORY)),
        "The values logged for a metric, in pages."),
    Endpoint("GET", "/metrics/get-history-bulk-interval", get_metric_history_bulk_interval, (
        F("run_ids", "string", repeated=True, required=True, max_items=MAX_RUNS_GET_METRIC_HISTORY_BULK),
        F("metric_key", "string", required=True), F("start_step", "int32"), F("end_step", "int32"),
        F("max_results", "int32", minimum=1, maximum=MAX_RESULTS_PER_RUN),
        F("sampling", "enum", choices=SAMPLINGS)),
        "A metric's history in several runs, sampled to at most max_results values per run: by default as "
        "MLflow does (each bucket's first value, and the last); with mlcask's sampling=min_max, each step "
        "bucket's smallest and largest values and the range's first and last, so spikes survive."),
    Endpoint("GET", "/metrics/get-history-bulk", get_metric_history_bulk, (
        F("run_id", "string", repeated=True, max_items=MAX_RUNS_GET_METRIC_HISTORY_BULK),
        F("metric_key", "string", required=True), F("max_results", "int32", minimum=1)),
        "The web UI's bulk metric history of several runs.", prefix=AJAX_PREFIX, ajax=False),
    # artifacts
    Endpoint("GET", "/artifacts/list", list_artifacts, (*_run_id_fields(), F("path", "string"), _PAGE),
             "List a run's artifacts in a folder."),
)


def routes() -> list[Endpoint]:
    """The tracking API's endpoints."""
    return list(ENDPOINTS)
