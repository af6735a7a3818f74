"""Signature types: DataType, ColSpec, TensorSpec, Schema, ParamSpec, ParamSchema.

Importing this package loads numpy only; ``infer_schema`` and ``infer_param_schema``
(which need pandas) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlcask.types.compound import AnyType, Array, Map, Object, Property
from mlcask.types.datatype import DataType
from mlcask.types.params import ParamSchema, ParamSpec
from mlcask.types.schema import ColSpec, Schema, TensorSpec

_LAZY = {"infer_schema": "mlcask.types.inference", "infer_param_schema": "mlcask.types.inference"}

__all__ = [
    "AnyType", "Array", "ColSpec", "DataType", "Map", "Object", "ParamSchema", "ParamSpec",
    "Property", "Schema", "TensorSpec", "infer_param_schema", "infer_schema",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcask.types' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
