"""The scoring app: MLflow's ``/invocations`` protocol and the Open Inference Protocol v2."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlcask.exceptions import BAD_REQUEST, INVALID_PARAMETER_VALUE, InvalidInputError, MlcaskException
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.serving.convert import (
    dumps,
    oip_request_to_data,
    predictions_body,
    predictions_to_oip_outputs,
    tensor_metadata,
)
from mlcask.serving.state import ServedModel

_logger = logging.getLogger("mlcask.serving")

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV, CONTENT_TYPE_PARQUET)

# Error codes in bodies {"error_code": ..., "message": ...} (MLflow's names).
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
UNSUPPORTED_MEDIA_TYPE = "BAD_REQUEST"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ServingError(Exception):
    """An HTTP error with a status, an MLflow error code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(content: Any, status: int = 200) -> Response:
    return Response(dumps(content), status_code=status, media_type=CONTENT_TYPE_JSON)


def error_response(error: ServingError) -> Response:
    return json_response({"error_code": error.code, "message": error.message}, error.status)


def oip_error_response(error: ServingError) -> Response:
    return json_response({"error": error.message}, error.status)


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


def _serving_input_example(model: Any) -> str | None:
    info = model.metadata.saved_input_example_info or {}
    path = info.get("serving_input_path")
    if not path or model.model_path is None:
        return None
    file = model.model_path / path
    try:
        return file.read_text()
    except OSError:
        return None


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
                      max_body_bytes: int = 50 * 1024 * 1024) -> ServedModel:
    """Load the model at ``model_uri`` once and describe it for the app."""
    from mlcask.pyfunc import load_model

    started = time.time()
    model = load_model(model_uri)
    meta = model.metadata
    name, version = _name_and_version(model_uri, model.model_path)
    served = ServedModel(
        name=model_name or name, uri=str(model_uri), model=model, metadata=meta,
        flavors=dict(meta.flavors), serving_input_example=_serving_input_example(model),
        signature=meta.signature, version=version, timeout=float(timeout),
        max_body_bytes=int(max_body_bytes),
    )
    if _batching_enabled(served, batching):
        from mlcask.serving.batching import Batcher

        predict = model.predict
        served.batcher = Batcher(lambda frame: predict(frame), max_batch_size=max_batch_size,
                                 max_wait_ms=max_wait_ms)
    if served.signature is None or served.input_schema is None:
        _logger.warning("model %s has no input signature: requests are passed to it unchecked and "
                        "the OpenAPI request schema is free-form", served.name)
    _logger.info("serving model %s from %s (flavors %s, batching %s) loaded in %.2fs", served.name,
                 served.uri, sorted(served.flavors), "on" if served.batcher else "off", time.time() - started)
    return served


# -- request bodies and predicting -----------------------------------------------------------------

async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes by Content-Length or as it streams."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ServingError(400, BAD_REQUEST, f"Invalid Content-Length header {length!r}.") from None
        if declared > limit:
            raise ServingError(413, REQUEST_LIMIT_EXCEEDED,
                               f"The request body of {declared} bytes exceeds the limit of {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServingError(413, REQUEST_LIMIT_EXCEEDED,
                               f"The request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"The request body is not valid JSON: {exc}.") from None


def parse_csv(body: bytes, schema: Any) -> Any:
    """A CSV body as a DataFrame, reading columns with the signature's types as MLflow does."""
    import pandas as pd

    from mlcask.types.datatype import DataType

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"The CSV body is not valid UTF-8: {exc}.") from None
    dtypes = None
    if schema is not None and not schema.is_tensor_spec() and schema.has_input_names():
        dtypes = {s.name: s.type.to_pandas() for s in schema.inputs
                  if isinstance(s.type, DataType) and s.type not in (DataType.datetime, DataType.binary)}
    try:
        return pd.read_csv(io.StringIO(text), dtype=dtypes)
    except Exception as exc:
        raise InvalidInputError(
            "Failed to parse the input as a CSV table (as written by pandas.DataFrame.to_csv()): "
            f"{exc}") from None


def parse_parquet(body: bytes) -> Any:
    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(body))
    except ImportError as exc:
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE, f"Parquet input needs pyarrow: {exc}.") from None
    except Exception as exc:
        raise InvalidInputError(f"Failed to parse the input as Parquet: {exc}") from None


def _cast_tensor(array: Any, dtype: Any) -> Any:
    import numpy as np

    if not isinstance(array, np.ndarray) or array.dtype == dtype:
        return array
    kind = np.dtype(dtype).kind
    if kind == "f" and array.dtype.kind in "iuf":
        return array.astype(dtype)
    if kind in "iu" and array.dtype.kind in "iu":
        cast = array.astype(dtype)
        return cast if np.array_equal(cast, array) else array
    if kind == "b" and array.dtype.kind == "b":
        return array
    return array  # left for enforcement to accept or explain


def cast_json_tensors(data: Any, schema: Any) -> Any:
    """JSON numbers read into a tensor signature's dtypes (as MLflow parses tensor payloads).

    JSON has one number type, so ``[[1, 2, 3]]`` for a float32 tensor arrives as int64;
    values are cast where none changes (integers to floats, integers within range).
    """
    if schema is None or not schema.is_tensor_spec():
        return data
    specs = schema.inputs
    if isinstance(data, dict):
        by_name = {s.name: s for s in specs}
        return {k: (_cast_tensor(v, by_name[k].type) if k in by_name else v) for k, v in data.items()}
    if len(specs) == 1:
        return _cast_tensor(data, specs[0].type)
    return data


def _content_type(header: str | None) -> str:
    if not header:
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE,
                           f"The request has no Content-Type header; send one of {list(CONTENT_TYPES)}.")
    parts = [p.strip() for p in header.split(";")]
    mime = parts[0].lower()
    params = {k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in parts[1:] if p)}
    if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE, f"Only UTF-8 is supported; got charset "
                                                        f"{params['charset']!r}.")
    unknown = sorted(set(params) - {"charset"})
    if unknown:
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE, f"Unrecognized content type parameters {unknown} "
                                                        f"in {header!r}.")
    if mime not in CONTENT_TYPES:
        raise ServingError(415, UNSUPPORTED_MEDIA_TYPE,
                           f"Unsupported Content-Type {header!r}; this server takes {list(CONTENT_TYPES)}.")
    return mime


def _batchable(served: ServedModel, data: Any, params: Any) -> bool:
    if served.batcher is None or params:
        return False
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return len(data) < served.batcher.max_batch_size
    schema = served.input_schema
    if schema is None or schema.is_tensor_spec():
        return False
    try:
        return len(data) < served.batcher.max_batch_size
    except TypeError:
        return False


async def _predict(served: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
    model = served.model
    if _batchable(served, data, params):
        import pandas as pd

        from mlcask.models.enforcement import enforce_schema

        frame = enforce_schema(data, served.input_schema)  # a bad request fails alone, here
        if isinstance(frame, pd.DataFrame) and len(frame):
            return await served.batcher.submit(frame)
        data = frame
    return await asyncio.to_thread(model.predict, data, params)


async def predict(served: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
    """Predict with the timeout; model and input errors become ServingErrors."""
    try:
        return await asyncio.wait_for(_predict(served, data, params), served.timeout)
    except TimeoutError:
        _logger.warning("predict exceeded the timeout of %ss", served.timeout)
        raise ServingError(504, DEADLINE_EXCEEDED,
                           f"The prediction exceeded the server's timeout of {served.timeout:g} s.") from None
    except ServingError:
        raise
    except MlcaskException as exc:
        if exc.error_code in (BAD_REQUEST, INVALID_PARAMETER_VALUE):
            raise ServingError(400, BAD_REQUEST, exc.message) from None
        _logger.exception("the model raised an error while predicting")
        raise ServingError(500, INTERNAL_ERROR, f"The model failed to predict: {exc.message}") from None
    except Exception as exc:
        _logger.exception("the model raised an error while predicting")
        raise ServingError(500, INTERNAL_ERROR,
                           f"The model failed to predict: {type(exc).__name__}: {exc}") from None


def _bad_input(exc: MlcaskException) -> ServingError:
    return ServingError(400, BAD_REQUEST, exc.message)


# -- MLflow's endpoints -----------------------------------------------------------------------

async def invocations(request: Request) -> Response:
    served: ServedModel = request.app.state.served
    try:
        mime = _content_type(request.headers.get("content-type"))
        body = await read_body(request, served.max_body_bytes)
        try:
            if mime == CONTENT_TYPE_JSON:
                from mlcask.models.serving_input import parse_serving_input

                data, params = parse_serving_input(_loads(body), served.input_schema)
                data = cast_json_tensors(data, served.input_schema)
            elif mime == CONTENT_TYPE_CSV:
                data, params = parse_csv(body, served.input_schema), None
            else:
                data, params = parse_parquet(body), None
        except MlcaskException as exc:
            raise _bad_input(exc) from None
        predictions = await predict(served, data, params)
        try:
            content = predictions_body(predictions)
        except TypeError as exc:
            raise ServingError(500, INTERNAL_ERROR, f"The model's output cannot be sent as JSON: {exc}") from None
    except ServingError as error:
        return error_response(error)
    return Response(content, media_type=CONTENT_TYPE_JSON)


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


async def v2_infer(request: Request) -> Response:
    try:
        served = _check_model(request)
        body = await read_body(request, served.max_body_bytes)
        try:
            payload = _loads(body)
            data, params = oip_request_to_data(payload, served.input_schema)
        except MlcaskException as exc:
            raise _bad_input(exc) from None
        predictions = await predict(served, data, params)
        try:
            outputs = predictions_to_oip_outputs(predictions, served.output_schema)
        except MlcaskException as exc:
            raise ServingError(500, INTERNAL_ERROR, exc.message) from None
        request_id = payload.get("id")
        result = {"model_name": served.name, "id": str(request_id) if request_id is not None else _new_id(),
                  "outputs": outputs}
        if served.version:
            result["model_version"] = served.version
        return json_response(result)
    except ServingError as error:
        return oip_error_response(error)


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


def build_app(served: ServedModel) -> Starlette:
    """The Starlette app serving ``served`` (already loaded)."""
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

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.served = served
    return app


def create_app(model_uri: str, *, model_name: str | None = None, max_batch_size: int = 64,
               max_wait_ms: float = 2.0, batching: bool | None = None, timeout: float = 60.0,
               max_body_bytes: int = 50 * 1024 * 1024) -> Starlette:
    """A scoring app for the model at ``model_uri`` (a path, ``runs:/`` or ``models:/`` URI).

    The model is loaded here, once. ``batching=None`` merges concurrent requests only for
    built-in flavors (sklearn, xgboost, lightgbm) with column inputs; ``True`` turns it on
    for any column-based model (custom PythonModels must then be row-wise), ``False`` off.
    """
    served = load_served_model(model_uri, model_name=model_name, max_batch_size=max_batch_size,
                               max_wait_ms=max_wait_ms, batching=batching, timeout=timeout,
                               max_body_bytes=max_body_bytes)
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
