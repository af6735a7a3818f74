"""The MLflow model format: MLmodel metadata, signatures, input examples, environments."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Model": "mlcask.models.model",
    "ModelInfo": "mlcask.models.model",
    "ModelSignature": "mlcask.models.signature",
    "infer_signature": "mlcask.models.signature",
    "set_signature": "mlcask.models.metadata",
    "validate_serving_input": "mlcask.models.serving_input",
    "convert_input_example_to_serving_input": "mlcask.models.serving_input",
    "infer_pip_requirements": "mlcask.models.environment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcask.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
