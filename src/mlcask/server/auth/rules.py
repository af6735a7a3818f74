"""Which permission each endpoint needs, on which resource: MLflow's basic-auth rules.

Reading needs READ, changing needs EDIT, deleting, restoring and managing permissions
need MANAGE, on the experiment (for experiments, runs, logged models and their
artifacts) or on the registered model (for the registry). Creating an experiment or a
registered model is open to every signed-in user, who then gets MANAGE on it. Searches
only return what the caller may read. Admins may do everything.

:func:`find_rule` maps a request path (exactly as the router sees it) and method to a
rule; a path it does not know gets :data:`ADMIN_ONLY`, so a route added to the server
without a rule here is closed to everyone but admins (deny by default).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.server.auth.request import AuthRequest, BadRequest
from mlcask.server.auth.service import AuthService, Identity
from mlcask.tracking.runs_uri import split_runs_uri
from mlcask.utils.paths import clean_relative_path

__all__ = ["ADMIN_ONLY", "Decision", "Forbidden", "Rule", "find_rule", "require_admin", "require_self_or_admin"]

EXPERIMENT, REGISTERED_MODEL, ENDPOINT = "experiment", "registered_model", "endpoint"
API_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
MLCASK_PREFIXES = ("/api/2.0/mlcask/", "/ajax-api/2.0/mlcask/")
#: The web UI's page: any signed-in user may load it (it then shows only what they may read).
UI_PAGES = frozenset({"/", "/index.html"})
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")
_RUN_ID = ("run_id", "run_uuid")
SERVER_INFO_PATHS = ("/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info")


class Forbidden(Exception):
    """The caller is signed in but may not do this (a 403)."""


@dataclass
class Decision:
    """What the middleware does with an authorized request.

    ``respond`` answers it at once (a 200 with this JSON) without the handler;
    ``body`` replaces the request body; ``after`` runs with the handler's JSON answer
    when it is a 200; ``filter`` rewrites that answer before it is sent.
    """

    respond: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    after: Callable[[dict[str, Any]], None] | None = None
    filter: Callable[[dict[str, Any]], dict[str, Any]] | None = None


Check = Callable[[AuthService, Identity, AuthRequest], Decision | None]


@dataclass(frozen=True)
class Rule:
    """How to authorize one endpoint: ``check`` raises Forbidden/BadRequest or returns a Decision."""

    check: Check
    reads_body: bool = True
    public: bool = False
    self_authorizing: bool = False
    path_params: dict[str, str] = field(default_factory=dict)


def _require(service: AuthService, identity: Identity, resource_type: str, resource_id: str | None,
             action: str) -> None:
    if not service.permission(identity, resource_type, resource_id).allows(action):
        raise Forbidden


def _run(service: AuthService, identity: Identity, run_id: str, action: str) -> None:
    _require(service, identity, EXPERIMENT, service.experiment_of_run(run_id), action)


def _logged_model(service: AuthService, identity: Identity, model_id: str, action: str) -> None:
    _require(service, identity, EXPERIMENT, service.experiment_of_logged_model(model_id), action)


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise Forbidden


def require_self_or_admin(identity: Identity, username: str) -> None:
    if not identity.is_admin and identity.username != username:
        raise Forbidden


def _admin_only(service: AuthService, identity: Identity, request: AuthRequest) -> None:
    require_admin(identity)


def _signed_in(service: AuthService, identity: Identity, request: AuthRequest) -> None:
    return None


def experiment(action: str, default: str | None = None) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        experiment_id = request.param("experiment_id") if default is not None else request.required("experiment_id")
        _require(service, identity, EXPERIMENT, experiment_id or default, action)
    return check


def experiment_by_name(action: str) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        name = request.required("experiment_name")
        _require(service, identity, EXPERIMENT, service.experiment_id_by_name(name), action)
    return check


def run(action: str, model_ids: Callable[[AuthRequest], list[str]] | None = None) -> Check:
    """``action`` on the run's experiment, and on the experiment of every logged model the call writes to."""
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        _run(service, identity, request.required(*_RUN_ID), action)
        for model_id in (model_ids(request) if model_ids else []):
            _logged_model(service, identity, model_id, "update")
    return check


def runs(name: str, action: str) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        ids = request.id_list(name)
        if not ids:
            raise BadRequest(f"Missing value for required parameter '{name}'.")
        for run_id in ids:
            _run(service, identity, run_id, action)
    return check


def logged_model(action: str) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        _logged_model(service, identity, request.required("model_id"), action)
    return check


def registered_model(action: str) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        _require(service, identity, REGISTERED_MODEL, request.required("name"), action)
    return check


def _models_of(list_name: str) -> Callable[[AuthRequest], list[str]]:
    return lambda request: request.nested_ids(list_name, "model_id")


def _metric_model(request: AuthRequest) -> list[str]:
    model_id = request.param("model_id")
    return [model_id] if model_id else []


# -- creations, renames and deletions keep the grants in step ------------------------------------
def create_experiment(service: AuthService, identity: Identity, request: AuthRequest) -> Decision:
    """Open to all; the creator gets MANAGE. Only admins choose an ``artifact_location``.

    A location is a place in the artifact store's namespace: one inside another
    experiment's folder (``mlflow-artifacts:/<its id>/<run>/artifacts/model``) would let
    this experiment's runs add files to that experiment's artifacts.
    """
    if request.param("artifact_location") and not identity.is_admin:
        raise MlcaskException("Only admins may choose an experiment's artifact_location on a server with "
                              "authentication; leave it out to get the server's location for the experiment.",
                              "PERMISSION_DENIED")

    def grant(answer: dict[str, Any]) -> None:
        experiment_id = answer.get("experiment_id")
        if isinstance(experiment_id, (str, int)) and not isinstance(experiment_id, bool):
            service.store.set_grant(EXPERIMENT, str(experiment_id), identity.user.id, "MANAGE")
    return Decision(after=grant)


def create_registered_model(service: AuthService, identity: Identity, request: AuthRequest) -> Decision:
    name = request.required("name")

    def grant(answer: dict[str, Any]) -> None:
        created = (answer.get("registered_model") or {}).get("name", name)
        service.store.delete_resource_grants(REGISTERED_MODEL, str(created))
        service.store.set_grant(REGISTERED_MODEL, str(created), identity.user.id, "MANAGE")
    return Decision(after=grant)


def rename_registered_model(service: AuthService, identity: Identity, request: AuthRequest) -> Decision:
    name, new_name = request.required("name"), request.required("new_name")
    _require(service, identity, REGISTERED_MODEL, name, "update")
    return Decision(after=lambda _answer: service.store.rename_resource(REGISTERED_MODEL, name, new_name))


def delete_registered_model(service: AuthService, identity: Identity, request: AuthRequest) -> Decision:
    name = request.required("name")
    _require(service, identity, REGISTERED_MODEL, name, "delete")
    return Decision(after=lambda _answer: service.store.delete_resource_grants(REGISTERED_MODEL, name))


def create_model_version(service: AuthService, identity: Identity, request: AuthRequest) -> None:
    """EDIT on the registered model, and READ on what the version is made from.

    That is the run (``run_id``, ``runs:/``), the logged model (``model_id``,
    ``models:/<model_id>``), the registered model copied (``models:/<name>/<version>``)
    or the experiment whose proxied artifacts are named (``mlflow-artifacts:/<id>/...``);
    URIs are read with the project's parsers, any case of their scheme included.
    """
    _require(service, identity, REGISTERED_MODEL, request.required("name"), "update")
    run_id, model_id, source = request.param("run_id"), request.param("model_id"), request.param("source") or ""
    if run_id:
        _run(service, identity, run_id, "read")
    if model_id:
        _logged_model(service, identity, model_id, "read")
    scheme = source.lstrip("".join(map(chr, range(33)))).split(":", 1)[0].lower()
    if scheme == "runs":
        _run(service, identity, split_runs_uri(source.strip())[0], "read")
    elif is_models_uri(source):
        parsed = parse_models_uri(source)
        if parsed.model_id:
            _logged_model(service, identity, parsed.model_id, "read")
        else:
            _require(service, identity, REGISTERED_MODEL, parsed.name, "read")
    elif scheme == "mlflow-artifacts":
        proxied = urllib.parse.urlparse(source.strip()).path.lstrip("/")  # mlflow-artifacts:[//host]/<path>
        _require(service, identity, EXPERIMENT, _artifact_experiment(proxied), "read")


def create_logged_model(service: AuthService, identity: Identity, request: AuthRequest) -> None:
    _require(service, identity, EXPERIMENT, request.required("experiment_id"), "update")
    source_run_id = request.param("source_run_id")
    if source_run_id:
        _run(service, identity, source_run_id, "read")


# -- searches show only what the caller may read ------------------------------------------------
def _readable(service: AuthService, identity: Identity, resource_type: str) -> Callable[[Any], bool]:
    return lambda resource_id: (isinstance(resource_id, (str, int))
                                and service.permission(identity, resource_type, str(resource_id)).can_read)


def _keep(key: str, readable: Callable[[Any], bool], id_of: Callable[[dict[str, Any]], Any]) -> Callable[
        [dict[str, Any]], dict[str, Any]]:
    def apply(answer: dict[str, Any]) -> dict[str, Any]:
        items = answer.get(key)
        if isinstance(items, list):
            answer[key] = [item for item in items if isinstance(item, dict) and readable(id_of(item))]
        return answer
    return apply


def search_experiments(service: AuthService, identity: Identity, request: AuthRequest) -> Decision | None:
    if identity.is_admin:
        return None
    return Decision(filter=_keep("experiments", _readable(service, identity, EXPERIMENT),
                                 lambda item: item.get("experiment_id")))


def search_in_experiments(service: AuthService, identity: Identity, request: AuthRequest) -> Decision | None:
    """``runs/search`` and ``logged-models/search``: only the readable experiments are searched."""
    if identity.is_admin:
        return None
    if request.method != "POST" or request.body is None:
        raise BadRequest("Expected a POST with a JSON body naming 'experiment_ids'.")
    requested = request.id_list("experiment_ids")
    readable = _readable(service, identity, EXPERIMENT)
    kept = [experiment_id for experiment_id in requested if readable(experiment_id)]
    if not kept:
        return Decision(respond={})
    if kept == requested:
        return None
    body = {key: value for key, value in request.body.items() if key not in ("experiment_ids", "experimentIds")}
    body["experiment_ids"] = kept
    return Decision(body=body)


def search_registry(key: str) -> Check:
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> Decision | None:
        if identity.is_admin:
            return None
        return Decision(filter=_keep(key, _readable(service, identity, REGISTERED_MODEL),
                                     lambda item: item.get("name")))
    return check


# -- the artifact proxy: the experiment is the first part of the path --------------------------
def _artifact_experiment(path: str) -> str | None:
    """The experiment id that heads a proxied artifact path (``<experiment_id>/<run_id>/artifacts/...``)."""
    try:
        cleaned = clean_relative_path(path)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    head = cleaned.split("/", 1)[0]
    if not head.isascii() or not head.isdigit() or (len(head) > 1 and head.startswith("0")):
        return None  # not an experiment's folder: "01" is no experiment's, whatever a grant on "1" says
    return head


def artifact(action: str, from_query: bool = False) -> Check:
    """``action`` on the experiment heading the artifact path (of the URL; of the query for the listing).

    The multipart calls write ``<URL folder>/<base name of the body's 'path'>`` (the
    body names the client's local file), so their URL folder decides alone.
    """
    def check(service: AuthService, identity: Identity, request: AuthRequest) -> None:
        path = (request.param("path") or "") if from_query else request.path_params["artifact_path"]
        experiment_id = _artifact_experiment(path)
        if experiment_id is None:  # the root, or a folder that is no experiment's: admins only
            _admin_only(service, identity, request)
        else:
            _require(service, identity, EXPERIMENT, experiment_id, action)
    return check


# -- the table ----------------------------------------------------------------------------------
def _api(check: Check, *, reads_body: bool = True) -> Rule:
    return Rule(check, reads_body=reads_body)


_API: dict[tuple[str, str], Rule] = {
    ("experiments/create", "POST"): _api(create_experiment),
    ("experiments/get", "GET"): _api(experiment("read")),
    ("experiments/get-by-name", "GET"): _api(experiment_by_name("read")),
    ("experiments/search", "GET"): _api(search_experiments),
    ("experiments/search", "POST"): _api(search_experiments),
    ("experiments/delete", "POST"): _api(experiment("delete")),
    ("experiments/restore", "POST"): _api(experiment("delete")),
    ("experiments/update", "POST"): _api(experiment("update")),
    ("experiments/set-experiment-tag", "POST"): _api(experiment("update")),
    ("experiments/delete-experiment-tag", "POST"): _api(experiment("update")),
    ("runs/create", "POST"): _api(experiment("update", default="0")),
    ("runs/get", "GET"): _api(run("read")),
    ("runs/update", "POST"): _api(run("update")),
    ("runs/delete", "POST"): _api(run("delete")),
    ("runs/restore", "POST"): _api(run("delete")),
    ("runs/log-metric", "POST"): _api(run("update", _metric_model)),
    ("runs/log-parameter", "POST"): _api(run("update")),
    ("runs/set-tag", "POST"): _api(run("update")),
    ("runs/delete-tag", "POST"): _api(run("update")),
    ("runs/log-batch", "POST"): _api(run("update", _models_of("metrics"))),
    ("runs/log-model", "POST"): _api(run("update")),
    ("runs/log-inputs", "POST"): _api(run("update", _models_of("models"))),
    ("runs/outputs", "POST"): _api(run("update", _models_of("models"))),
    ("runs/search", "POST"): _api(search_in_experiments),
    ("artifacts/list", "GET"): _api(run("read")),
    ("metrics/get-history", "GET"): _api(run("read")),
    ("metrics/get-history-bulk", "GET"): _api(runs("run_id", "read")),
    ("metrics/get-history-bulk-interval", "GET"): _api(runs("run_ids", "read")),
    ("logged-models", "POST"): _api(create_logged_model),
    ("logged-models/search", "POST"): _api(search_in_experiments),
    ("registered-models/create", "POST"): _api(create_registered_model),
    ("registered-models/get", "GET"): _api(registered_model("read")),
    ("registered-models/update", "PATCH"): _api(registered_model("update")),
    ("registered-models/rename", "POST"): _api(rename_registered_model),
    ("registered-models/delete", "DELETE"): _api(delete_registered_model),
    ("registered-models/search", "GET"): _api(search_registry("registered_models")),
    ("registered-models/get-latest-versions", "GET"): _api(registered_model("read")),
    ("registered-models/get-latest-versions", "POST"): _api(registered_model("read")),
    ("registered-models/set-tag", "POST"): _api(registered_model("update")),
    ("registered-models/delete-tag", "DELETE"): _api(registered_model("update")),
    ("registered-models/alias", "POST"): _api(registered_model("update")),
    ("registered-models/alias", "DELETE"): _api(registered_model("delete")),
    ("registered-models/alias", "GET"): _api(registered_model("read")),
    ("model-versions/create", "POST"): _api(create_model_version),
    ("model-versions/get", "GET"): _api(registered_model("read")),
    ("model-versions/update", "PATCH"): _api(registered_model("update")),
    ("model-versions/transition-stage", "POST"): _api(registered_model("update")),
    ("model-versions/delete", "DELETE"): _api(registered_model("delete")),
    ("model-versions/get-download-uri", "GET"): _api(registered_model("read")),
    ("model-versions/set-tag", "POST"): _api(registered_model("update")),
    ("model-versions/delete-tag", "DELETE"): _api(registered_model("delete")),
    ("model-versions/search", "GET"): _api(search_registry("model_versions")),
    ("upload-artifact", "POST"): _api(run("update"), reads_body=False),
}

_LOGGED_MODEL = re.compile(r"logged-models/(?P<model_id>[^/]+)(?P<rest>/.*)?")
_LOGGED_MODEL_RULES: dict[tuple[str, str], Check] = {
    ("", "GET"): logged_model("read"),
    ("", "PATCH"): logged_model("update"),
    ("", "DELETE"): logged_model("delete"),
    ("/tags", "PATCH"): logged_model("update"),
    ("/params", "POST"): logged_model("update"),
    ("/artifacts/directories", "GET"): logged_model("read"),
    ("/artifacts/files", "GET"): logged_model("read"),
}
_LOGGED_MODEL_TAG = re.compile(r"/tags/[^/]+")

# mlcask's own endpoints (the web UI's views): each reads what the MLflow call it builds on reads.
_MLCASK: dict[tuple[str, str], Rule] = {
    ("runs/metric-summaries", "GET"): _api(run("read")),
    ("artifacts/preview", "GET"): _api(run("read")),
    ("artifacts/html-preview", "GET"): _api(run("read")),
    ("model-versions/details", "GET"): _api(registered_model("read")),
    ("model-versions/score", "POST"): _api(registered_model("read")),
    ("logged-models/details", "GET"): _api(logged_model("read")),
}
def _endpoints_read(service: AuthService, identity: Identity, request: AuthRequest) -> None:
    # Endpoints have no grants of their own: reading them and scoring follow the server's default permission
    # (READ unless the server says otherwise), so a server whose users see nothing by default shows them none.
    _require(service, identity, ENDPOINT, None, "read")


#: Managed endpoints: a deployment runs a model as a process of the server, so changing them is for admins;
#: reading them (and scoring, under /endpoints/) is for admins and for users the default permission lets read.
_ENDPOINT_WRITE = Rule(_admin_only, reads_body=False)
_ENDPOINT_READ = Rule(_endpoints_read, reads_body=False)
_MLCASK.update({(f"{kind}/{verb}", "POST"): _ENDPOINT_WRITE for kind in ("endpoints", "deployments")
                for verb in ("create", "update", "delete")})
_MLCASK.update({(f"{kind}/{verb}", "GET"): _ENDPOINT_READ for kind in ("endpoints", "deployments")
                for verb in ("list", "get")})
#: Scoring through a managed endpoint (/endpoints/<name>/invocations, /ping, /openapi.json, /v2/...).
ENDPOINTS_SCORING_PREFIX = "/endpoints/"

_STATIC: dict[tuple[str, str], Rule] = {
    ("/get-artifact", "GET"): Rule(run("read")),
    ("/model-versions/get-artifact", "GET"): Rule(registered_model("read")),
}

ADMIN_ONLY = Rule(_admin_only, reads_body=False)
SIGNED_IN = Rule(_signed_in, reads_body=False)
PUBLIC = Rule(_signed_in, reads_body=False, public=True)
SELF_AUTHORIZING = Rule(_signed_in, reads_body=False, self_authorizing=True)

_ARTIFACT = re.compile(r"(?P<kind>artifacts|mpu/create|mpu/complete|mpu/abort)(?:/(?P<artifact_path>[\s\S]*))?")
#: A multipart part's URL carries its own capability (a per-upload token the handler checks, as an S3
#: presigned URL does): MLflow's client sends no credentials to part URLs.
_MPU_PART = re.compile(r"mpu/part/[^/]+/[^/]+")
_ARTIFACT_ACTIONS = {("artifacts", "GET"): "read", ("artifacts", "PUT"): "update",
                     ("artifacts", "DELETE"): "delete", ("mpu/create", "POST"): "update",
                     ("mpu/complete", "POST"): "update", ("mpu/abort", "POST"): "update"}


def _artifact_rule(suffix: str, method: str) -> Rule:
    if method == "PUT" and _MPU_PART.fullmatch(suffix):
        return PUBLIC
    match = _ARTIFACT.fullmatch(suffix)
    if match is None:
        return ADMIN_ONLY
    kind, path = match["kind"], match["artifact_path"]
    action = _ARTIFACT_ACTIONS.get((kind, method))
    if action is None:
        return ADMIN_ONLY
    if path is None:  # the listing: GET .../artifacts?path=<experiment_id>/...
        return Rule(artifact("read", from_query=True)) if kind == "artifacts" and method == "GET" else ADMIN_ONLY
    return Rule(artifact(action), reads_body=False, path_params={"artifact_path": path})


def _logged_model_rule(suffix: str, method: str) -> Rule | None:
    match = _LOGGED_MODEL.fullmatch(suffix)
    if match is None:
        return None
    rest = match["rest"] or ""
    check = _LOGGED_MODEL_RULES.get((rest, method))
    if check is None and method == "DELETE" and _LOGGED_MODEL_TAG.fullmatch(rest):
        check = logged_model("delete")
    if check is None:
        return ADMIN_ONLY
    return Rule(check, path_params={"model_id": match["model_id"]})


def find_rule(path: str, method: str, public_paths: frozenset[str], signed_in_paths: frozenset[str],
              auth_paths: frozenset[str]) -> Rule:
    """The rule for a request: ``path`` exactly as the router matches it, ``method`` as sent."""
    lookup = "GET" if method == "HEAD" else method
    if lookup == "GET" and (path in public_paths or path.startswith("/static-files/")):
        return PUBLIC
    if path in auth_paths:
        return SELF_AUTHORIZING
    if path in signed_in_paths and lookup == "GET":
        return SIGNED_IN
    if path in SERVER_INFO_PATHS and lookup == "GET":  # how the server is set up: for every signed-in caller
        return SIGNED_IN
    if path in UI_PAGES and lookup == "GET":
        return SIGNED_IN
    if path in ("/get-artifact", "/model-versions/get-artifact"):
        return _STATIC.get((path, lookup), ADMIN_ONLY)
    for prefix in API_PREFIXES:
        if path.startswith(prefix):
            suffix = path[len(prefix):]
            rule = _API.get((suffix, lookup))
            if rule is None and suffix.startswith("logged-models/"):
                rule = _logged_model_rule(suffix, lookup)
            return rule or ADMIN_ONLY
    for prefix in MLCASK_PREFIXES:
        if path.startswith(prefix):
            return _MLCASK.get((path[len(prefix):], lookup), ADMIN_ONLY)
    for prefix in ARTIFACT_PREFIXES:
        if path.startswith(prefix):
            return _artifact_rule(path[len(prefix):], lookup)
    if path.startswith(ENDPOINTS_SCORING_PREFIX):
        return _ENDPOINT_READ
    return ADMIN_ONLY
