"""The tracking server's ASGI app.

:func:`create_app` builds it from a :class:`~mlcask.server.config.ServerConfig`;
:func:`app_from_env` is the zero-argument factory uvicorn imports in each worker
(``uvicorn --factory mlcask.server.app:app_from_env``), reading the config that
``mlcask server`` left in ``MLCASK_SERVER_CONFIG``.

What it serves: ``/health`` and ``/version`` (as MLflow's), MLflow's tracking, logged-model
and registry REST API under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``, MLflow 3.17's
``/api/3.0/mlflow/server-info`` (and its ``/ajax-api/3.0`` twin, served with
``--artifacts-only`` too: MLflow's client asks the artifact server), the artifact
proxy under ``/api/2.0/mlflow-artifacts`` (with ``--serve-artifacts``; alone with
``--artifacts-only``), the OpenAPI document at ``/api/2.0/mlflow/openapi.json`` (with
basic-auth: the auth endpoints too, and its security schemes), and
``/metrics`` with ``--expose-prometheus``, and managed endpoints (:mod:`mlcask.server.endpoints_api`:
their management API under ``/api/2.0/mlcask``, scoring under ``/endpoints/<name>``). Around it: the Host-header allow-list,
cross-origin checks, CORS for configured origins, security headers, and the basic-auth
app with ``--app-name basic-auth``.

Versions: ``/version`` answers MLflow's release (``mlcask.version.MLFLOW_FORMAT_VERSION``,
the one whose REST API and formats this server speaks), as ``mlflow server`` answers its
own: MLflow's REST store parses it as a version and refuses some calls (``log_spans``)
below 3.4, so mlcask's own version there would break MLflow clients. mlcask's version is
in the ``x-mlcask-version`` header of ``/version`` and in server-info's ``mlcask_version``
(a key MLflow's client ignores).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from mlcask.server import (
    artifacts_proxy,
    endpoints_api,
    logged_models_api,
    model_views_api,
    registry_api,
    run_views_api,
    tracking_api,
)
from mlcask.server.config import ServerConfig
from mlcask.server.endpoints import (
    ALL_METHODS,
    API_PREFIX,
    Context,
    Endpoint,
    openapi_document,
    starlette_routes,
)
from mlcask.server.errors import error_response, json_response
from mlcask.server.middleware import SecurityMiddleware
from mlcask.server.state import ServerState
from mlcask.tracking.protocols import RegistryStore, TrackingStore
from mlcask.tracking.store.sql_store import SqlTrackingStore
from mlcask.ui import pages as ui_pages
from mlcask.version import MLFLOW_FORMAT_VERSION, __version__

__all__ = ["app_from_env", "create_app", "endpoints_of", "server_document"]

_logger = logging.getLogger("mlcask.server")

OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
ARTIFACTS_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
SERVER_INFO_PREFIX = "/api/3.0/mlflow"


def server_info(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """MLflow 3.17's ``server-info``: how this server is set up, read by clients before they upload.

    MLflow's client uploads files of ``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE`` or more through the
    proxy's multipart endpoints when ``multipart_uploads_enabled`` is true (and the variable
    ``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`` is not set): the proxy has them for both kinds of destination.
    It has no presigned downloads or presigned single uploads, no workspaces, traces or AI gateway.
    With basic-auth any signed-in caller may read it (MLflow answers it without credentials; MLflow's
    client sends its credentials to it anyway).
    """
    config = ctx.config
    tracking = None if config.artifacts_only else ctx.tracking
    return {
        "store_type": "SqlStore" if isinstance(tracking, SqlTrackingStore) else None,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": config.serve_artifacts,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
        "mlcask_version": __version__,
    }


SERVER_INFO = Endpoint("GET", "/server-info", server_info, prefix=SERVER_INFO_PREFIX, group="Server",
                       summary="How the server is set up (MLflow 3.17's capability discovery).")


def endpoints_of(config: ServerConfig) -> list[Endpoint]:
    """The MLflow REST endpoints ``config`` serves (none with ``--artifacts-only``), whose calls each need a
    permission on an experiment or a registered model with basic-auth. The server also serves
    :data:`SERVER_INFO`, which any signed-in caller may read."""
    if config.artifacts_only:
        return []
    return (tracking_api.routes() + logged_models_api.routes() + registry_api.routes() + run_views_api.routes()
            + model_views_api.routes() + endpoints_api.routes())


def _artifact_routes(config: ServerConfig) -> list[BaseRoute]:
    """The artifact proxy under its two prefixes, when artifacts are served."""
    if not config.serve_artifacts:
        return []
    routes = artifacts_proxy.routes(config.artifacts_destination_uri, max_upload_bytes=config.max_upload_bytes)
    return [Mount(prefix, routes=routes) for prefix in ARTIFACTS_PREFIXES]


def server_document(config: ServerConfig, endpoints: list[Endpoint]) -> dict[str, Any]:
    """The server's OpenAPI 3.1 document: its REST endpoints, and with basic-auth the auth endpoints and the
    security schemes every operation takes (HTTP Basic or a bearer token)."""
    document = openapi_document(endpoints, title="mlcask tracking server (MLflow REST API)", version=__version__)
    if config.auth_enabled:
        from mlcask.server.auth.openapi import SECURITY, SECURITY_SCHEMES, openapi_paths

        for path, item in openapi_paths().items():
            document["paths"].setdefault(path, {}).update(item)
        document["components"] = {"securitySchemes": SECURITY_SCHEMES}
        document["security"] = SECURITY
    return document


def _plain_routes(config: ServerConfig, endpoints: list[Endpoint]) -> list[BaseRoute]:
    document = server_document(config, endpoints)

    async def health(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def version(request: Request) -> Response:
        return PlainTextResponse(MLFLOW_FORMAT_VERSION, headers={"x-mlcask-version": __version__})

    async def openapi(request: Request) -> Response:
        return json_response(document)

    return [Route("/health", health, methods=["GET", "HEAD"]), Route("/version", version, methods=["GET", "HEAD"]),
            Route(OPENAPI_PATH, openapi, methods=["GET"])]


def _allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> set[str]:
    """The verbs the routes matching this request's path take (through mounts; not the catch-all)."""
    allowed: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE or getattr(route, "endpoint", None) is _not_found:
            continue
        if isinstance(route, Mount):
            allowed |= _allowed_methods(route.routes, {**scope, **child})
        else:
            allowed |= set(getattr(route, "methods", None) or ())
    return allowed


async def _not_found(request: Request) -> Response:
    """MLflow's error body for a path no route takes (404), or a verb its routes do not take (405)."""
    scope = {**request.scope, "root_path": request.scope.get("app_root_path", request.scope.get("root_path", ""))}
    allowed = ", ".join(sorted(_allowed_methods(request.app.router.routes, scope)))  # from the top, not a mount
    if allowed:
        return error_response("ENDPOINT_NOT_FOUND", f"{request.method} is not allowed on {request.url.path} "
                              f"(allowed: {allowed}).", status=405, headers={"allow": allowed})
    return error_response("ENDPOINT_NOT_FOUND", f"No endpoint {request.method} {request.url.path} on this server.")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (a path no route can match, such as one holding a newline, or a verb a
    mounted route does not take) as MLflow's JSON error bodies, like every other answer of the server."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if exc.status_code in (404, 405):
        return await _not_found(request)
    code = "INTERNAL_ERROR" if exc.status_code >= 500 else "BAD_REQUEST"
    return error_response(code, str(exc.detail), status=exc.status_code, headers=dict(exc.headers or {}))


def create_app(config: ServerConfig, *, tracking_store: TrackingStore | None = None,
               registry_store: RegistryStore | None = None) -> Starlette:
    """The server's ASGI app for ``config`` (stores opened from its URIs unless given)."""
    config.check()
    state = ServerState(config, tracking_store, registry_store)
    endpoints = [*endpoints_of(config), SERVER_INFO]
    routes: list[BaseRoute] = [*_plain_routes(config, endpoints), *starlette_routes(endpoints, state),
                               *_artifact_routes(config)]
    metrics = None
    if config.expose_prometheus:
        from mlcask.server.metrics import RequestMetrics

        metrics = RequestMetrics(config.expose_prometheus)
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    manager = proxy = None
    if not config.artifacts_only:
        routes += ui_pages.routes()
        manager = endpoints_api.create_manager(state)
        proxy, proxy_routes = endpoints_api.proxy_routes(manager)
        routes += proxy_routes
    routes.append(Route("/{path:path}", _not_found, methods=ALL_METHODS))
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error},
                    lifespan=_lifespan(state, manager, proxy))
    app.state.server = state
    setattr(app.state, endpoints_api.STATE_KEY, manager)
    app.state.endpoints = endpoints
    if metrics is not None:
        app.add_middleware(metrics.middleware)
    if config.auth_enabled:
        _install_auth(app, state)
    app.add_middleware(SecurityMiddleware, config=config)
    return app


def _lifespan(state: ServerState, manager: Any = None, proxy: Any = None) -> Any:
    """At start, restore the managed endpoints (their workers start); at shutdown, stop their workers and the
    web UI's scoring workers (started on the first score)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manager is not None:
            await run_in_threadpool(manager.start)
        try:
            yield
        finally:
            if proxy is not None:
                await proxy.aclose()
            if manager is not None:
                await run_in_threadpool(manager.close)
            state.close()

    return lifespan


def _install_auth(app: Starlette, state: ServerState) -> None:
    from mlcask.server.auth import AuthSettings, install

    tracking = None if state.config.artifacts_only else state.tracking
    registry = None if state.config.artifacts_only else state.registry
    install(app, AuthSettings.from_env(), tracking, registry)


def app_from_env() -> Any:
    """The app of the config in ``MLCASK_SERVER_CONFIG`` (uvicorn's ``--factory`` for each worker)."""
    return create_app(ServerConfig.from_env())
