"""The scoring server: serve one model over HTTP with MLflow's protocol and OIP v2.

``create_app(model_uri, ...)`` returns an ASGI (Starlette) app; ``mlcask models serve``
runs it with uvicorn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServedModel", "create_app", "openapi_document"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mlcask.serving.app import create_app

        return create_app
    if name == "ServedModel":
        from mlcask.serving.state import ServedModel

        return ServedModel
    if name == "openapi_document":
        from mlcask.serving.openapi import openapi_document

        return openapi_document
    raise AttributeError(f"module 'mlcask.serving' has no attribute {name!r}")
