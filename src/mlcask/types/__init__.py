"""Signature types: DataType, ColSpec, TensorSpec, Schema, ParamSpec, ParamSchema.

Importing this package loads numpy only; ``infer_schema`` and ``infer_param_schema``
(which need pandas) load on first use.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes
from mlcask.types.compound import AnyType, Array, Map, Object, Property
from mlcask.types.datatype import DataType
from mlcask.types.params import ParamSchema, ParamSpec
from mlcask.types.schema import ColSpec, Schema, TensorSpec

_LAZY = {"infer_schema": "mlcask.types.inference", "infer_param_schema": "mlcask.types.inference"}

__all__ = [
    "AnyType", "Array", "ColSpec", "DataType", "Map", "Object", "ParamSchema", "ParamSpec",
    "Property", "Schema", "TensorSpec", "infer_param_schema", "infer_schema",
]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
