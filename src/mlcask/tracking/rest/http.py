"""One pooled HTTP client per tracking server, with MLflow's credentials, retries and errors.

The REST tracking store, the REST registry store and the artifact proxy repository of one
server share one :class:`ServerClient` (one ``httpx.Client``: one connection pool), from
:func:`server_client`. Settings are MLflow's environment variables, so a team's existing
configuration keeps working:

- ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``: HTTP Basic credentials;
  else ``MLFLOW_TRACKING_TOKEN``: a Bearer token. Read on every request (a new token takes
  effect at once); user info in the tracking URI (``http://user:pass@host``) is used
  when neither is set, and never shown in a message.
- ``MLFLOW_TRACKING_INSECURE_TLS=true`` skips TLS verification;
  ``MLFLOW_TRACKING_SERVER_CERT_PATH`` names a CA file or folder (the two exclude each other);
  ``MLFLOW_TRACKING_CLIENT_CERT_PATH`` a PEM file with a client certificate and its key.
- ``MLFLOW_HTTP_REQUEST_TIMEOUT`` (seconds, default 120), ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``
  (default 7), ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`` (default 2) and
  ``MLFLOW_HTTP_REQUEST_BACKOFF_JITTER`` (default 1.0).

Answers 429 and 503 are retried with exponential backoff (``factor * 2**attempt`` seconds
plus jitter, at most 120 s each), waiting as long as a ``Retry-After`` header asks when it
says so (up to 120 s). A connection that could not be made is retried for every call (the
server saw nothing); a connection lost after the request was sent only for idempotent calls.

Errors: an MLflow error body ``{"error_code": ..., "message": ...}`` becomes an
:class:`~mlcask.exceptions.MlcaskException` with the server's code and message
(:class:`~mlcask.exceptions.InvalidArgumentError` for ``INVALID_PARAMETER_VALUE``, as
local stores raise); any other failure names the method, the URL and the HTTP status; a 401
says which variables to set. Redirects are not followed (they could carry the credentials to
another host): the error names where the server points.
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from mlcask.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_TIMEOUT,
    MLFLOW_TRACKING_CLIENT_CERT_PATH,
    MLFLOW_TRACKING_INSECURE_TLS,
    MLFLOW_TRACKING_PASSWORD,
    MLFLOW_TRACKING_SERVER_CERT_PATH,
    MLFLOW_TRACKING_TOKEN,
    MLFLOW_TRACKING_USERNAME,
    EnvironmentVariable,
)
from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError, MlcaskException
from mlcask.utils.redaction import redact_uri

__all__ = ["API_PREFIX", "ServerClient", "ServerStore", "Settings", "error_from_response", "server_client", "split_server_uri"]

API_PREFIX = "/api/2.0"
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_WAIT_S = 120.0
_MAX_RETRIES_LIMIT = 10
_MAX_BACKOFF_FACTOR_LIMIT = 120
_SHOWN_BODY = 500

# The MLflow error code for an HTTP status, for failures without an MLflow error body.
_STATUS_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "ENDPOINT_NOT_FOUND",
                 409: "RESOURCE_CONFLICT", 429: "REQUEST_LIMIT_EXCEEDED", 501: "NOT_IMPLEMENTED",
                 503: "TEMPORARILY_UNAVAILABLE"}


def _env_number(variable: EnvironmentVariable, kind: type, low: float, high: float | None = None) -> Any:
    name, raw = variable.name, variable.get_raw()
    if raw is None or raw.strip() == "":
        return kind(variable.default)
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidArgumentError(f"Environment variable {name}={raw!r}: expected a {kind.__name__} "
                                   f"number.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgumentError(f"Environment variable {name}={raw!r}: it must be {bounds}.")
    return value


def _env_flag(variable: EnvironmentVariable) -> bool:
    raw = (variable.get_raw() or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise InvalidArgumentError(f"Environment variable {variable.name}={variable.get_raw()!r}: expected true or false.")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment says about talking to a server (see the module docstring)."""

    timeout: float = 120.0
    max_retries: int = 7
    backoff_factor: float = 2.0
    backoff_jitter: float = 1.0
    verify: bool | str = True
    client_cert: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        insecure = _env_flag(MLFLOW_TRACKING_INSECURE_TLS)
        ca_bundle = MLFLOW_TRACKING_SERVER_CERT_PATH.get_raw() or None
        if insecure and ca_bundle:
            raise InvalidArgumentError("MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both "
                                       "set: verify the server with the certificate, or not at all, not both.")
        return cls(
            timeout=_env_number(MLFLOW_HTTP_REQUEST_TIMEOUT, float, 0.001),
            max_retries=_env_number(MLFLOW_HTTP_REQUEST_MAX_RETRIES, int, 0, _MAX_RETRIES_LIMIT),
            backoff_factor=_env_number(MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, float, 0, _MAX_BACKOFF_FACTOR_LIMIT),
            backoff_jitter=_env_number(MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, float, 0),
            verify=False if insecure else (ca_bundle or True),
            client_cert=MLFLOW_TRACKING_CLIENT_CERT_PATH.get_raw() or None,
        )


def _tls(settings: Settings) -> ssl.SSLContext | bool:
    """httpx's ``verify``: True (its CA bundle) unless a CA file or folder, no checking, or a client
    certificate (a PEM file with the certificate and its key) is configured."""
    if settings.verify is True and not settings.client_cert:
        return True
    if settings.verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(settings.verify, str):
        where = settings.verify
        if not os.path.exists(where):
            raise InvalidArgumentError(f"MLFLOW_TRACKING_SERVER_CERT_PATH='{where}': no such file or folder.")
        context = (ssl.create_default_context(capath=where) if os.path.isdir(where)
                   else ssl.create_default_context(cafile=where))
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    if settings.client_cert:
        try:
            context.load_cert_chain(settings.client_cert)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidArgumentError(f"MLFLOW_TRACKING_CLIENT_CERT_PATH='{settings.client_cert}': cannot load a "
                                       f"certificate and key from it ({exc}).") from None
    return context


def split_server_uri(uri: str) -> tuple[str, tuple[str, str] | None]:
    """``(base URL without user info or trailing slash, (user, password) or None)`` of a server URI."""
    parsed = urllib.parse.urlsplit(str(uri))
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise InvalidArgumentError(f"Tracking server URI {redact(uri)!r}: expected http(s)://host[:port][/prefix].")
    userinfo = None
    if parsed.username is not None:
        userinfo = (urllib.parse.unquote(parsed.username), urllib.parse.unquote(parsed.password or ""))
    netloc = parsed.netloc.rpartition("@")[2]
    base = urllib.parse.urlunsplit((parsed.scheme.lower(), netloc, parsed.path.rstrip("/"), "", ""))
    return base, userinfo


redact = redact_uri  # what a message may show of a server URI


def _auth_header(userinfo: tuple[str, str] | None) -> str | None:
    username = MLFLOW_TRACKING_USERNAME.get_raw()
    password = MLFLOW_TRACKING_PASSWORD.get_raw()
    token = MLFLOW_TRACKING_TOKEN.get_raw()
    if username and password:
        userinfo = (username, password)
    elif token:
        return f"Bearer {token}"
    if userinfo is None:
        return None
    return "Basic " + base64.b64encode(f"{userinfo[0]}:{userinfo[1]}".encode()).decode()


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (a number or an HTTP date), else None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_CREDENTIALS_HINT = ("The server wants credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, "
                     "or MLFLOW_TRACKING_TOKEN.")


def _hint(status: int, message: str) -> str:
    if status == 401 and "MLFLOW_TRACKING_USERNAME" not in message:
        return f" {_CREDENTIALS_HINT}"
    if status == 403 and "permission" not in message.lower():
        return " The credentials given lack the permission for this call."
    return ""


def _redirect_error(response: httpx.Response, method: str, url: str) -> MlcaskException:
    target = redact(response.headers.get("Location", "")) or "elsewhere"
    return MlcaskException(f"{method} {url} was redirected (HTTP {response.status_code}) to {target}; mlcask does not "
                           "follow redirects (they could carry your credentials to another host). Use the URL the "
                           "server redirects to as the tracking URI.", error_code="BAD_REQUEST")


def error_from_response(response: httpx.Response, method: str, url: str) -> MlcaskException:
    """The exception for a failed answer: the server's MLflow error (with what to set for a 401), or one
    naming the URL and status."""
    body: Any = None
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        pass
    if isinstance(body, dict) and isinstance(body.get("error_code"), str):
        message = body.get("message")
        message = message if isinstance(message, str) and message else f"{body['error_code']} ({method} {url})"
        message += _hint(response.status_code, message)
        if body["error_code"] == INVALID_PARAMETER_VALUE:
            return InvalidArgumentError(message, error_code=INVALID_PARAMETER_VALUE)
        return MlcaskException(message, error_code=body["error_code"])
    try:
        text = response.text.strip()
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        text = ""
    shown = f": {text[:_SHOWN_BODY]}{'...' if len(text) > _SHOWN_BODY else ''}" if text else ""
    code = _STATUS_CODES.get(response.status_code, "INTERNAL_ERROR" if response.status_code >= 500 else "BAD_REQUEST")
    message = f"{method} {url} failed with HTTP {response.status_code} {response.reason_phrase}{shown}."
    return MlcaskException(message + _hint(response.status_code, message), error_code=code)


class ServerClient:
    """The pooled connection to one tracking server (``base_url``: scheme, host, port and path prefix).

    Thread-safe; one per base URL and settings, from :func:`server_client`.
    """

    def __init__(self, base_url: str, userinfo: tuple[str, str] | None = None,
                 settings: Settings | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings or Settings.from_env()
        self._userinfo = userinfo
        self._http = httpx.Client(verify=_tls(self.settings), timeout=self.settings.timeout, follow_redirects=False,
                                  limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    def __repr__(self) -> str:
        return f"ServerClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``) on this server."""
        return f"{self.base_url}{path}"

    # -- raw requests --------------------------------------------------------------------------
    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": "mlcask"}
        auth = _auth_header(self._userinfo)
        if auth:
            headers["Authorization"] = auth
        headers.update(extra or {})
        return headers

    @staticmethod
    def _wait(policy: Settings, attempt: int, response: httpx.Response | None) -> None:
        asked = _retry_after(response) if response is not None else None
        backoff = policy.backoff_factor * (2 ** attempt)
        if policy.backoff_jitter:
            backoff += random.random() * policy.backoff_jitter
        time.sleep(min(MAX_WAIT_S, asked if asked is not None else backoff))

    def send(self, method: str, path: str, *, params: Any = None, json_body: Any = None,
             content: Callable[[], Any] | bytes | None = None, headers: dict[str, str] | None = None,
             stream: bool = False, idempotent: bool | None = None) -> httpx.Response:
        """Send a request, retrying as the module docstring says; returns a successful (2xx) response.

        ``content`` is bytes or a callable giving a fresh body for each attempt (a file opened anew).
        With ``stream`` the body is not read: use the response in a ``with`` block or close it.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url(path)
        policy = Settings.from_env()  # retries and backoff as the environment says now
        attempt = 0
        while True:
            body = content() if callable(content) else content
            request = self._http.build_request(method, url, params=params, json=json_body, content=body,
                                               headers=self._headers(headers))
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt < policy.max_retries and (never_sent or idempotent):
                    self._wait(policy, attempt, None)
                    attempt += 1
                    continue
                raise self._transport_error(exc, method, url) from exc
            finally:
                if hasattr(body, "close"):
                    body.close()
            if response.is_success:
                return response
            if response.status_code in RETRY_STATUSES and attempt < policy.max_retries:
                response.close()
                self._wait(policy, attempt, response)
                attempt += 1
                continue
            if stream:
                response.read()
            if response.is_redirect:
                raise _redirect_error(response, method, url)
            raise error_from_response(response, method, url)

    def _transport_error(self, exc: httpx.TransportError, method: str, url: str) -> MlcaskException:
        if isinstance(exc, httpx.TimeoutException):
            return MlcaskException(f"{method} {url} timed out ({exc.__class__.__name__}) after "
                                   f"{self.settings.timeout:g} s. Set MLFLOW_HTTP_REQUEST_TIMEOUT to wait longer.",
                                   error_code="TEMPORARILY_UNAVAILABLE")
        return MlcaskException(f"{method} {url} failed: {exc.__class__.__name__}: {exc or 'no detail'}. Is the "
                               f"tracking server at {self.base_url} running and reachable?",
                               error_code="TEMPORARILY_UNAVAILABLE")

    def iter_bytes(self, method: str, path: str, chunk_size: int = 1 << 20, **kwargs: Any) -> Iterator[bytes]:
        """The body of a successful response, streamed in chunks; a connection lost midway is an error
        naming the URL (the caller discards what it got)."""
        response = self.send(method, path, stream=True, **kwargs)
        try:
            yield from response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise MlcaskException(f"{method} {self.url(path)} broke off while its body was read: "
                                  f"{exc.__class__.__name__}: {exc or 'no detail'}.",
                                  error_code="TEMPORARILY_UNAVAILABLE") from exc
        finally:
            response.close()

    # -- MLflow's JSON API -----------------------------------------------------------------------
    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None, *,
             idempotent: bool | None = None) -> dict[str, Any]:
        """Call ``/api/2.0<endpoint>`` (``/mlflow/runs/get``) with ``body`` (query parameters for GET,
        JSON otherwise; None values left out); returns the JSON object answered ({} for an empty body)."""
        method = method.upper()
        body = {k: v for k, v in (body or {}).items() if v is not None}
        path = f"{API_PREFIX}{endpoint}"
        if method == "GET":
            response = self.send(method, path, params=_query(body), idempotent=idempotent)
        else:
            response = self.send(method, path, json_body=body, idempotent=idempotent)
        return _json_object(response, method, self.url(path))


def _query(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Query parameters of a GET body: lists repeat their key, booleans are ``true``/``false``."""
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, "true" if item is True else "false" if item is False else str(item)))
    return pairs


def _json_object(response: httpx.Response, method: str, url: str) -> dict[str, Any]:
    text = response.text
    if not text.strip():
        return {}
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        shown = text.strip()[:_SHOWN_BODY]
        raise MlcaskException(f"{method} {url} answered HTTP {response.status_code} with a body that is not a JSON "
                              f"object (is this an MLflow tracking server?): {shown!r}", error_code="INTERNAL_ERROR")
    return answer


_clients: dict[tuple[Any, ...], ServerClient] = {}
_lock = threading.Lock()


def server_client(uri: str) -> ServerClient:
    """The shared :class:`ServerClient` of the server ``uri`` names (a tracking URI or a base URL).

    One per base URL, user info and connection settings (TLS, client certificate, timeout: a changed
    variable gives a new client; retries are read for each request); a forked child makes its own
    (connections are not shared across a fork).
    """
    base, userinfo = split_server_uri(uri)
    settings = Settings.from_env()
    key = (base, userinfo, settings.verify, settings.client_cert, settings.timeout)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = ServerClient(base, userinfo, settings)
    return found


def close_all() -> None:
    """Close every pooled client (tests; a process that is done with its servers)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _clients.clear()  # the parent's sockets are not ours to use or close


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


class ServerStore:
    """What the REST stores share: the server's base URI and its pooled client.

    Parameters
    ----------
    base_uri
        The server's URI, ``http(s)://host:port[/prefix]``; a bad URI or setting fails here.
    """

    def __init__(self, base_uri: str) -> None:
        self.base_uri = str(base_uri).rstrip("/")
        server_client(self.base_uri)

    @property
    def _client(self) -> ServerClient:
        """The server's pooled client for the settings in effect now (TLS and timeout variables included)."""
        return server_client(self.base_uri)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.base_uri)!r})"

    def _call(self, method: str, endpoint: str, body: dict[str, Any] | None = None,
              idempotent: bool | None = None) -> dict[str, Any]:
        return self._client.call(method, endpoint, body, idempotent=idempotent)
