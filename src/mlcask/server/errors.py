"""MLflow's error bodies and HTTP statuses, for every part of the tracking server.

A failed call answers ``{"error_code": "<ErrorCode name>", "message": "..."}`` with the
HTTP status MLflow gives that code (``mlflow/protos/databricks.proto`` ErrorCode and
MLflow's mapping of it), so MLflow's client raises the same ``MlflowException``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from mlcask.exceptions import MlcaskException

__all__ = ["ERROR_STATUS", "JSON", "RequestTooLarge", "error_response", "exception_response", "json_response", "status_of"]

_logger = logging.getLogger("mlcask.server")

JSON = "application/json"

#: MLflow's HTTP status per error code; codes not listed answer 500 (as in MLflow).
ERROR_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500, "INVALID_STATE": 500, "DATA_LOSS": 500, "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504, "REQUEST_LIMIT_EXCEEDED": 429, "CANCELLED": 499,
    "RESOURCE_EXHAUSTED": 429, "ABORTED": 409, "RESOURCE_CONFLICT": 409, "ALREADY_EXISTS": 409, "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404, "RESOURCE_DOES_NOT_EXIST": 404, "PERMISSION_DENIED": 403,
    "CUSTOMER_UNAUTHORIZED": 401, "UNAUTHENTICATED": 401, "BAD_REQUEST": 400, "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400, "INVALID_REQUEST": 400, "MALFORMED_REQUEST": 400,
}


class RequestTooLarge(MlcaskException):
    """A request body over the server's limit: 413 (not MLflow's 429 for REQUEST_LIMIT_EXCEEDED, which its
    client retries)."""

    error_code = "REQUEST_LIMIT_EXCEEDED"
    http_status = 413


def status_of(error_code: str) -> int:
    """The HTTP status of an MLflow error code."""
    return ERROR_STATUS.get(error_code, 500)


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``content`` as a JSON response (orjson; a string with a lone surrogate falls back to escaped JSON)."""
    try:
        body = orjson.dumps(content)
    except TypeError:
        body = json.dumps(content).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_response(error_code: str, message: str, status: int | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """MLflow's error body for ``error_code`` with its HTTP status (or ``status``)."""
    return json_response({"error_code": error_code, "message": message},
                         status_of(error_code) if status is None else status, headers)


def exception_response(exc: BaseException) -> Response:
    """The response for an exception raised by a handler: its code and message, or a bare 500 (logged)."""
    if isinstance(exc, MlcaskException):
        return error_response(exc.error_code, exc.message, getattr(exc, "http_status", None))
    if isinstance(exc, ClientDisconnect):  # nobody is left to answer; not a server fault
        return error_response("BAD_REQUEST", "The client disconnected before sending the whole request.")
    _logger.error("Unexpected error while serving a request", exc_info=exc)
    return error_response("INTERNAL_ERROR", f"Internal error: {type(exc).__name__}. The server's log has details.")
