"""The scoring side of managed endpoints: requests to ``/endpoints/<E>/...`` forwarded to a worker.

- ``/endpoints/<E>/invocations``, ``/ping``, ``/health``, ``/version``, ``/openapi.json`` and ``/v2/...``
  (Open Inference Protocol v2) go to a deployment chosen by the traffic split, or to the one a
  ``azureml-model-deployment`` or ``mlcask-deployment`` header names;
  ``/endpoints/<E>/deployments/<D>/...`` to deployment ``D``.
- One pooled ``httpx.AsyncClient`` (keep-alive) talks to the workers on 127.0.0.1. The answer keeps the
  worker's status, content type and body (streamed), plus a ``mlcask-deployment`` header naming the
  deployment that answered. The request body is read first (up to ``MAX_BODY_BYTES``; 413 over) so that a
  request whose worker cannot be reached (it just stopped) is sent once more to another pick.
- An unknown endpoint or deployment is a 404, no ready deployment a 503, an unreachable worker a 503, a
  worker too slow a 504, with MLflow's error body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mlcask.deployments.manager import EndpointManager, NoWorker, Target
from mlcask.deployments.views import ENDPOINTS_PATH

__all__ = ["DEPLOYMENT_HEADERS", "MAX_BODY_BYTES", "EndpointProxy", "RESPONSE_HEADER"]

DEPLOYMENT_HEADERS = ("mlcask-deployment", "azureml-model-deployment")
RESPONSE_HEADER = "mlcask-deployment"
MAX_BODY_BYTES = 50 * 1024 * 1024
BUFFERED_BYTES = 256 * 1024  # answers up to this size are sent whole; larger ones are streamed
SERVED = ("invocations", "ping", "health", "version", "openapi.json", "v2")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "host", "content-length", "authorization", "cookie"}
_RESPONSE_DROP = {"connection", "keep-alive", "transfer-encoding", "server", "date"}
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _error(error_code: str, message: str, status: int) -> Response:
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _split(path: str, pinned: str | None) -> tuple[str, str | None]:
    """The worker's path and the deployment pinned, from what follows ``/endpoints/<E>/``."""
    if path.startswith("deployments/"):
        _, name, *rest = path.split("/", 2)
        return (rest[0] if rest else ""), name
    return path, pinned


class EndpointProxy:
    """The proxy's routes and its HTTP client (close it with :meth:`aclose`)."""

    def __init__(self, manager: EndpointManager, timeout: float = 300.0) -> None:
        self.manager = manager
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def routes(self) -> list[Route]:
        """The routes under ``/endpoints``."""
        return [Route(ENDPOINTS_PATH + "/{endpoint}/{path:path}", self.handle, methods=_METHODS),
                Route(ENDPOINTS_PATH + "/{endpoint}", self.handle, methods=_METHODS)]

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled client to the workers (created on first use, in the server's event loop)."""
        if self._client is None:
            # httpx logs every request at INFO: a line per proxied request would cost throughput and flood the
            # server's log (the access log, when on, has them).
            logging.getLogger("httpx").setLevel(logging.WARNING)
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=5.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64), trust_env=False)
        return self._client

    async def aclose(self) -> None:
        """Close the client (at the server's shutdown)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def handle(self, request: Request) -> Response:
        """Forward one request under ``/endpoints/<E>/`` (see the module's docstring)."""
        endpoint = request.path_params["endpoint"]
        pinned = next((request.headers[h] for h in DEPLOYMENT_HEADERS if request.headers.get(h)), None)
        path, pinned = _split(request.path_params.get("path", ""), pinned)
        if path.split("/", 1)[0] not in SERVED:
            return _error("ENDPOINT_NOT_FOUND", f"No {request.method} {request.url.path}: an endpoint serves "
                          f"{', '.join('/' + p for p in SERVED)} and /v2/... under {ENDPOINTS_PATH}/{endpoint}.", 404)
        try:
            body = await _body(request)
        except _TooLarge:
            return _error("REQUEST_LIMIT_EXCEEDED", f"The request body exceeds {MAX_BODY_BYTES} bytes.", 413)
        unreachable: frozenset[str] = frozenset()
        for attempt in (1, 2):
            try:
                target = self.manager.route(endpoint, pinned, exclude=unreachable)
            except NoWorker as exc:
                if unreachable:  # the one that was picked is down and no other is ready
                    break
                return _error(exc.error_code, exc.message, exc.status)
            started = time.perf_counter()
            try:
                upstream = await self._send(request, target, path, body)
            except httpx.ConnectError:
                target.done((time.perf_counter() - started) * 1000, True)
                unreachable = frozenset({target.deployment})
                if attempt == 1:
                    continue
                return _error("TEMPORARILY_UNAVAILABLE", f"The worker of deployment '{target.deployment}' of "
                              f"endpoint '{endpoint}' could not be reached; it is being restarted. Try again shortly.",
                              503)
            except httpx.TimeoutException:
                target.done((time.perf_counter() - started) * 1000, True)
                return _error("DEADLINE_EXCEEDED", f"Deployment '{target.deployment}' did not answer within "
                              f"{self.timeout:g} s.", 504)
            except httpx.HTTPError as exc:
                target.done((time.perf_counter() - started) * 1000, True)
                return _error("TEMPORARILY_UNAVAILABLE", f"The worker of deployment '{target.deployment}' failed "
                              f"while answering ({type(exc).__name__}). Try again shortly.", 503)
            return await self._answer(upstream, target, started)
        return _error("TEMPORARILY_UNAVAILABLE", f"The worker of deployment '{target.deployment}' of endpoint "
                      f"'{endpoint}' could not be reached; it is being restarted. Try again shortly.", 503)

    async def _send(self, request: Request, target: Target, path: str, body: bytes) -> httpx.Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        url = httpx.URL(f"http://127.0.0.1:{target.port}/{path}", query=request.url.query.encode())
        outgoing = self.client.build_request(request.method, url, headers=headers, content=body)
        return await self.client.send(outgoing, stream=True)

    async def _answer(self, upstream: httpx.Response, target: Target, started: float) -> Response:
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _RESPONSE_DROP}
        headers[RESPONSE_HEADER] = target.deployment
        length = upstream.headers.get("content-length", "")
        if length.isdigit() and int(length) <= BUFFERED_BYTES:  # a small answer (most are): one send, no stream
            error = upstream.status_code >= 500
            try:
                content = b"".join([chunk async for chunk in upstream.aiter_raw()])  # as sent (still encoded)
            except httpx.HTTPError:
                error = True
                raise
            finally:
                await upstream.aclose()
                target.done((time.perf_counter() - started) * 1000, error)
            return Response(content, status_code=upstream.status_code, headers=headers)

        async def stream() -> AsyncIterator[bytes]:
            error = upstream.status_code >= 500
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            except BaseException:
                error = True
                raise
            finally:
                await upstream.aclose()
                target.done((time.perf_counter() - started) * 1000, error)

        return StreamingResponse(stream(), status_code=upstream.status_code, headers=headers)

