"""Managed endpoints on the tracking server: the management REST API under ``/api/2.0/mlcask`` (ajax twin
``/ajax-api/2.0/mlcask``) and the scoring proxy under ``/endpoints``.

Management (JSON in, JSON out, MLflow's error body on failure):

- ``POST endpoints/create`` ``{name, config?}``, ``GET endpoints/list``, ``GET endpoints/get?name=``,
  ``POST endpoints/update`` ``{name, config: {traffic: {<deployment>: pct}}}``, ``POST endpoints/delete``.
- ``POST deployments/create`` ``{endpoint, name, model_uri, flavor?, config?}`` (creates the endpoint when
  missing), ``GET deployments/list?endpoint=``, ``GET deployments/get?endpoint=&name=``,
  ``POST deployments/update`` ``{endpoint, name, model_uri?, config?}``, ``POST deployments/delete``.

Models are found in this server's own stores (:class:`ServerModelSource`): ``models:/name/version``,
``models:/name@alias`` (followed: see :mod:`mlcask.deployments.alias`), ``models:/<model_id>``,
``runs:/<run_id>/<path>`` and local paths, with the ``models:/`` grammar of :mod:`mlcask.models.uri`.
Scoring is :mod:`mlcask.deployments.proxy`; the workers are run by
:class:`~mlcask.deployments.manager.EndpointManager`, which the app starts and stops in its lifespan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.routing import Route

from mlcask.deployments import operations
from mlcask.deployments.manager import EndpointManager
from mlcask.deployments.proxy import EndpointProxy
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.uri import is_models_uri, parse_models_uri, resolve_model_path
from mlcask.server.endpoints import MLCASK_PREFIX, Context, Endpoint, F
from mlcask.server.model_views_api import local_model_folder
from mlcask.server.state import ServerState
from mlcask.tracking.runs_uri import split_runs_uri

__all__ = ["ENDPOINTS", "ServerModelSource", "create_manager", "manager_of", "proxy_routes", "routes"]

_GROUP = "Managed endpoints"
MAX_SOURCE_HOPS = 3
#: Where the app keeps its manager (``app.state.endpoint_manager``).
STATE_KEY = "endpoint_manager"


class ServerModelSource:
    """Models as this server's stores hold them (a :class:`~mlcask.deployments.manager.ModelSource`)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def resolve_version(self, model_uri: str) -> str:
        """``models:/name/<version>`` for a registered model (by version, alias, stage or latest); the URI
        itself for a logged model, a run's model or a path (each checked to exist)."""
        if is_models_uri(model_uri):
            parsed = parse_models_uri(model_uri)
            if parsed.model_id is not None:
                self.state.tracking.get_logged_model(parsed.model_id)
                return model_uri
            version = self._version_of(parsed)
            return f"models:/{parsed.name}/{version}" + (f"/{parsed.path}" if parsed.path else "")
        if model_uri.startswith("runs:"):
            run_id, _ = split_runs_uri(model_uri)
            self.state.tracking.get_run(run_id)
            return model_uri
        folder = resolve_model_path(model_uri).resolve()
        if not (folder / "MLmodel").is_file():
            raise InvalidArgumentError(f"Invalid model_uri {model_uri!r}: '{folder}' is not a model folder (it has "
                                       "no MLmodel file).")
        return str(folder)

    def _version_of(self, parsed: Any) -> str:
        registry = self.state.registry
        if parsed.version is not None:
            return str(registry.get_model_version(parsed.name, parsed.version).version)
        if parsed.alias is not None or parsed.latest:
            return str(registry.get_model_version_by_alias(parsed.name, parsed.alias or "latest").version)
        in_stage = registry.get_latest_versions(parsed.name, [parsed.stage])
        if not in_stage:
            raise MlcaskException(f"Registered model {parsed.name!r} has no version in stage {parsed.stage!r}.",
                                  RESOURCE_DOES_NOT_EXIST)
        return str(max(int(v.version) for v in in_stage))

    def local_folder(self, resolved_uri: str, _hops: int = 0) -> Path:
        """A local folder of the model at ``resolved_uri`` (as :meth:`resolve_version` answers it)."""
        config = self.state.config
        if is_models_uri(resolved_uri):
            parsed = parse_models_uri(resolved_uri)
            if parsed.model_id is not None:
                return local_model_folder(config, self.state.tracking.get_logged_model(parsed.model_id)
                                          .artifact_location)
            source = self.state.registry.get_model_version_download_uri(parsed.name, self._version_of(parsed))
            if is_models_uri(source):
                if _hops >= MAX_SOURCE_HOPS:
                    raise InvalidArgumentError(f"Model URI {resolved_uri!r} refers to itself through its sources.")
                folder = self.local_folder(source, _hops + 1)
            else:
                folder = local_model_folder(config, source)
            return folder / parsed.path if parsed.path else folder
        if resolved_uri.startswith("runs:"):
            return self._run_model(resolved_uri)
        return resolve_model_path(resolved_uri)

    def _run_model(self, uri: str) -> Path:
        run_id, path = split_runs_uri(uri)
        tracking = self.state.tracking
        run = tracking.get_run(run_id)
        if path:
            try:
                return local_model_folder(self.state.config, f"{run.info.artifact_uri.rstrip('/')}/{path}")
            except MlcaskException:
                pass  # not a folder of the run's artifacts: maybe a logged model's name
        for model in tracking.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'",
                                                   max_results=1000):
            if model.name == path or not path:
                return local_model_folder(self.state.config, model.artifact_location)
        raise MlcaskException(f"Run {run_id} has no model at '{path}' ({uri}).", RESOURCE_DOES_NOT_EXIST)


def create_manager(state: ServerState) -> EndpointManager:
    """The manager of this server process (started by the app's lifespan)."""
    return EndpointManager(ServerModelSource(state))


def manager_of(ctx: Context) -> EndpointManager:
    """The app's manager, for a handler."""
    manager = getattr(ctx.request.app.state, STATE_KEY, None)
    if manager is None:
        raise MlcaskException("Managed endpoints are not available on this server.", "ENDPOINT_NOT_FOUND")
    return manager


def proxy_routes(manager: EndpointManager) -> tuple[EndpointProxy, list[Route]]:
    """The scoring proxy of ``manager`` and its routes under ``/endpoints``."""
    proxy = EndpointProxy(manager)
    return proxy, proxy.routes()


# -- handlers ----------------------------------------------------------------------------------------------------------

def _create_endpoint(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint": operations.create_endpoint(manager_of(ctx), args["name"], args.get("config"))}


def _update_endpoint(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint": operations.update_endpoint(manager_of(ctx), args["name"], args.get("config"))}


def _delete_endpoint(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    operations.delete_endpoint(manager_of(ctx), args["name"])
    return {}


def _list_endpoints(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"endpoints": operations.list_endpoints(manager_of(ctx))}


def _get_endpoint(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint": operations.get_endpoint(manager_of(ctx), args["name"])}


def _create_deployment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"deployment": operations.create_deployment(manager_of(ctx), args["endpoint"], args["name"],
                                                       args["model_uri"], args.get("flavor"), args.get("config"))}


def _update_deployment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"deployment": operations.update_deployment(manager_of(ctx), args["endpoint"], args["name"],
                                                       args.get("model_uri"), args.get("config"),
                                                       args.get("flavor"))}


def _delete_deployment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    operations.delete_deployment(manager_of(ctx), args["endpoint"], args["name"])
    return {}


def _list_deployments(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"deployments": operations.list_deployments(manager_of(ctx), args["endpoint"])}


def _get_deployment(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"deployment": operations.get_deployment(manager_of(ctx), args["endpoint"], args["name"])}


_NAME = F("name", "string", required=True)
_ENDPOINT = F("endpoint", "string", required=True)
_CONFIG = F("config", "json", description="An object of config keys (see the README's Deploying a model).")


def _endpoint(method: str, path: str, handler: Any, fields: tuple[F, ...], summary: str) -> Endpoint:
    return Endpoint(method, path, handler, fields, summary, _GROUP, prefix=MLCASK_PREFIX)


ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint("POST", "/endpoints/create", _create_endpoint, (_NAME, _CONFIG), "Create a managed endpoint."),
    _endpoint("GET", "/endpoints/list", _list_endpoints, (), "List the managed endpoints."),
    _endpoint("GET", "/endpoints/get", _get_endpoint, (_NAME,), "An endpoint: traffic, deployments, metrics."),
    _endpoint("POST", "/endpoints/update", _update_endpoint, (_NAME, _CONFIG),
              "Change an endpoint's traffic split ({\"traffic\": {deployment: percent}})."),
    _endpoint("POST", "/endpoints/delete", _delete_endpoint, (_NAME,), "Delete an endpoint and its deployments."),
    _endpoint("POST", "/deployments/create", _create_deployment,
              (_ENDPOINT, _NAME, F("model_uri", "string", required=True), F("flavor", "string"), _CONFIG),
              "Deploy a model to an endpoint (created when missing), in a worker process of its own."),
    _endpoint("GET", "/deployments/list", _list_deployments, (_ENDPOINT,), "The deployments of an endpoint."),
    _endpoint("GET", "/deployments/get", _get_deployment, (_ENDPOINT, _NAME),
              "A deployment: state, health, restarts, version served, metrics."),
    _endpoint("POST", "/deployments/update", _update_deployment,
              (_ENDPOINT, _NAME, F("model_uri", "string"), F("flavor", "string"), _CONFIG),
              "Change a deployment's model or config (the new worker takes over once healthy)."),
    _endpoint("POST", "/deployments/delete", _delete_deployment, (_ENDPOINT, _NAME),
              "Delete a deployment (its worker drains, then stops)."),
)


def routes() -> list[Endpoint]:
    """The management endpoints."""
    return list(ENDPOINTS)
