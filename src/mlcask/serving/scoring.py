"""From a request to predictions: the body (size limit, read timeout), its parsing, the predict call.

Whose fault a failure is decides its status. The client's: a malformed or oversized body
(400, 413, 415, 408 when it arrives too slowly), input the signature refuses (400), and
input the model itself raises on (400, as MLflow answers, with the exception's type and
message: the model could not score *these values*). The server's: a predict over the
timeout (504), and anything else that goes wrong in mlcask (500).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import ClientDisconnect, Request

from mlcask.exceptions import BAD_REQUEST, MlcaskException
from mlcask.pyfunc.scoring_server import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET
from mlcask.serving.codec import LARGE_BODY_BYTES
from mlcask.serving.state import ServedModel

_logger = logging.getLogger("mlcask.serving")

CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV, CONTENT_TYPE_PARQUET)  # in the order errors list them

# Error codes in bodies {"error_code": ..., "message": ...} (MLflow's names where it has one).
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
UNSUPPORTED_MEDIA_TYPE = "BAD_REQUEST"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ServingError(Exception):
    """An HTTP error with a status, an MLflow error code and a message (``close``: end the connection)."""

    def __init__(self, status: int, code: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close = close


class ModelError(Exception):
    """The model's own predict raised on the (already checked) input: ``cause`` is its exception."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


def bad_input(exc: MlcaskException) -> ServingError:
    return ServingError(400, BAD_REQUEST, exc.message)


def internal_error(what: str) -> ServingError:
    """A fault of the server itself (logged with its traceback by the caller)."""
    return ServingError(500, INTERNAL_ERROR, f"Internal error while {what}; the server log has the details.")


# -- the body ----------------------------------------------------------------------------------

def _declared_length(request: Request, limit: int) -> int | None:
    length = request.headers.get("content-length")
    if length is None:
        return None
    try:
        declared = int(length)
    except ValueError:
        raise ServingError(400, BAD_REQUEST, f"Invalid Content-Length header {length!r}.") from None
    if declared > limit:
        raise ServingError(413, REQUEST_LIMIT_EXCEEDED,
                           f"The request body of {declared} bytes exceeds the limit of {limit} bytes.", close=True)
    return declared


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The request body: 413 past ``limit`` bytes (declared or streamed), 408 if not all there in ``timeout`` s."""
    declared = _declared_length(request, limit)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ServingError(413, REQUEST_LIMIT_EXCEEDED,
                                       f"The request body exceeds the limit of {limit} bytes.", close=True)
                chunks.append(chunk)
    except TimeoutError:
        of = f" of {declared}" if declared is not None else ""
        raise ServingError(408, REQUEST_TIMEOUT, f"The request body did not arrive within {timeout:g} s "
                                                 f"({size}{of} bytes received).", close=True) from None
    except ClientDisconnect:
        raise ServingError(400, BAD_REQUEST, "The client disconnected before sending the whole body.",
                           close=True) from None
    return b"".join(chunks)


def content_type(header: str | None) -> str:
    """The media type of a Content-Type header, as MLflow's server takes it (UTF-8, no other params)."""
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


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off meanwhile (back on when the last pause ends).

    Decoding a large body creates millions of lists and dicts, none of them cyclic; each few
    hundred trigger a collection, and those walk the growing heap again and again: with the
    collector on, decoding a 20 MB JSON body takes about four times as long, all of it holding
    the GIL that the event loop needs to answer anyone.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _paused(fn: Callable[..., Any], *args: Any) -> Any:
    with gc_paused():
        return fn(*args)


async def off_loop(body: bytes, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, for a large ``body`` in a worker thread (with the collector paused), so that the
    event loop keeps answering other requests meanwhile; small bodies stay on the loop (no hop)."""
    if len(body) > LARGE_BODY_BYTES:
        return await asyncio.to_thread(_paused, fn, *args)
    return fn(*args)


# -- predicting --------------------------------------------------------------------------------

def run_model(model: Any, data: Any, params: dict[str, Any] | None) -> Any:
    """The model's predict on input already checked against its signature (params are checked here).

    Refused params stay :class:`MlcaskException`; whatever else the model raises is a :class:`ModelError`.
    """
    try:
        return model.predict_enforced(data, params)
    except (MlcaskException, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise ModelError(exc) from exc


def _enforce_and_run(served: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
    from mlcask.models.enforcement import enforce_schema

    if served.input_schema is not None:
        data = enforce_schema(data, served.input_schema)
    return run_model(served.model, data, params)


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
    if _batchable(served, data, params):
        import pandas as pd

        from mlcask.models.enforcement import enforce_schema

        frame = enforce_schema(data, served.input_schema)  # each request is checked alone, once
        if isinstance(frame, pd.DataFrame) and len(frame):
            return await served.batcher.submit(frame)
        return await asyncio.to_thread(run_model, served.model, frame, params)
    return await asyncio.to_thread(_enforce_and_run, served, data, params)


@contextlib.contextmanager
def prediction_errors(served: ServedModel) -> Iterator[None]:
    """What a failed predict answers: over the timeout 504; the input's and the model's errors 400; else 500."""
    try:
        yield
    except TimeoutError:
        _logger.warning("predict exceeded the timeout of %ss", served.timeout)
        raise ServingError(504, DEADLINE_EXCEEDED,
                           f"The prediction exceeded the server's timeout of {served.timeout:g} s.") from None
    except MlcaskException as exc:
        raise bad_input(exc) from None
    except ModelError as exc:
        _logger.info("the model raised on the request's input: %s", exc)
        raise ServingError(400, BAD_REQUEST, f"The model could not predict on the given input: {exc}") from None
    except Exception:
        _logger.exception("internal error while predicting")
        raise internal_error("predicting") from None


async def predict(served: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
    """Predict within the timeout; the input's and the model's errors become 400 ServingErrors."""
    with prediction_errors(served):
        return await asyncio.wait_for(_predict(served, data, params), served.timeout)
