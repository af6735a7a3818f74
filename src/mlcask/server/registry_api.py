"""The model registry half of MLflow's REST API: registered models, versions, tags, aliases.

Every endpoint of MLflow 3.17's ``ModelRegistryService`` (``model_registry.proto``) with
MLflow's path, verb, request fields, limits and response shape, answered from the
server's :class:`~mlcask.tracking.protocols.RegistryStore`. The routing machinery
validates each request against the fields declared here (so a missing or mistyped
field is a 400 naming it, before a handler runs), mounts the ``/ajax-api/2.0`` twin of
every path and lists them in the server's OpenAPI document.

Handlers take the request's :class:`~mlcask.server.endpoints.Context` (the stores) and
its validated ``args`` and return the response message as a dict; store refusals
(:class:`~mlcask.exceptions.MlcaskException`) become MLflow's error bodies
(``RESOURCE_DOES_NOT_EXIST`` is a 404, ``INVALID_PARAMETER_VALUE`` and
``RESOURCE_ALREADY_EXISTS`` are 400s).

Beyond the store's own checks, ``model-versions/create`` applies the rule MLflow's
server applies to a version's source (CVE-2023-1177, CVE-2023-2780): a source the
server could read on a caller's behalf (a local path, a ``file:`` URI, an
``mlflow-artifacts:`` URI or the artifact proxy's URL) must lie inside the artifacts of
the run named by ``run_id``, or of the logged model named by ``model_id``; a
``runs:/`` source must be the run given as ``run_id``; a ``models:/<model_id>`` source
must be the logged model given as ``model_id``; a ``models:/<name>/<version>``
source (a copy) is normalised to the version it points at, inheriting its run and
logged model; and a source whose scheme connects to the host it names (``http(s)``,
``ftp``, ``mlflow-artifacts://host``, ...) must name the host of the server's own
artifact storage (GHSA-mr9f-g8qf-4w4j).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from mlcask.entities import ModelVersionTag, RegisteredModelTag
from mlcask.entities.messages import model_version_to_message, registered_model_to_message
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.server.endpoints import TAG_FIELDS, Context, Endpoint, F
from mlcask.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

__all__ = ["ENDPOINTS", "routes"]

#: The logged-model tag listing the model versions registered from it (MLflow's name).
MODEL_VERSIONS_TAG = MLFLOW_MODEL_VERSIONS
MAX_RESULTS_REGISTERED_MODELS = 1000
MAX_RESULTS_MODEL_VERSIONS = 200_000

Args = dict[str, Any]


def _tags(args: Args, cls: type) -> list[Any]:
    return [cls(key=tag.get("key"), value=tag.get("value")) for tag in args.get("tags") or ()]


def _page(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {key: items}
    if token:
        answer["next_page_token"] = token
    return answer


# -- registered models ------------------------------------------------------------------------
def create_registered_model(ctx: Context, args: Args) -> dict[str, Any]:
    model = ctx.registry.create_registered_model(
        args["name"], tags=_tags(args, RegisteredModelTag), description=args.get("description"))
    return {"registered_model": registered_model_to_message(model)}


def get_registered_model(ctx: Context, args: Args) -> dict[str, Any]:
    return {"registered_model": registered_model_to_message(ctx.registry.get_registered_model(args["name"]))}


def rename_registered_model(ctx: Context, args: Args) -> dict[str, Any]:
    model = ctx.registry.rename_registered_model(args["name"], args["new_name"])
    return {"registered_model": registered_model_to_message(model)}


def update_registered_model(ctx: Context, args: Args) -> dict[str, Any]:
    model = ctx.registry.update_registered_model(args["name"], args.get("description"))
    return {"registered_model": registered_model_to_message(model)}


def delete_registered_model(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.delete_registered_model(args["name"])
    return {}


def search_registered_models(ctx: Context, args: Args) -> dict[str, Any]:
    found = ctx.registry.search_registered_models(
        filter_string=args.get("filter") or None,
        max_results=args["max_results"],
        order_by=args.get("order_by") or None, page_token=args.get("page_token") or None)
    return _page("registered_models", [registered_model_to_message(m) for m in found], found.token)


def get_latest_versions(ctx: Context, args: Args) -> dict[str, Any]:
    found = ctx.registry.get_latest_versions(args["name"], stages=args.get("stages") or None)
    return {"model_versions": [model_version_to_message(v) for v in found]}


def set_registered_model_tag(ctx: Context, args: Args) -> dict[str, Any]:
    tag = RegisteredModelTag(key=args["key"], value=args.get("value", ""))
    ctx.registry.set_registered_model_tag(args["name"], tag)
    return {}


def delete_registered_model_tag(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.delete_registered_model_tag(args["name"], args["key"])
    return {}


# -- aliases ---------------------------------------------------------------------------------
def _alias_changed(ctx: Context, name: str, alias: str) -> None:
    """Deployments following ``models:/name@alias`` switch now, not at their next poll."""
    manager = getattr(ctx.request.app.state, "endpoint_manager", None)
    if manager is not None:
        manager.notify_alias_changed(name, alias)


def set_registered_model_alias(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.set_registered_model_alias(args["name"], args["alias"], args["version"])
    _alias_changed(ctx, args["name"], args["alias"])
    return {}


def delete_registered_model_alias(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.delete_registered_model_alias(args["name"], args["alias"])
    _alias_changed(ctx, args["name"], args["alias"])
    return {}


def get_model_version_by_alias(ctx: Context, args: Args) -> dict[str, Any]:
    version = ctx.registry.get_model_version_by_alias(args["name"], args["alias"])
    return {"model_version": model_version_to_message(version)}


# -- model versions ------------------------------------------------------------------------------
def _invalid_source(source: str, named_by: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Invalid model version source: '{source}'. The {named_by} request parameter must "
                                "identify the resource that contains the source.")


def _unquoted(part: str) -> str:
    while (decoded := urllib.parse.unquote(part)) != part:
        part = decoded
    return part


def _uri_parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    try:
        parsed = urllib.parse.urlsplit(uri)
    except ValueError as exc:  # e.g. an unclosed '[' in the host
        raise InvalidArgumentError(f"Invalid model version source {uri[:200]!r}: it is not a valid URI ({exc}).") \
            from None
    return (parsed.scheme.lower(), parsed.netloc.lower(),
            tuple(_unquoted(part) for part in parsed.path.split("/") if part))


def _uri_within(source: str, root: str | None) -> bool:
    """Whether URI ``source`` names ``root`` or something below it (same scheme and host)."""
    if not root:
        return False
    scheme, host, parts = _uri_parts(source)
    root_scheme, root_host, root_parts = _uri_parts(root)
    return (scheme, host) == (root_scheme, root_host) and bool(root_parts) and parts[:len(root_parts)] == root_parts


def _local_within(source: str, root: str | None) -> bool:
    """Whether local ``source`` (links resolved) lies inside the local folder ``root``."""
    from mlcask.tracking.artifacts import local_path_of
    from mlcask.tracking.registry.source_policy import is_local, local_source_path

    if not root or not is_local(root):
        return False
    try:
        return local_source_path(source).resolve().is_relative_to(Path(local_path_of(root)).absolute().resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, an unreadable folder, a NUL in the path
        return False


def _is_proxy_source(source: str) -> bool:
    """An ``mlflow-artifacts:`` URI, or an ``http(s)`` URL of an artifact proxy."""
    scheme, _, parts = _uri_parts(source)
    if scheme == "mlflow-artifacts":
        return True
    route = ("api", "2.0", "mlflow-artifacts", "artifacts")
    return scheme in ("http", "https") and any(parts[i:i + len(route)] == route for i in range(len(parts)))


#: Schemes whose artifact repositories connect to the host the URI names (MLflow's list, GHSA-mr9f-g8qf-4w4j).
HOST_ADDRESSED_SCHEMES = frozenset({"ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2",
                                    "abfss"})
_SCHEME_FAMILIES = {"viewfs": "hdfs", "https": "http", "mlflow-artifacts": "http"}


def _host_target(uri: str) -> tuple[str, str, int | None] | None:
    """``(scheme family, host, port)`` a URI makes a reader connect to, None if it names no host."""
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.lower()
    if scheme not in HOST_ADDRESSED_SCHEMES or (scheme == "mlflow-artifacts" and not parsed.netloc):
        return None
    try:
        port = parsed.port
    except ValueError:
        port = -1  # matches no root
    return _SCHEME_FAMILIES.get(scheme, scheme), (parsed.hostname or "").lower(), port


def check_source_host(ctx: Context, source: str) -> None:
    """Refuse a source that names a host other than the server's own artifact storage, as MLflow 3.17 does."""
    target = _host_target(source)
    if target is None:
        return
    trusted = {_host_target(root) for root in ctx.config.artifact_roots} - {None}
    if target not in trusted:
        raise InvalidArgumentError(
            f"Invalid model version source {source[:200]!r}: the '{urllib.parse.urlsplit(source).scheme}' scheme "
            "addresses a host other than this tracking server's artifact storage, and readers of the registry "
            "would connect to it. Register the model from the run's artifacts (runs:/<run_id>/<path>) or from its "
            "logged model (models:/<model_id>).")


def _run_root(ctx: Context, run_id: str, source: str) -> str:
    try:
        return ctx.tracking.get_run(run_id).info.artifact_uri
    except MlcaskException as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            raise _invalid_source(source, "run_id") from None
        raise


def _model_root(ctx: Context, model_id: str, source: str) -> str:
    try:
        return ctx.tracking.get_logged_model(model_id).artifact_location
    except MlcaskException as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            raise _invalid_source(source, "model_id") from None
        raise


def _check_local_source(ctx: Context, source: str, run_id: str | None, model_id: str | None) -> None:
    if model_id:
        if _local_within(source, _model_root(ctx, model_id, source)):
            return
        owner = "model_id"
    else:
        if run_id and _local_within(source, _run_root(ctx, run_id, source)):
            return
        owner = "run_id"
    raise InvalidArgumentError(
        f"Invalid model version source: '{source}'. To use a local path as a model version source, the {owner} "
        f"request parameter has to be specified and the local path has to be contained within the artifact "
        f"directory of the {'logged model' if owner == 'model_id' else 'run'} specified by the {owner}.")


def _models_uri_model_id(source: str) -> str | None:
    from mlcask.models.uri import parse_models_uri

    try:
        return parse_models_uri(source).model_id
    except InvalidArgumentError:
        raise _invalid_source(source, "model_id") from None


def check_version_source(ctx: Context, source: str, run_id: str | None, model_id: str | None) -> None:
    """Refuse a source that does not lie in the run (``run_id``) or logged model (``model_id``) it claims."""
    from mlcask.tracking.registry.source_policy import is_local
    from mlcask.tracking.uris import split_runs_uri

    scheme, host, _ = _uri_parts(source)  # first: it refuses what urllib cannot parse
    if is_local(source):
        _check_local_source(ctx, source, run_id, model_id)
        return
    if scheme == "runs":
        if host or model_id:
            raise _invalid_source(source, "model_id" if model_id else "run_id")
        if run_id and split_runs_uri(source)[0] == run_id:
            return
        raise _invalid_source(source, "run_id")
    if scheme == "models":
        if host:
            raise _invalid_source(source, "model_id")
        source_model_id = _models_uri_model_id(source)
        if source_model_id is not None and source_model_id != model_id:
            raise _invalid_source(source, "model_id")
        return
    if _is_proxy_source(source):
        root = (_model_root(ctx, model_id, source) if model_id
                else _run_root(ctx, run_id, source) if run_id else None)
        if not _uri_within(source, root):
            raise _invalid_source(source, "model_id" if model_id else "run_id")


def _followed_copy(ctx: Context, source: str, args: Args) -> tuple[str, str | None, str | None]:
    """``(source, run_id, model_id)``; a ``models:/<name>/...`` source becomes ``models:/<name>/<version>``.

    The copy inherits the run and logged model of the version it points at; given ones must match.
    """
    from mlcask.models.uri import is_models_uri, parse_models_uri

    run_id, model_id = args.get("run_id") or None, args.get("model_id") or None
    if not is_models_uri(source):
        return source, run_id, model_id
    if _uri_parts(source)[1]:
        raise InvalidArgumentError(f"Invalid model version source: '{source}'. Registered model sources must use "
                                   "the active model registry.")
    try:
        parsed = parse_models_uri(source)
    except InvalidArgumentError:
        raise _invalid_source(source, "model_id") from None
    if parsed.model_id is not None:
        return source, run_id, model_id
    registry = ctx.registry
    if parsed.version is not None:
        target = registry.get_model_version(parsed.name, parsed.version)
    elif parsed.alias is not None:
        target = registry.get_model_version_by_alias(parsed.name, parsed.alias)
    else:
        found = registry.get_latest_versions(parsed.name, [parsed.stage] if parsed.stage else None)
        if not found:
            raise MlcaskException(f"Model source {source!r} points at no model version.",
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        target = max(found, key=lambda version: int(version.version))
    if ("run_id" in args and (run_id or "") != (target.run_id or "")) or (
            "model_id" in args and (model_id or "") != (target.model_id or "")):
        raise InvalidArgumentError(f"Invalid model version source: '{source}'. The run_id and model_id request "
                                   "parameters must match the referenced model version.")
    return (f"models:/{target.name}/{target.version}", run_id if "run_id" in args else target.run_id,
            model_id if "model_id" in args else target.model_id)


def _link_logged_model(ctx: Context, model_id: str, name: str, version: str) -> None:
    """Add ``{name, version}`` to the logged model's ``mlflow.modelVersions`` tag, as MLflow's server does."""
    tracking = ctx.tracking
    entry = {"name": name, "version": version}
    try:
        listed = tracking.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG)
    except MlcaskException as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:  # a logged model of another tracking store
            return
        raise
    try:
        entries = json.loads(listed) if listed else []
    except ValueError:
        entries = []
    if not isinstance(entries, list):
        entries = []
    if entry not in entries:
        entries.append(entry)
    tracking.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(entries)})


def create_model_version(ctx: Context, args: Args) -> dict[str, Any]:
    source, run_id, model_id = _followed_copy(ctx, args["source"], args)
    check_version_source(ctx, source, run_id, model_id)
    check_source_host(ctx, source)
    version = ctx.registry.create_model_version(
        args["name"], source, run_id=run_id, tags=_tags(args, ModelVersionTag),
        run_link=args.get("run_link") or None, description=args.get("description"), model_id=model_id)
    if model_id:
        _link_logged_model(ctx, model_id, version.name, version.version)
    return {"model_version": model_version_to_message(version)}


def get_model_version(ctx: Context, args: Args) -> dict[str, Any]:
    version = ctx.registry.get_model_version(args["name"], args["version"])
    return {"model_version": model_version_to_message(version)}


def update_model_version(ctx: Context, args: Args) -> dict[str, Any]:
    version = ctx.registry.update_model_version(args["name"], args["version"],
                                                     description=args.get("description"))
    return {"model_version": model_version_to_message(version)}


def delete_model_version(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.delete_model_version(args["name"], args["version"])
    return {}


def transition_model_version_stage(ctx: Context, args: Args) -> dict[str, Any]:
    version = ctx.registry.transition_model_version_stage(
        args["name"], args["version"], args["stage"],
        archive_existing_versions=bool(args.get("archive_existing_versions", False)))
    return {"model_version": model_version_to_message(version)}


def get_model_version_download_uri(ctx: Context, args: Args) -> dict[str, Any]:
    return {"artifact_uri": ctx.registry.get_model_version_download_uri(args["name"], args["version"])}


def search_model_versions(ctx: Context, args: Args) -> dict[str, Any]:
    found = ctx.registry.search_model_versions(
        filter_string=args.get("filter") or None,
        max_results=args["max_results"],
        order_by=args.get("order_by") or None, page_token=args.get("page_token") or None)
    return _page("model_versions", [model_version_to_message(v) for v in found], found.token)


def set_model_version_tag(ctx: Context, args: Args) -> dict[str, Any]:
    tag = ModelVersionTag(key=args["key"], value=args.get("value", ""))
    ctx.registry.set_model_version_tag(args["name"], args["version"], tag)
    return {}


def delete_model_version_tag(ctx: Context, args: Args) -> dict[str, Any]:
    ctx.registry.delete_model_version_tag(args["name"], args["version"], args["key"])
    return {}


# -- the table ----------------------------------------------------------------------------------
_NAME = F("name", required=True, description="The registered model's name.")
_VERSION = F("version", required=True, description="The version number, as a string (\"1\").")
_GROUP = "Model registry"


def _search_fields(limit: int, default: int) -> tuple[F, ...]:
    return (F("filter", description="MLflow's search filter, e.g. name LIKE 'fraud%'."),
            F("max_results", "int64", default=default, minimum=1, maximum=limit),
            F("order_by", repeated=True, description="e.g. name ASC, last_updated_timestamp DESC."),
            F("page_token", description="next_page_token of the previous page."))


ENDPOINTS: list[Endpoint] = [
    Endpoint("POST", "/registered-models/create", create_registered_model,
             (_NAME, F("tags", "object", repeated=True, fields=TAG_FIELDS), F("description"),
              F("deployment_job_id")), "Create a registered model.", _GROUP),
    Endpoint("GET", "/registered-models/get", get_registered_model, (_NAME,),
             "A registered model with its tags, aliases and latest version per stage.", _GROUP),
    Endpoint("POST", "/registered-models/rename", rename_registered_model,
             (_NAME, F("new_name", required=True)), "Rename a registered model.", _GROUP),
    Endpoint("PATCH", "/registered-models/update", update_registered_model,
             (_NAME, F("description"), F("deployment_job_id")), "Set a registered model's description.", _GROUP),
    Endpoint("DELETE", "/registered-models/delete", delete_registered_model, (_NAME,),
             "Delete a registered model with its versions.", _GROUP),
    Endpoint("GET", "/registered-models/search", search_registered_models,
             _search_fields(MAX_RESULTS_REGISTERED_MODELS, 100), "Search registered models.", _GROUP),
    *(Endpoint(method, "/registered-models/get-latest-versions", get_latest_versions,
               (_NAME, F("stages", repeated=True)), "The latest version in each stage (deprecated).", _GROUP)
      for method in ("POST", "GET")),
    Endpoint("POST", "/registered-models/set-tag", set_registered_model_tag,
             (_NAME, F("key", required=True), F("value")), "Set a tag of a registered model.", _GROUP),
    Endpoint("DELETE", "/registered-models/delete-tag", delete_registered_model_tag,
             (_NAME, F("key", required=True)), "Delete a tag of a registered model.", _GROUP),
    Endpoint("POST", "/registered-models/alias", set_registered_model_alias,
             (_NAME, F("alias", required=True), _VERSION), "Point an alias at a version.", _GROUP),
    Endpoint("DELETE", "/registered-models/alias", delete_registered_model_alias,
             (_NAME, F("alias", required=True)), "Delete an alias.", _GROUP),
    Endpoint("GET", "/registered-models/alias", get_model_version_by_alias,
             (_NAME, F("alias", required=True)), "The version an alias points at.", _GROUP),
    Endpoint("POST", "/model-versions/create", create_model_version,
             (_NAME, F("source", required=True), F("run_id"), F("tags", "object", repeated=True, fields=TAG_FIELDS),
              F("run_link"), F("description"), F("model_id")), "Register a new version of a model.", _GROUP),
    Endpoint("GET", "/model-versions/get", get_model_version, (_NAME, _VERSION), "A model version.", _GROUP),
    Endpoint("PATCH", "/model-versions/update", update_model_version, (_NAME, _VERSION, F("description")),
             "Set a version's description (cleared when absent, as MLflow).", _GROUP),
    Endpoint("DELETE", "/model-versions/delete", delete_model_version, (_NAME, _VERSION),
             "Delete a model version.", _GROUP),
    Endpoint("POST", "/model-versions/transition-stage", transition_model_version_stage,
             (_NAME, _VERSION, F("stage", required=True), F("archive_existing_versions", "bool", default=False)),
             "Move a version to a stage (deprecated in favour of aliases).", _GROUP),
    Endpoint("GET", "/model-versions/get-download-uri", get_model_version_download_uri, (_NAME, _VERSION),
             "Where a version's files are.", _GROUP),
    Endpoint("GET", "/model-versions/search", search_model_versions,
             _search_fields(MAX_RESULTS_MODEL_VERSIONS, MAX_RESULTS_MODEL_VERSIONS), "Search model versions.", _GROUP),
    Endpoint("POST", "/model-versions/set-tag", set_model_version_tag,
             (_NAME, _VERSION, F("key", required=True), F("value")), "Set a tag of a model version.", _GROUP),
    Endpoint("DELETE", "/model-versions/delete-tag", delete_model_version_tag,
             (_NAME, _VERSION, F("key", required=True)), "Delete a tag of a model version.", _GROUP),
]


def routes() -> list[Endpoint]:
    """The model registry's endpoints (the app mounts them and their ``/ajax-api`` twins)."""
    return list(ENDPOINTS)
