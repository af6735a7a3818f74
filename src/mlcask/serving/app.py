"""The scoring app: MLflow's ``/invocations`` protocol and the Open Inference Protocol v2.

:class:`ScoringApp` is a Starlette app that answers ``POST /invocations`` itself, before
Starlette's middleware and router (the same handler, limits, errors and headers; the
scoring hot path is mostly the HTTP layer's own cost), and everything else through them.
A body the hot path takes (:mod:`mlcask.serving.fastpath`) skips the DataFrame; any
other goes the general way.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mlcask.exceptions import MlcaskException
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.serving.codec import LARGE_BODY_BYTES, dumps
from mlcask.serving.fastpath import NumericRows, as_frame, predict_rows
from mlcask.serving.oip import oip_request_to_data, predictions_to_oip_outputs, tensor_metadata
from mlcask.serving.scoring import (
    CONTENT_TYPE_CSV,
    CONTENT_TYPE_JSON,
    INTERNAL_ERROR,
    REQUEST_LIMIT_EXCEEDED,
    UNSUPPORTED_MEDIA_TYPE,
    ServingError,
    bad_input,
    content_type,
    internal_error,
    off_loop,
    predict,
    read_body,
    run_model,
)
from mlcask.serving.state import ServedModel

_logger = logging.getLogger("mlcask.serving")

DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024


def json_response(content: Any, status: int = 200) -> Response:
    return Response(dumps(content), status_code=status, media_type=CONTENT_TYPE_JSON)


def _error(content: dict[str, Any], error: ServingError) -> Response:
    try:
        response = json_response(content, error.status)
    except TypeError:  # a message quoting a lone surrogate: escaped by the standard library instead
        import json

        response = Response(json.dumps(content), status_code=error.status, media_type=CONTENT_TYPE_JSON)
    if error.close:  # the rest of the body is not read: the connection cannot carry another request
        response.headers["connection"] = "close"
    return response


def error_response(error: ServingError) -> Response:
    return _error({"error_code": error.code, "message": error.message}, error)


def oip_error_response(error: ServingError) -> Response:
    return _error({"error": error.message}, error)


# -- loading ---------------------------------------------------------------------------------

def _name_and_version(model_uri: str, model_dir: Any) -> tuple[str, str | None]:
    """The model's name (registered name or logged model id) and, when the URI says it, its version."""
    uri = str(model_uri)
    if is_models_uri(uri):
        parsed = parse_models_uri(uri)
        version = str(parsed.version) if parsed.version is not None else None
        return parsed.name or parsed.model_id, version
    name = getattr(model_dir, "name", None) or uri.rstrip("/").rsplit("/", 1)[-1]
    return name, None


def _batching_enabled(served: ServedModel, batching: bool | None) -> bool:
    schema = served.input_schema
    tensor = schema is not None and schema.is_tensor_spec()
    if batching is None:
        return served.builtin_flavor is not None and not tensor
    if batching and tensor:
        _logger.info("batching is off for %s: its signature takes tensors, not columns", served.name)
        return False
    return bool(batching)


def load_served_model(model_uri: str, *, model_name: str | None = None, max_batch_size: int = 64,
                      max_wait_ms: float = 2.0, batching: bool | None = None, timeout: float = 60.0,
                      max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_decoded_bytes: int | None = None,
                      body_timeout: float | None = 60.0) -> ServedModel:
    """Load the model at ``model_uri`` once and describe it for the app."""
    from mlcask.pyfunc import load_model

    started = time.time()
    model = load_model(model_uri)
    meta = model.metadata
    name, version = _name_and_version(model_uri, model.model_path)
    served = ServedModel(
        name=model_name or name, uri=str(model_uri), model=model, metadata=meta,
        flavors=dict(meta.flavors), serving_input_example=model.serving_input_example,
        signature=meta.signature, version=version, timeout=float(timeout),
        max_body_bytes=int(max_body_bytes),
        max_decoded_bytes=int(max_decoded_bytes) if max_decoded_bytes is not None else 4 * int(max_body_bytes),
        body_timeout=float(body_timeout) if body_timeout is not None else None,
    )
    if _batching_enabled(served, batching):
        from mlcask.serving.batching import Batcher

        reader = NumericRows.for_schema(served.input_schema)

        def predict_rows_of(rows: Any) -> Any:  # the hot path's requests come as arrays
            return run_model(model, as_frame(rows, reader) if isinstance(rows, np.ndarray) else rows, None)

        served.batcher = Batcher(predict_rows_of, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
    if served.signature is None or served.input_schema is None:
        _logger.warning("model %s has no input signature: requests are passed to it unchecked and "
                        "the OpenAPI request schema is free-form", served.name)
    _logger.info("serving model %s from %s (flavors %s, batching %s) loaded in %.2fs", served.name,
                 served.uri, sorted(served.flavors), "on" if served.batcher else "off", time.time() - started)
    return served


# -- MLflow's endpoints -----------------------------------------------------------------------

def parse_invocation(body: bytes, mime: str, served: ServedModel,
                     payload: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """An ``/invocations`` body (JSON, CSV or Parquet) as ``(data, params)``; ``payload``: the JSON body
    already decoded (not None)."""
    from mlcask.serving import codec, tables

    try:
        if mime == CONTENT_TYPE_JSON:
            if payload is None:
                return codec.parse_json(body, served.input_schema)
            return codec.parse_payload(payload, served.input_schema)
        if mime == CONTENT_TYPE_CSV:
            return tables.parse_csv(body, served.input_schema), None
        return tables.parse_parquet(body, served.max_decoded_bytes), None
    except tables.DecodedSizeError as exc:
        raise ServingError(413, REQUEST_LIMIT_EXCEEDED, exc.message) from None
    except MlcaskException as exc:
        raise bad_input(exc) from None
    except ImportError as exc:
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE, f"Parquet input needs pyarrow: {exc}.") from None


def render_predictions(predictions: Any) -> bytes:
    from mlcask.serving.codec import predictions_json

    try:
        return predictions_json(predictions)
    except TypeError as exc:
        raise ServingError(500, INTERNAL_ERROR, f"The model's output cannot be sent as JSON: {exc}") from None


_MEDIA_TYPES: dict[str, str] = {}  # Content-Type headers already taken, and their media type


def _media_type(header: str | None) -> str:
    """:func:`~mlcask.serving.scoring.content_type`, remembered for the few headers clients send."""
    mime = _MEDIA_TYPES.get(header) if header is not None else None
    if mime is None:
        mime = content_type(header)  # a refused header raises here, each time
        if len(_MEDIA_TYPES) < 64:
            _MEDIA_TYPES[header] = mime
    return mime


def _decoded(body: bytes, mime: str, reader: NumericRows | None) -> Any:
    """A small JSON body decoded (None if it is not one, or not valid for orjson: the general path reads it)."""
    if reader is None or mime != CONTENT_TYPE_JSON or len(body) > LARGE_BODY_BYTES:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


async def answer_invocation(request: Request, reader: NumericRows | None) -> Response:
    """``POST /invocations``: the hot path for the bodies ``reader`` takes, the general path for the rest."""
    answer = await invocation_answer(request, reader)
    return answer if isinstance(answer, Response) else Response(answer, media_type=CONTENT_TYPE_JSON)


async def invocation_answer(request: Request, reader: NumericRows | None) -> bytes | Response:
    """:func:`answer_invocation`'s answer: the predictions' JSON (a 200 reply), or the error's response."""
    served: ServedModel = request.app.state.served
    try:
        mime = _media_type(request.headers.get("content-type"))
        body = await read_body(request, served.max_body_bytes, served.body_timeout)
        payload = _decoded(body, mime, reader)
        rows = reader.read(payload) if payload is not None else None
        if rows is not None:
            predictions = await predict_rows(served, reader, rows)
        else:
            data, params = await off_loop(body, parse_invocation, body, mime, served, payload)
            predictions = await predict(served, data, params)
        content = await off_loop(body, render_predictions, predictions)
    except ServingError as error:
        return error_response(error)
    except Exception:
        _logger.exception("internal error in /invocations")
        return error_response(internal_error("handling the request"))
    return content


async def invocations(request: Request) -> Response:
    return await answer_invocation(request, getattr(request.app, "fast_rows", None))


async def ping(request: Request) -> Response:
    return Response("\n", media_type=CONTENT_TYPE_JSON)


async def version(request: Request) -> Response:
    from mlcask.version import __version__

    return Response(__version__, media_type="text/plain")


# -- Open Inference Protocol v2 -------------------------------------------------------------------

def _check_model(request: Request) -> ServedModel:
    served: ServedModel = request.app.state.served
    name = request.path_params["name"]
    if name != served.name:
        raise ServingError(404, "RESOURCE_DOES_NOT_EXIST", f"Model '{name}' is not served here; this "
                                                           f"server serves '{served.name}'.")
    version = request.path_params.get("version")
    if version is not None and version not in served.versions:
        raise ServingError(404, "RESOURCE_DOES_NOT_EXIST",
                           f"Model '{name}' has no version '{version}' here; served versions: {served.versions}.")
    return served


async def v2_server_metadata(request: Request) -> Response:
    from mlcask.version import __version__

    return json_response({"name": "mlcask", "version": __version__, "extensions": []})


async def v2_live(request: Request) -> Response:
    return json_response({"live": True})


async def v2_ready(request: Request) -> Response:
    return json_response({"ready": True})


def model_metadata(served: ServedModel) -> dict[str, Any]:
    """OIP model metadata: inputs and outputs from the signature."""
    return {
        "name": served.name,
        "versions": served.versions,
        "platform": "mlcask",
        "inputs": tensor_metadata(served.input_schema, "input"),
        "outputs": tensor_metadata(served.output_schema, "output"),
    }


async def v2_model_metadata(request: Request) -> Response:
    try:
        served = _check_model(request)
    except ServingError as error:
        return oip_error_response(error)
    return json_response(model_metadata(served))


async def v2_model_ready(request: Request) -> Response:
    try:
        served = _check_model(request)
    except ServingError as error:
        return oip_error_response(error)
    return json_response({"name": served.name, "ready": True})


def parse_infer(body: bytes, served: ServedModel) -> tuple[Any, dict[str, Any] | None, str | None]:
    """An OIP infer body as ``(data, params, request id)``."""
    from mlcask.serving.codec import loads

    try:
        payload = loads(body)
        data, params = oip_request_to_data(payload, served.input_schema)
    except MlcaskException as exc:
        raise bad_input(exc) from None
    return data, params, payload.get("id")


def render_infer(predictions: Any, served: ServedModel, request_id: str | None) -> bytes:
    try:
        outputs = predictions_to_oip_outputs(predictions, served.output_schema)
    except MlcaskException as exc:
        raise ServingError(500, INTERNAL_ERROR, exc.message) from None
    result = {"model_name": served.name, "id": request_id if request_id is not None else _new_id(),
              "outputs": outputs}
    if served.version:
        result["model_version"] = served.version
    try:
        return dumps(result)
    except TypeError as exc:
        raise ServingError(500, INTERNAL_ERROR, f"The model's output cannot be sent as JSON: {exc}") from None


async def v2_infer(request: Request) -> Response:
    try:
        served = _check_model(request)
        body = await read_body(request, served.max_body_bytes, served.body_timeout)
        data, params, request_id = await off_loop(body, parse_infer, body, served)
        predictions = await predict(served, data, params)
        content = await off_loop(body, render_infer, predictions, served, request_id)
    except ServingError as error:
        return oip_error_response(error)
    except Exception:
        _logger.exception("internal error in an OIP infer request")
        return oip_error_response(internal_error("handling the request"))
    return Response(content, media_type=CONTENT_TYPE_JSON)


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())


# -- the app ---------------------------------------------------------------------------------------

async def openapi_json(request: Request) -> Response:
    served: ServedModel = request.app.state.served
    doc = getattr(request.app.state, "openapi", None)
    if doc is None:
        from mlcask.serving.openapi import openapi_document

        doc = request.app.state.openapi = dumps(openapi_document(served))
    return Response(doc, media_type=CONTENT_TYPE_JSON)


_JSON = CONTENT_TYPE_JSON.encode("latin-1")


def _route_path(scope: Scope) -> str:
    """The request's path below the app's root path (as Starlette's router matches it)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


class ScoringApp(Starlette):
    """The scoring app: ``POST /invocations`` answered before Starlette's middleware, the rest through it."""

    def __init__(self, served: ServedModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state.served = served
        self.fast_rows = NumericRows.for_schema(served.input_schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _route_path(scope) == "/invocations":
            scope["app"] = self
            answer = await invocation_answer(Request(scope, receive), self.fast_rows)
            if isinstance(answer, Response):
                await answer(scope, receive, send)
            else:  # what Response(answer, media_type=CONTENT_TYPE_JSON) sends, without building one
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", b"%d" % len(answer)), (b"content-type", _JSON)]})
                await send({"type": "http.response.body", "body": answer})
            return
        await super().__call__(scope, receive, send)


def build_app(served: ServedModel) -> ScoringApp:
    """The scoring app serving ``served`` (already loaded)."""
    from mlcask.serving.pages import page_routes

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/v2", v2_server_metadata, methods=["GET"]),
        Route("/v2/health/live", v2_live, methods=["GET"]),
        Route("/v2/health/ready", v2_ready, methods=["GET"]),
        Route("/v2/models/{name}", v2_model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", v2_model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
        *page_routes(served),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        if served.batcher is not None:
            await served.batcher.close()

    return ScoringApp(served, routes=routes, lifespan=lifespan)


def create_app(model_uri: str, *, model_name: str | None = None, max_batch_size: int = 64,
               max_wait_ms: float = 2.0, batching: bool | None = None, timeout: float = 60.0,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_decoded_bytes: int | None = None,
               body_timeout: float | None = 60.0) -> Starlette:
    """A scoring app for the model at ``model_uri`` (a path, ``runs:/`` or ``models:/`` URI).

    The model is loaded here, once. ``batching=None`` merges concurrent requests only for
    built-in flavors (sklearn, xgboost, lightgbm) with column inputs; ``True`` turns it on
    for any column-based model (custom PythonModels must then be row-wise), ``False`` off.
    ``timeout``: seconds a predict may take (504 after). ``max_body_bytes``: the largest
    body taken (413 over). ``max_decoded_bytes``: the most a Parquet body may decode to
    (413 over; default 4 x ``max_body_bytes``). ``body_timeout``: seconds the whole body
    may take to arrive (408 after; None: no limit).
    """
    served = load_served_model(model_uri, model_name=model_name, max_batch_size=max_batch_size,
                               max_wait_ms=max_wait_ms, batching=batching, timeout=timeout,
                               max_body_bytes=max_body_bytes, max_decoded_bytes=max_decoded_bytes,
                               body_timeout=body_timeout)
    return build_app(served)


SERVE_OPTIONS_ENV = "MLCASK_SERVE_OPTIONS"


def app_from_env() -> Starlette:
    """App factory for uvicorn worker processes: the options come as JSON in MLCASK_SERVE_OPTIONS."""
    import json
    import os

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    raw = os.environ.get(SERVE_OPTIONS_ENV)
    if not raw:
        raise RuntimeError(f"{SERVE_OPTIONS_ENV} is not set; start the server with `mlcask models serve`.")
    options = json.loads(raw)
    return create_app(options.pop("model_uri"), **options)
