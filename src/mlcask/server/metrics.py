"""``--expose-prometheus DIR``: request counts and latencies at ``/metrics``.

prometheus-client's multiprocess mode: every worker writes its samples to files in
``DIR`` (``PROMETHEUS_MULTIPROC_DIR``, set before prometheus_client is imported) and
``/metrics`` adds up all workers'. Requests are labelled by method, route template
(``/api/2.0/mlflow/runs/get``, ``/api/2.0/mlflow/logged-models/{model_id}``; never a raw
path, so ids cannot blow up the label count) and status.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlcask.server.endpoints import ROUTE_KEY

__all__ = ["RequestMetrics"]


class RequestMetrics:
    """The counters, the ``/metrics`` endpoint and the middleware that feeds them."""

    def __init__(self, folder: str) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(folder).absolute()))
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        self.requests = Counter("mlcask_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"])
        self.latency = Histogram("mlcask_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["method", "route"])
        self._registry_class = CollectorRegistry
        metrics = self

        class Middleware:
            def __init__(self, app: ASGIApp) -> None:
                self.app = app

            async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                await metrics.observe(self.app, scope, receive, send)

        self.middleware = Middleware

    async def observe(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        status = {"code": 500}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await app(scope, receive, send_status)
        finally:
            route = _route_label(scope, status["code"])
            self.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - start)

    async def endpoint(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        registry: Any = self._registry_class()
        MultiProcessCollector(registry, path=self.folder)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _route_label(scope: Scope, status: int) -> str:
    route = scope.get(ROUTE_KEY)
    if route:
        return route
    path = scope.get("path", "")
    for prefix in ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"):
        if path.startswith(prefix):
            return prefix + "/*"
    if path in ("/health", "/version", "/metrics", "/api/2.0/mlflow/openapi.json"):
        return path
    return "other"
