"""The ASGI middleware that authenticates and authorizes every request before any handler.

For each HTTP request: find the rule of its path (as the router sees it) and method;
public paths (``/health``, ``/version``, static UI files) pass; everything else needs
valid credentials (else a 401 with a ``WWW-Authenticate: Basic`` challenge) and the
rule's permission (else a 403). Paths without a rule are for admins only.

The JSON body of an API call is read once (up to ``max_json_body_bytes``), parsed for
the rule, and replayed to the handler unchanged (or as the rule rewrote it, for
searches narrowed to readable experiments). Artifact uploads are streamed through
unread: their rule needs only the path. When a rule must see the handler's answer (to
grant MANAGE on what was created, to filter search results) the answer is buffered.

Credentials and permission checks run in one worker thread per request (the password
hash and the database reads block), never on the event loop.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from anyio import to_thread
from starlette._utils import get_route_path
from starlette.authentication import AuthCredentials, SimpleUser
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlcask.exceptions import MlcaskException
from mlcask.server.auth.request import AuthRequest, BadRequest, parse_json_object
from mlcask.server.auth.rules import Decision, Forbidden, Rule, find_rule
from mlcask.server.auth.service import AuthService, Identity, Throttled

__all__ = ["IDENTITY_KEY", "AuthMiddleware", "error_body", "status_of"]

_logger = logging.getLogger(__name__)
IDENTITY_KEY = "mlcask.auth.identity"
PUBLIC_PATHS = frozenset({"/health", "/version"})
_STATUS = {"INVALID_PARAMETER_VALUE": 400, "BAD_REQUEST": 400, "RESOURCE_ALREADY_EXISTS": 400,
           "RESOURCE_DOES_NOT_EXIST": 404, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
           "REQUEST_LIMIT_EXCEEDED": 429}
UNAUTHENTICATED_MESSAGE = ("You are not authenticated. Send a username and password with HTTP Basic "
                           "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) or a token "
                           "(MLFLOW_TRACKING_TOKEN).")


def status_of(error_code: str) -> int:
    return _STATUS.get(error_code, 500)


def error_body(error_code: str, message: str) -> bytes:
    return json.dumps({"error_code": error_code, "message": message}).encode()


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, list[Message]]:
    """The whole request body (or _TooLarge), and any non-body message met on the way."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


class AuthMiddleware:
    """Authentication and authorization in front of the whole app (see the module docstring)."""

    def __init__(self, app: ASGIApp, service: AuthService, auth_paths: frozenset[str]) -> None:
        self.app = app
        self.service = service
        self.auth_paths = auth_paths
        self.signed_in_paths = frozenset(service.settings.authenticated_paths)
        self.challenge = f'Basic realm="{service.settings.realm}"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = find_rule(get_route_path(scope), scope["method"], PUBLIC_PATHS, self.signed_in_paths,
                         self.auth_paths)
        if rule.public:
            await self.app(scope, receive, send)
            return
        body, pending = b"", []
        if rule.reads_body:
            try:
                body, pending = await _read_body(receive, self.service.settings.max_json_body_bytes)
            except _TooLarge:
                limit = self.service.settings.max_json_body_bytes
                await _respond(send, 413, error_body("REQUEST_LIMIT_EXCEEDED",
                                                     f"The request body is larger than {limit} bytes."))
                return
        header = Headers(scope=scope).get("authorization")
        try:
            identity, decision = await to_thread.run_sync(self._decide, header, rule, scope, body)
        except _Refusal as refusal:
            await _respond(send, refusal.status, refusal.body, refusal.headers)
            return
        scope[IDENTITY_KEY] = identity
        scope["user"] = SimpleUser(identity.username)
        scope["auth"] = AuthCredentials(["authenticated", "admin"] if identity.is_admin else ["authenticated"])
        if decision is not None and decision.respond is not None:
            await _respond(send, 200, json.dumps(decision.respond).encode())
            return
        if rule.reads_body:
            if decision is not None and decision.body is not None:
                body = json.dumps(decision.body).encode()
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-length"] + [
                    (b"content-length", str(len(body)).encode())]
            receive = _replay(body, pending, receive)
        if decision is not None and (decision.after is not None or decision.filter is not None):
            send = _Answer(send, decision).send
        await self.app(scope, receive, send)

    def _decide(self, header: str | None, rule: Rule, scope: Scope, body: bytes) -> tuple[Identity, Decision | None]:
        client = scope.get("client")
        try:
            identity = self.service.authenticate(header, client[0] if client else "")
        except Throttled as throttled:
            seconds = max(1, int(throttled.retry_after + 0.999))
            raise _Refusal(429, error_body("REQUEST_LIMIT_EXCEEDED", "Too many failed sign-ins from this address as "
                                           f"this user; try again in {seconds} seconds."),
                           [(b"retry-after", str(seconds).encode())]) from None
        except Exception:
            _logger.exception("Checking credentials failed")
            raise _Refusal(503, error_body("TEMPORARILY_UNAVAILABLE", "Credentials cannot be checked now."))
        if identity is None:
            raise _Refusal(401, error_body("UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE),
                           [(b"www-authenticate", self.challenge)])
        try:
            parsed: dict[str, Any] | None = None
            if rule.reads_body:
                try:
                    parsed = parse_json_object(body)
                except BadRequest:
                    if scope["method"] not in ("GET", "HEAD"):
                        raise
            request = AuthRequest.build(scope["method"], scope.get("query_string", b""), parsed, rule.path_params)
            return identity, rule.check(self.service, identity, request)
        except Forbidden:
            _logger.info("Refused %s %s to '%s': no permission.", scope["method"], str(scope.get("path"))[:200],
                         identity.username)
            raise _Refusal(403, error_body("PERMISSION_DENIED", "Permission denied.")) from None
        except MlcaskException as error:
            raise _Refusal(status_of(error.error_code), error_body(error.error_code, error.message)) from None
        except Exception:
            _logger.exception("Authorizing %s %s failed", scope["method"], scope.get("path"))
            raise _Refusal(500, error_body("INTERNAL_ERROR", "The request could not be authorized.")) from None


class _Refusal(Exception):
    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or []


def _replay(body: bytes, pending: list[Message], receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending:
            return pending.pop(0)
        return await receive()
    return replay


class _Answer:
    """Buffers the handler's answer, runs the decision's ``after``/``filter`` on a 200 JSON answer, sends it."""

    def __init__(self, send: Send, decision: Decision) -> None:
        self._send = send
        self._decision = decision
        self._start: Message | None = None
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self._chunks)
        if self._start["status"] == 200:
            body = await to_thread.run_sync(self._finish, body)
        headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"]
        await self._send({**self._start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self._send({"type": "http.response.body", "body": body})

    def _finish(self, body: bytes) -> bytes:
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        if not isinstance(answer, dict):
            return body
        if self._decision.after is not None:
            try:
                self._decision.after(answer)
            except Exception:
                _logger.exception("Updating permissions after a successful request failed")
        if self._decision.filter is None:
            return body
        return json.dumps(self._decision.filter(answer)).encode()
