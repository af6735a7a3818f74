"""MLflow 3's logged models over REST, and the artifact downloads of the web UI.

``/api/2.0/mlflow/logged-models`` (create, get, finalize, delete, search, params, tags,
artifact listing) as MLflow 3.17 serves it; ``/ajax-api/2.0/mlflow/logged-models/{id}/
artifacts/files``, ``/get-artifact`` and ``/model-versions/get-artifact`` send one artifact
file (as text or bytes a browser does not run, in a CSP sandbox).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from starlette.responses import Response

from mlcask.entities import LoggedModelStatus
from mlcask.entities.messages import file_info_to_message, logged_model_status_from_message, logged_model_to_message
from mlcask.exceptions import BAD_REQUEST, MlcaskException
from mlcask.server.artifact_roots import repository_for
from mlcask.server.endpoints import AJAX_PREFIX, TAG_FIELDS, Context, Endpoint, F
from mlcask.utils.paths import clean_relative_path

__all__ = ["ENDPOINTS", "routes", "send_artifact"]

LOGGED_MODEL_STATUSES = ("LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                         "LOGGED_MODEL_UPLOAD_FAILED")
MAX_SEARCH_RESULTS = 50000
# Types a browser may show inline; anything else (HTML, SVG, scripts) goes out as text or bytes.
_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/json", "text/plain",
                 "text/csv", "application/pdf"}
_TEXT_SUFFIXES = (".txt", ".log", ".yaml", ".yml", ".json", ".md", ".py", ".csv", ".html", ".htm", ".svg",
                  ".js", ".xml", ".toml", ".cfg", ".ini", "MLmodel")


def _pairs(items: list[dict[str, Any]]) -> dict[str, str]:
    return {item.get("key", ""): item.get("value", "") for item in items}


def _model(ctx: Context, model_id: str) -> dict[str, Any]:
    return {"model": logged_model_to_message(ctx.tracking.get_logged_model(model_id))}


def create_logged_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    model = ctx.tracking.create_logged_model(
        args["experiment_id"], name=args.get("name") or None, source_run_id=args.get("source_run_id") or None,
        tags=_pairs(args.get("tags", [])), params=_pairs(args.get("params", [])),
        model_type=args.get("model_type") or None)
    return {"model": logged_model_to_message(model)}


def get_logged_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _model(ctx, args["model_id"])


def finalize_logged_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    if args["status"] == "LOGGED_MODEL_STATUS_UNSPECIFIED":
        raise MlcaskException("Invalid value 'LOGGED_MODEL_STATUS_UNSPECIFIED' for parameter 'status': a logged "
                              f"model is finalized as {LoggedModelStatus.READY} or {LoggedModelStatus.FAILED}.",
                              "INVALID_PARAMETER_VALUE")
    status = logged_model_status_from_message(args["status"])
    return {"model": logged_model_to_message(ctx.tracking.finalize_logged_model(args["model_id"], status))}


def delete_logged_model(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_logged_model(args["model_id"])


def search_logged_models(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    order_by = [{k: v for k, v in item.items() if v is not None} for item in args.get("order_by", [])]
    page = ctx.tracking.search_logged_models(
        experiment_ids=args.get("experiment_ids", []), filter_string=args.get("filter") or None,
        max_results=args.get("max_results", 50), order_by=order_by or None,
        page_token=args.get("page_token") or None, datasets=args.get("datasets") or None)
    response: dict[str, Any] = {"models": [logged_model_to_message(model) for model in page]}
    if page.token:
        response["next_page_token"] = page.token
    return response


def log_logged_model_params(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.log_logged_model_params(args["model_id"], _pairs(args.get("params", [])))


def set_logged_model_tags(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.set_logged_model_tags(args["model_id"], _pairs(args.get("tags", [])))


def delete_logged_model_tag(ctx: Context, args: dict[str, Any]) -> None:
    ctx.tracking.delete_logged_model_tag(args["model_id"], args["tag_key"])


def list_logged_model_artifacts(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    model = ctx.tracking.get_logged_model(args["model_id"])
    path = args.get("artifact_directory_path") or None
    if path is not None:
        path = clean_relative_path(path)
    files = repository_for(ctx.config, model.artifact_location).list_artifacts(path)
    response: dict[str, Any] = {"root_uri": model.artifact_location}
    if files:
        response["files"] = [file_info_to_message(f) for f in files]
    return response


def send_artifact(ctx: Context, root_uri: str, path: str | None, what: str) -> Response:
    """One artifact file under ``root_uri``, with a type a browser cannot run."""
    if not path:
        raise MlcaskException(f'Request must include the "{what}" query parameter.', BAD_REQUEST)
    path = clean_relative_path(path)
    data = repository_for(ctx.config, root_uri).read_bytes(path)
    guessed = mimetypes.guess_type(path)[0] or ""
    if guessed in _INLINE_TYPES:
        media = guessed
    elif guessed.startswith("text/") or path.endswith(_TEXT_SUFFIXES):
        media = "text/plain"
    else:
        media = "application/octet-stream"
    name = path.rsplit("/", 1)[-1].replace('"', "")
    return Response(data, media_type=media, headers={
        "content-disposition": f'inline; filename="{name}"' if media != "application/octet-stream"
        else f'attachment; filename="{name}"',
        "content-security-policy": "sandbox; default-src 'none'"})


def get_logged_model_artifact(ctx: Context, args: dict[str, Any]) -> Response:
    model = ctx.tracking.get_logged_model(args["model_id"])
    return send_artifact(ctx, model.artifact_location, args.get("artifact_file_path"), "artifact_file_path")


def get_run_artifact(ctx: Context, args: dict[str, Any]) -> Response:
    run_id = args.get("run_id") or args.get("run_uuid")
    if not run_id:
        raise MlcaskException('Request must include the "run_id" query parameter.', BAD_REQUEST)
    run = ctx.tracking.get_run(run_id)
    return send_artifact(ctx, run.info.artifact_uri, args.get("path"), "path")


def get_model_version_artifact(ctx: Context, args: dict[str, Any]) -> Response:
    if not args.get("name") or not args.get("version"):
        raise MlcaskException('Request must include the "name" and "version" query parameters.', BAD_REQUEST)
    root = ctx.registry.get_model_version_download_uri(args["name"], args["version"])
    return send_artifact(ctx, root, args.get("path"), "path")


_MODEL = "/logged-models/{model_id}"
_FILE_RESPONSE = {"type": "string", "format": "binary"}
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/logged-models", create_logged_model, (
        F("experiment_id", "string", required=True), F("name", "string"), F("model_type", "string"),
        F("source_run_id", "string"), F("params", "object", repeated=True, fields=TAG_FIELDS),
        F("tags", "object", repeated=True, fields=TAG_FIELDS)), "Create a logged model (PENDING).",
        "Logged models"),
    Endpoint("GET", _MODEL, get_logged_model, (), "Get a logged model.", "Logged models"),
    Endpoint("PATCH", _MODEL, finalize_logged_model, (
        F("status", "enum", required=True, choices=LOGGED_MODEL_STATUSES),),
        "Finalize a logged model (LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED).", "Logged models"),
    Endpoint("DELETE", _MODEL, delete_logged_model, (), "Delete a logged model.", "Logged models"),
    Endpoint("POST", "/logged-models/search", search_logged_models, (
        F("experiment_ids", "string", repeated=True), F("filter", "string"),
        F("datasets", "object", repeated=True, fields=(F("dataset_name", "string", required=True),
                                                       F("dataset_digest", "string"))),
        F("max_results", "int32", minimum=1, maximum=MAX_SEARCH_RESULTS),
        F("order_by", "object", repeated=True, fields=(
            F("field_name", "string", required=True), F("ascending", "bool"), F("dataset_name", "string"),
            F("dataset_digest", "string"))),
        F("page_token", "string")), "Search logged models.", "Logged models"),
    Endpoint("POST", _MODEL + "/params", log_logged_model_params, (
        F("params", "object", repeated=True, fields=TAG_FIELDS),), "Log params of a logged model.",
        "Logged models"),
    Endpoint("PATCH", _MODEL + "/tags", set_logged_model_tags, (
        F("tags", "object", repeated=True, fields=TAG_FIELDS),), "Set tags on a logged model.", "Logged models"),
    Endpoint("DELETE", _MODEL + "/tags/{tag_key}", delete_logged_model_tag, (),
             "Delete a tag of a logged model.", "Logged models"),
    Endpoint("GET", _MODEL + "/artifacts/directories", list_logged_model_artifacts, (
        F("artifact_directory_path", "string"), F("page_token", "string")),
        "List a logged model's artifacts in a folder.", "Logged models"),
    Endpoint("GET", _MODEL + "/artifacts/files", get_logged_model_artifact, (F("artifact_file_path", "string"),),
             "Download one artifact file of a logged model.", "Logged models", prefix=AJAX_PREFIX, ajax=False,
             response=_FILE_RESPONSE),
    Endpoint("GET", "/get-artifact", get_run_artifact, (
        F("path", "string"), F("run_id", "string"), F("run_uuid", "string")),
        "Download one artifact file of a run.", "Artifacts", prefix="", ajax=False, response=_FILE_RESPONSE),
    Endpoint("GET", "/model-versions/get-artifact", get_model_version_artifact, (
        F("path", "string"), F("name", "string"), F("version", "string")),
        "Download one artifact file of a model version.", "Artifacts", prefix="", ajax=False,
        response=_FILE_RESPONSE),
)


def routes() -> list[Endpoint]:
    """The logged-model endpoints and the web UI's artifact downloads."""
    return list(ENDPOINTS)
