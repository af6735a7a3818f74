"""The server's outermost layer: Host allow-list, cross-origin rules, CORS, security headers.

- **Host header** (DNS rebinding): a request is answered only if its Host names this
  server: the loopback names, the address it listens on (unless a wildcard such as
  ``0.0.0.0``), and ``--allowed-hosts`` (``name``, ``name:port``, ``*.domain`` or ``*``).
  A web page on ``evil.example`` that re-points its name at 127.0.0.1 sends
  ``Host: evil.example`` and is refused.
- **Cross-origin writes** (CSRF): a browser's POST/PUT/PATCH/DELETE from another origin
  (its ``Origin`` differs from the Host it calls) is refused unless that origin is in
  ``--cors-allowed-origins``; a page cannot use a "simple" ``text/plain`` POST to change
  runs behind the user's back. Writes to the web UI's ``/ajax-api`` twins must also carry the
  ``X-Mlcask-Csrf`` header the UI sends: another origin's page cannot add a custom header
  without the server's CORS consent, so a forged write is refused even from a browser that
  sends no ``Origin`` (the browser's saved basic-auth credentials would otherwise go with it).
- **CORS**: only the configured origins get ``Access-Control-Allow-*`` answers, preflight
  included (answered here, before authentication: preflights carry no credentials).
- **Control characters** in the request path (``%0a``, ``%00``, ...) are a 400: no route has
  them, and Starlette's patterns would otherwise match ``/runs/get\n`` as ``/runs/get``.
- **Security headers** on every response: ``nosniff``, ``X-Frame-Options: SAMEORIGIN``,
  ``Referrer-Policy: same-origin`` and a Content-Security-Policy that allows the
  same-origin web UI (scripts, styles, images, API calls to ``'self'``) and nothing else;
  a response that sets its own CSP (an artifact download's sandbox) keeps it.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlcask.server.config import LOOPBACK_HOSTS, ServerConfig
from mlcask.server.errors import error_response

__all__ = ["CONTENT_SECURITY_POLICY", "CSRF_HEADER", "SecurityMiddleware", "host_name"]

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
                           "worker-src 'self' blob:; frame-src 'self'; frame-ancestors 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_WILDCARD_BINDS = {"0.0.0.0", "::", "[::]", ""}
_CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CORS_HEADERS = "authorization, content-type, x-requested-with, x-mlcask-csrf"
CSRF_HEADER = "x-mlcask-csrf"
_UI_API_PREFIX = "/ajax-api/"


def host_name(host: str) -> tuple[str, str | None]:
    """``(name, port)`` of a Host header (``[::1]:5000`` -> ``("::1", "5000")``), the name lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") and rest[1:] else None
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port or None
    return host, None


class _HostRule:
    def __init__(self, entry: str) -> None:
        self.any = entry.strip() == "*"
        name, port = host_name(entry)
        self.suffix = name[1:] if name.startswith("*.") else None
        self.name, self.port = name, port

    def matches(self, name: str, port: str | None) -> bool:
        if self.any:
            return True
        if self.port is not None and self.port != port:
            return False
        if self.suffix is not None:
            return name.endswith(self.suffix) and name != self.suffix.lstrip(".")
        return name == self.name


def _origin_host(origin: str) -> str | None:
    parsed = urllib.parse.urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return parsed.netloc.lower()


class SecurityMiddleware:
    """Pure ASGI middleware applying the rules of this module (see its docstring)."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        entries = list(LOOPBACK_HOSTS) + list(config.allowed_hosts)
        if config.host.strip().lower() not in _WILDCARD_BINDS:
            entries.append(config.host)
        self.rules = [_HostRule(entry) for entry in entries if entry.strip()]
        self.origins = {origin.rstrip("/") for origin in config.cors_allowed_origins}
        self.any_origin = "*" in self.origins

    def host_allowed(self, host: str) -> bool:
        name, port = host_name(host)
        return bool(name) and any(rule.matches(name, port) for rule in self.rules)

    def origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin.rstrip("/") in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.host_allowed(host):
            response = error_response("PERMISSION_DENIED", f"Invalid Host header {host[:100]!r}: this server answers "
                                      "only to its own names (start it with --allowed-hosts to add names).", 403)
            await response(scope, receive, send)
            return
        path = scope.get("path", "")
        bad = next((char for char in path if ord(char) < 32 or ord(char) == 127), None)
        if bad is not None:
            # Starlette's route patterns end in "$", which also matches before a trailing newline:
            # "/runs/get\n" would be served as "/runs/get". No path of this server has one.
            response = error_response("INVALID_PARAMETER_VALUE", f"Invalid request path {path[:200]!r}: it contains "
                                      f"the control character U+{ord(bad):04X}.", 400)
            await response(scope, receive, send)
            return
        origin = headers.get("origin")
        method = scope["method"]
        cors = origin is not None and self.origin_allowed(origin)
        if origin is not None and method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, receive, send, origin, cors)
            return
        if (origin is not None and method in _UNSAFE_METHODS and not cors
                and _origin_host(origin) != host.strip().lower()):
            response = error_response("PERMISSION_DENIED", f"Cross-origin {method} from {origin[:100]!r} refused: "
                                      "add the origin to --cors-allowed-origins to allow it.", 403)
            await response(scope, receive, send)
            return
        if method in _UNSAFE_METHODS and path.startswith(_UI_API_PREFIX) and CSRF_HEADER not in headers:
            response = error_response("PERMISSION_DENIED", f"{method} {path[:200]} refused: writes to the web UI's "
                                      f"/ajax-api endpoints must carry the {CSRF_HEADER} header (API clients use "
                                      "the /api twin of the same path).", 403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, self._sender(send, origin if cors else None))

    def _sender(self, send: Send, cors_origin: str | None) -> Any:
        extra = list(SECURITY_HEADERS)
        if cors_origin is not None:
            extra += [(b"access-control-allow-origin", cors_origin.encode("latin-1")), (b"vary", b"Origin")]
            if not self.any_origin:
                extra.append((b"access-control-allow-credentials", b"true"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, origin: str, allowed: bool) -> None:
        if not allowed:
            response = error_response("PERMISSION_DENIED", f"Cross-origin requests from {origin[:100]!r} are not "
                                      "allowed (see --cors-allowed-origins).", 403)
            await response(scope, receive, self._sender(send, None))
            return
        headers = {"access-control-allow-methods": _CORS_METHODS, "access-control-allow-headers": _CORS_HEADERS,
                   "access-control-max-age": "600"}
        await Response(status_code=204, headers=headers)(scope, receive, self._sender(send, origin))
