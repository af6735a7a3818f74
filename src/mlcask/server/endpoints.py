"""Declaring the tracking server's REST endpoints: one table drives routing, validation,
the ``/ajax-api`` twins and the OpenAPI document.

How to declare an endpoint
--------------------------
An endpoint is an :class:`Endpoint`: verb, path under ``/api/2.0/mlflow`` (Starlette
path syntax, ``{name}`` for a path parameter), the request's fields, a handler, and a
summary for the OpenAPI page::

    from mlcask.server.endpoints import Context, Endpoint, F, TAG_FIELDS

    def create_registered_model(ctx: Context, args: dict) -> dict:
        model = ctx.registry.create_registered_model(args["name"], tags=..., description=args.get("description"))
        return {"registered_model": registered_model_to_message(model)}

    ENDPOINTS = [
        Endpoint("POST", "/registered-models/create", create_registered_model,
                 fields=(F("name", "string", required=True),
                         F("tags", "object", repeated=True, fields=TAG_FIELDS),
                         F("description", "string")),
                 summary="Create a registered model.", group="Model registry"),
    ]

- **Request fields.** :class:`F` (``Field``) gives a name, a type (``string``, ``int64``,
  ``int32``, ``double``, ``bool``, ``enum`` with ``choices``, ``object`` with nested
  ``fields``, or ``json`` for any JSON value), ``required``, ``repeated`` (a list),
  ``default``, ``max_items`` (a repeated field's limit) and ``minimum``/``maximum`` (ints).
  GET endpoints read query parameters (a repeated field is a repeated key, ``bool`` is
  ``true``/``false``); POST, PATCH and DELETE read a JSON object body. Values are converted
  as MLflow's proto-JSON parser does (an int64 may be a number or a decimal string, a
  double may be ``"NaN"``; an enum is its name or number and arrives as its name), unknown
  fields are ignored, strings may not hold NUL characters (no database stores them), and a
  value of the wrong type or a missing required field is a 400
  ``INVALID_PARAMETER_VALUE`` naming the field, the type expected and the value given.
  Path parameters are strings, always required, added to ``args`` under their names.
- **The handler** is a plain function ``handler(ctx, args) -> dict | Response | None``,
  run in a worker thread (store calls block): ``args`` holds the validated fields that
  were given (defaults filled in), ``ctx`` the stores, the config and the request. A dict
  is sent as JSON, None as ``{}``, a Starlette ``Response`` as is. An
  :class:`~mlcask.exceptions.MlcaskException` becomes MLflow's error body with the
  status of its ``error_code`` (:mod:`mlcask.server.errors`).
- **Twins.** Every endpoint is also served under ``/ajax-api/2.0/mlflow`` (the web UI's
  prefix), unless ``ajax=False``. ``prefix`` puts one under another root
  (``/api/2.0/mlflow-artifacts``, ``/api/3.0/mlflow``).
- **Registering.** A module of endpoints exposes ``routes() -> list[Endpoint]``; the app
  (:mod:`mlcask.server.app`) builds Starlette routes from all of them with
  :func:`starlette_routes` (literal paths are matched before parameterised ones, so
  ``/logged-models/search`` wins over ``/logged-models/{model_id}``; a verb a path does not
  declare is a 405 with MLflow's error body) and the OpenAPI document with
  :func:`openapi_document`. JSON bodies over ``MAX_BODY_BYTES`` (16 MiB) are refused with 413.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlcask.entities.messages import double_from_json, int64_from_json
from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.server.errors import RequestTooLarge, error_response, exception_response, json_response

if TYPE_CHECKING:
    from mlcask.server.config import ServerConfig
    from mlcask.server.state import ServerState
    from mlcask.tracking.protocols import RegistryStore, TrackingStore

__all__ = ["API_PREFIX", "AJAX_PREFIX", "MLCASK_PREFIX", "Context", "Endpoint", "F", "Field", "TAG_FIELDS",
           "openapi_document", "ROUTE_KEY", "parse_request", "starlette_routes", "validate_args"]

_logger = logging.getLogger("mlcask.server")

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"
#: mlcask's own endpoints (the web UI's previews, model details and scoring; ajax twin under /ajax-api/2.0/mlcask).
MLCASK_PREFIX = "/api/2.0/mlcask"
#: Every verb is routed to the dispatcher, which answers MLflow's error body for those a path does not take.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: Where the dispatcher leaves the matched route template in the ASGI scope (for metrics and logs).
ROUTE_KEY = "mlcask.route"
#: The most a JSON request body may hold (MLflow's client sends far less; log-batch is ~1 MB at most).
MAX_BODY_BYTES = 16 * 1024 * 1024
_TYPES = ("string", "int64", "int32", "double", "bool", "enum", "object", "json")
_EXPECTED = {"string": "a string", "int64": "an integer", "int32": "a 32-bit integer", "double": "a number",
             "bool": "a boolean", "object": "an object", "json": "a JSON value"}
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}")


@dataclass(frozen=True)
class Field:
    """One field of a request (see the module's docstring)."""

    name: str
    type: str = "string"
    required: bool = False
    repeated: bool = False
    fields: tuple[Field, ...] = ()
    choices: tuple[str, ...] = ()
    default: Any = None
    max_items: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"Field {self.name!r}: type {self.type!r} is not one of {_TYPES}")
        if self.type == "enum" and not self.choices:
            raise ValueError(f"Field {self.name!r}: an enum needs choices")

    def expected(self, item: bool = False) -> str:
        """What a value must be (``item``: one item of a repeated field)."""
        kind = f"one of {', '.join(self.choices)}" if self.type == "enum" else _EXPECTED[self.type]
        return f"a list, each {kind}" if self.repeated and not item else kind


F = Field
#: The fields of a ``{key, value}`` tag (every tag message, and params).
TAG_FIELDS = (F("key", "string"), F("value", "string"))


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint: verb, path, request fields, handler (see the module's docstring)."""

    method: str
    path: str
    handler: Callable[[Context, dict[str, Any]], Any]
    fields: tuple[Field, ...] = ()
    summary: str = ""
    group: str = "Tracking"
    prefix: str = API_PREFIX
    ajax: bool = True
    response: Mapping[str, Any] | None = None  # an OpenAPI schema of the 200 body; a generic object for None

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def full_path(self) -> str:
        return self.prefix + self.path

    @property
    def ajax_path(self) -> str | None:
        if not self.ajax or not self.prefix.startswith("/api/"):
            return None
        return "/ajax-api/" + self.full_path.removeprefix("/api/")


@dataclass(slots=True)
class Context:
    """What a handler works with: the server's state (stores, config) and the request."""

    state: ServerState
    request: Request

    @property
    def tracking(self) -> TrackingStore:
        return self.state.tracking

    @property
    def registry(self) -> RegistryStore:
        return self.state.registry

    @property
    def config(self) -> ServerConfig:
        return self.state.config


# -- validation ------------------------------------------------------------------------------------------------------

def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:100] + f"... ({len(text)} characters)"


def _invalid(where: str, spec: Field, value: Any, item: bool = True) -> InvalidArgumentError:
    return InvalidArgumentError(f"Invalid value {_shown(value)} for parameter '{where}': expected "
                                f"{spec.expected(item)}, got {type(value).__name__}.")


def _scalar(spec: Field, value: Any, where: str) -> Any:
    """One value of ``spec``'s type, converted as MLflow's proto-JSON parser converts it."""
    kind = spec.type
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(where, spec, value)
        if "\x00" in value:  # no database stores it (PostgreSQL refuses it), and no name needs it
            raise InvalidArgumentError(f"Invalid value for parameter '{where}': it contains a NUL character.")
        return value
    if kind in ("int64", "int32"):
        try:
            number = int64_from_json(value, where)
        except InvalidArgumentError:
            raise _invalid(where, spec, value) from None
        if kind == "int32" and not -(2 ** 31) <= number < 2 ** 31:
            raise _invalid(where, spec, value)
        if spec.minimum is not None and number < spec.minimum or spec.maximum is not None and number > spec.maximum:
            raise InvalidArgumentError(f"Invalid value {number} for parameter '{where}': it must be between "
                                       f"{spec.minimum if spec.minimum is not None else '-inf'} and "
                                       f"{spec.maximum if spec.maximum is not None else 'inf'}.")
        return number
    if kind == "double":
        try:
            return double_from_json(value, where)
        except InvalidArgumentError:
            raise _invalid(where, spec, value) from None
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(where, spec, value)
        return value
    if kind == "enum":
        if isinstance(value, str) and value in spec.choices:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(spec.choices):
            return spec.choices[value]
        raise _invalid(where, spec, value)
    if kind == "object":
        if not isinstance(value, dict):
            raise _invalid(where, spec, value)
        return validate_args(spec.fields, value, f"{where}.")
    return value  # json: any value


def _checker(spec: Field) -> Callable[[Any, str], Any]:
    """A function checking and converting one value of ``spec`` (a list for repeated fields), fast for
    values that already have their type; ``name`` is only used in errors."""
    kind = spec.type
    if kind == "object":
        nested = _compiled(spec.fields)

        def one(value: Any, name: str) -> Any:
            if type(value) is dict:
                return nested(value, name + ".")
            return _scalar(spec, value, name)
    elif kind == "string":
        def one(value: Any, name: str) -> Any:
            return value if type(value) is str and "\x00" not in value else _scalar(spec, value, name)
    elif kind == "double":
        def one(value: Any, name: str) -> Any:
            return value if type(value) is float else _scalar(spec, value, name)
    elif kind == "int64" and spec.minimum is None and spec.maximum is None:
        def one(value: Any, name: str) -> Any:
            return value if type(value) is int and -(2 ** 63) <= value < 2 ** 63 else _scalar(spec, value, name)
    else:
        def one(value: Any, name: str) -> Any:
            return _scalar(spec, value, name)
    if not spec.repeated:
        return one

    def many(value: Any, name: str) -> list[Any]:
        if type(value) is not list:
            raise _invalid(name, spec, value, item=False)
        if spec.max_items is not None and len(value) > spec.max_items:
            raise InvalidArgumentError(f"Invalid value for parameter '{name}': at most {spec.max_items} "
                                       f"items are allowed, got {len(value)}.")
        return [one(item, f"{name}[{i}]") for i, item in enumerate(value)]

    return many


@functools.lru_cache(maxsize=None)
def _compiled(fields: tuple[Field, ...]) -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
    """The validator of an object with ``fields`` (built once per declaration)."""
    checks = [(spec, spec.name, spec.required, spec.default, _checker(spec)) for spec in fields]

    def validate(values: Mapping[str, Any], where: str) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for spec, name, required, default, check in checks:
            value = values.get(name)
            if value is None:
                if required:
                    raise InvalidArgumentError(f"Missing value for required parameter '{where}{name}': expected "
                                               f"{spec.expected()}.")
                if default is not None:
                    args[name] = default
                continue
            args[name] = check(value, where + name)
        return args

    return validate


def validate_args(fields: Sequence[Field], values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """The declared fields of ``values``, checked and converted; unknown keys are dropped."""
    return _compiled(tuple(fields))(values, where)


def _query_value(spec: Field, text: str, where: str) -> Any:
    """A query parameter's text as the JSON value its field takes."""
    if spec.type == "bool":
        if text.lower() not in ("true", "false"):
            raise InvalidArgumentError(f"Invalid value {_shown(text)} for parameter '{where}': expected a boolean "
                                       "(true or false).")
        return text.lower() == "true"
    if spec.type == "enum" and text.isascii() and text.isdigit():  # not "²", a digit int() refuses
        return int(text)
    if spec.type in ("object", "json"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidArgumentError(f"Invalid value {_shown(text)} for parameter '{where}': expected "
                                       f"{spec.expected()} as JSON.") from None
    return text


def _from_query(fields: Sequence[Field], query: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in fields:
        if spec.name not in query:
            continue
        if spec.repeated:
            values[spec.name] = [_query_value(spec, text, spec.name) for text in query.getlist(spec.name)]
        else:
            values[spec.name] = _query_value(spec, query[spec.name], spec.name)
    return values


async def _json_body(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"The request body ({length} bytes) exceeds this server's limit of {MAX_BODY_BYTES} "
                              "bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestTooLarge(f"The request body exceeds this server's limit of {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MlcaskException(f"The request body is not valid JSON: {exc}.", "BAD_REQUEST") from None
    if not isinstance(value, dict):
        raise MlcaskException(f"The request body must be a JSON object, got {type(value).__name__}.", "BAD_REQUEST")
    return value


async def parse_request(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    """The validated ``args`` of a request to ``endpoint`` (query or JSON body, plus path parameters)."""
    if request.method in ("GET", "HEAD"):
        values = _from_query(endpoint.fields, request.query_params) if request.query_params else {}
        if not request.query_params and request.headers.get("content-length", "0") != "0":
            values = await _json_body(request)  # MLflow also reads a GET's JSON body when there is no query
    else:
        values = await _json_body(request)
    args = validate_args(endpoint.fields, values)
    for name in endpoint.path_params:
        args[name] = request.path_params[name]
    return args


# -- routing ---------------------------------------------------------------------------------------------------------

def _dispatcher(path: str, endpoints: dict[str, Endpoint], state: ServerState) -> Callable[[Request], Any]:
    """One Starlette endpoint serving every verb declared on a path."""
    allowed = ", ".join(sorted(endpoints))

    async def serve(request: Request) -> Response:
        request.scope[ROUTE_KEY] = path
        endpoint = endpoints.get("GET" if request.method == "HEAD" else request.method)
        if endpoint is None:
            return error_response("ENDPOINT_NOT_FOUND", f"{request.method} is not allowed on {request.url.path} "
                                  f"(allowed: {allowed}).", status=405, headers={"allow": allowed})
        try:
            args = await parse_request(endpoint, request)
            result = await run_in_threadpool(endpoint.handler, Context(state, request), args)
        except Exception as exc:  # every error is an MLflow error body
            return exception_response(exc)
        if isinstance(result, Response):
            return result
        return json_response({} if result is None else result)

    return serve


def starlette_routes(endpoints: Iterable[Endpoint], state: ServerState) -> list[Route]:
    """Starlette routes for ``endpoints`` and their ``/ajax-api`` twins (one route per path)."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        for path in (endpoint.full_path, endpoint.ajax_path):
            if path is None:
                continue
            verbs = by_path.setdefault(path, {})
            if endpoint.method in verbs:
                raise ValueError(f"{endpoint.method} {path} is declared twice")
            verbs[endpoint.method] = endpoint
    # Literal paths first: /logged-models/search must win over /logged-models/{model_id}.
    ordered = sorted(by_path.items(), key=lambda item: len(_PATH_PARAM.findall(item[0])))
    return [Route(path, _dispatcher(path, verbs, state), methods=ALL_METHODS) for path, verbs in ordered]


# -- OpenAPI ---------------------------------------------------------------------------------------------------------

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int64": {"type": "integer", "format": "int64"},
    "int32": {"type": "integer", "format": "int32"},
    "double": {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]},
    "bool": {"type": "boolean"},
    "json": {},
}
ERROR_SCHEMA = {"type": "object", "required": ["error_code", "message"],
                "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}}}


def field_schema(spec: Field) -> dict[str, Any]:
    """The JSON Schema (OpenAPI 3.1) of one field."""
    if spec.type == "enum":
        schema: dict[str, Any] = {"type": "string", "enum": list(spec.choices)}
    elif spec.type == "object":
        schema = object_schema(spec.fields)
    else:
        schema = dict(_SCALAR_SCHEMAS[spec.type])
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    if spec.repeated:
        schema = {"type": "array", "items": schema}
        if spec.max_items is not None:
            schema["maxItems"] = spec.max_items
    if spec.description:
        schema["description"] = spec.description
    return schema


def object_schema(fields: Sequence[Field]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {f.name: field_schema(f) for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary or endpoint.path, "tags": [endpoint.group],
        "operationId": f"{endpoint.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', endpoint.full_path)}",
        "responses": {
            "200": {"description": "Success", "content": {"application/json": {
                "schema": dict(endpoint.response or {"type": "object"})}}},
            "default": {"description": "An MLflow error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        },
    }
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in endpoint.path_params]
    body_fields = tuple(f for f in endpoint.fields if f.name not in endpoint.path_params)
    if endpoint.method == "GET":
        for spec in body_fields:
            parameter: dict[str, Any] = {"name": spec.name, "in": "query", "required": spec.required,
                                         "schema": field_schema(spec)}
            if spec.repeated:
                parameter.update(style="form", explode=True)
            if spec.type in ("object", "json"):
                parameter = {"name": spec.name, "in": "query", "required": spec.required,
                             "content": {"application/json": {"schema": field_schema(spec)}}}
            parameters.append(parameter)
    elif body_fields:
        operation["requestBody"] = {"required": any(f.required for f in body_fields), "content": {
            "application/json": {"schema": object_schema(body_fields)}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def openapi_document(endpoints: Iterable[Endpoint], *, title: str, version: str,
                     include_ajax: bool = False) -> dict[str, Any]:
    """An OpenAPI 3.1 document of ``endpoints`` (their ``/ajax-api`` twins too with ``include_ajax``)."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        for path in (endpoint.full_path, endpoint.ajax_path if include_ajax else None):
            if path is not None:
                paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {"openapi": "3.1.0", "info": {"title": title, "version": version}, "paths": paths}
