"""ColSpec, TensorSpec and Schema: the input/output half of a model signature.

Their JSON is byte-identical to what MLflow writes in an MLmodel file, so a schema
written by either library reads back in the other unchanged.
"""

from __future__ import annotations

import json
import string
from typing import Any

import numpy as np

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.types._dataclass import dataclass_columns
from mlcask.types.compound import (
    COMPOUND_TYPE_NAMES,
    AnyType,
    Array,
    ColumnType,
    Map,
    Object,
    Property,
    SparkMLVector,
    as_column_type,
    type_from_dict,
    type_to_dict,
)
from mlcask.types.datatype import DataType
from mlcask.types.params import ParamSchema, ParamSpec

# Everything MLflow users import from `mlflow.types.schema`.
__all__ = [
    "AnyType", "Array", "ColSpec", "DataType", "Map", "Object", "ParamSchema", "ParamSpec",
    "Property", "Schema", "SparkMLVector", "TensorSpec", "convert_dataclass_to_schema",
]


class ColSpec:
    """One column of a column-based schema: its type, optional name and requiredness."""

    def __init__(self, type: ColumnType | str, name: Any = None, required: bool = True) -> None:
        self._type = as_column_type(type, "type")
        self._name = name
        self._required = bool(required)

    @property
    def type(self) -> ColumnType:
        """The column's type."""
        return self._type

    @property
    def name(self) -> Any:
        """The column's name, or None for an unnamed column."""
        return self._name

    @name.setter
    def name(self, value: Any) -> None:
        self._name = value

    @property
    def required(self) -> bool:
        """Whether the column must be present in the input."""
        return self._required

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict MLflow writes: type (or compound body), then name, then required."""
        d = type_to_dict(self._type)
        if self._name is not None:
            d["name"] = self._name
        d["required"] = self._required
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        """Parse a ColSpec JSON dict (as written by mlcask or MLflow)."""
        if "type" not in kwargs:
            raise InvalidArgumentError("Missing keys in ColSpec JSON. Expected to find key `type`")
        name = kwargs.pop("name", None)
        required = kwargs.pop("required", True)
        if kwargs["type"] in COMPOUND_TYPE_NAMES:
            return cls(type_from_dict(kwargs), name, required)
        return cls(kwargs["type"], name, required)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ColSpec) and self._name == other._name
                and self._type == other._type and self._required == other._required)

    def __repr__(self) -> str:
        required = "required" if self._required else "optional"
        if self._name is None:
            return f"{self._type!r} ({required})"
        return f"{self._name!r}: {self._type!r} ({required})"


def _as_tensor_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, np.dtype):
        try:
            dtype = np.dtype(dtype)
        except TypeError:  # MLflow's exception and message (mlcask also takes dtype names)
            raise TypeError(f"Expected `dtype` to be instance of `{np.dtype}`, received `{dtype.__class__}`") from None
    if dtype.char in ("U", "S") and not dtype.name.isalpha():
        raise InvalidArgumentError(
            "MLflow does not support size information in flexible numpy data types. Use "
            f'np.dtype("{dtype.name.rstrip(string.digits)}") instead of {dtype.name}'
        )
    return dtype


class TensorSpec:
    """One tensor of a tensor-based schema: its numpy dtype, shape (-1 = any) and name."""

    def __init__(self, type: np.dtype, shape: tuple[int, ...] | list[int], name: str | None = None) -> None:
        if not isinstance(shape, (tuple, list)):
            raise TypeError(f"Expected `shape` to be instance of `{tuple}` or `{list}`, received `{shape.__class__}`")
        self._dtype = _as_tensor_dtype(type)
        self._shape = tuple(shape)
        self._name = name

    @property
    def type(self) -> np.dtype:
        """The tensor's numpy dtype."""
        return self._dtype

    @property
    def name(self) -> str | None:
        """The tensor's name, or None for an unnamed tensor."""
        return self._name

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape; -1 marks a dimension of any size."""
        return self._shape

    @property
    def required(self) -> bool:
        """Tensors are always required."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict MLflow writes (name first when named); the shape is a tuple, as in MLflow."""
        spec = {"dtype": self._dtype.name, "shape": self._shape}
        if self._name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self._name, "type": "tensor", "tensor-spec": spec}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        """Parse a TensorSpec JSON dict (as written by mlcask or MLflow)."""
        if kwargs.get("type") != "tensor" or not isinstance(kwargs.get("tensor-spec"), dict):
            raise InvalidArgumentError("Expected TensorSpec JSON with keys `type` (= 'tensor') and `tensor-spec`")
        spec = kwargs["tensor-spec"]
        if "dtype" not in spec or "shape" not in spec:
            raise InvalidArgumentError("Missing keys in TensorSpec JSON. Expected to find keys `dtype` and `shape`")
        return cls(np.dtype(spec["dtype"]), tuple(spec["shape"]), kwargs.get("name"))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorSpec) and self._name == other._name
                and self._dtype == other._dtype and self._shape == other._shape)

    def __repr__(self) -> str:
        info = f"Tensor({self._dtype.name!r}, {self._shape!r})"
        return info if self._name is None else f"{self._name!r}: {info}"


def type_name(value: Any) -> str:
    return type(value).__name__


class Schema:
    """A dataset's specification: a list of ColSpecs or a list of TensorSpecs.

    Either every input is named or none is; ColSpecs and TensorSpecs don't mix.
    Treat a Schema as immutable once built: enforcement caches lookups on it.
    """

    def __init__(self, inputs: list[ColSpec | TensorSpec]) -> None:
        if not isinstance(inputs, list):
            raise InvalidArgumentError(f"Inputs of Schema must be a list, got type {type_name(inputs)}")
        if not inputs:
            raise InvalidArgumentError("Creating Schema with empty inputs is not allowed.")
        named = [x.name is not None for x in inputs if isinstance(x, (ColSpec, TensorSpec))]
        if len(named) != len(inputs):
            bad = next(x for x in inputs if not isinstance(x, (ColSpec, TensorSpec)))
            raise InvalidArgumentError(f"Schema inputs must be ColSpec or TensorSpec, got {type_name(bad)}")
        if any(named) and not all(named):
            raise InvalidArgumentError(
                "Creating Schema with a combination of named and unnamed inputs is not allowed. "
                f"Got input names {[x.name for x in inputs]}"
            )
        tensors = [isinstance(x, TensorSpec) for x in inputs]
        if any(tensors) and not all(tensors):
            raise InvalidArgumentError(
                "Creating Schema with a combination of ColSpec and TensorSpec is not supported. "
                "Please choose one of ColSpec or TensorSpec"
            )
        if all(tensors) and len(inputs) > 1 and not all(named):
            raise InvalidArgumentError(
                "Creating Schema with multiple unnamed TensorSpecs is not supported. "
                "Please provide names for each TensorSpec."
            )
        if not any(named) and not all(x.required for x in inputs):
            raise InvalidArgumentError(
                "Creating Schema with unnamed optional inputs is not supported. "
                "Please name all inputs or make all inputs required."
            )
        self._inputs = inputs
        # Filled in by mlcask.models.enforcement on first use (the predict hot path).
        self._enforcement_plan: Any = None

    def __len__(self) -> int:
        return len(self._inputs)

    def __iter__(self):
        return iter(self._inputs)

    @property
    def inputs(self) -> list[ColSpec | TensorSpec]:
        """The specs, in order."""
        return self._inputs

    def is_tensor_spec(self) -> bool:
        """Whether this schema is made of TensorSpecs."""
        return isinstance(self._inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """Whether the inputs are named."""
        return self._inputs[0].name is not None

    def input_names(self) -> list[Any]:
        """The input names, or their positions when the schema is unnamed."""
        return [x.name if x.name is not None else i for i, x in enumerate(self._inputs)]

    def required_input_names(self) -> list[Any]:
        """Names (or positions) of the required inputs."""
        return [x.name if x.name is not None else i for i, x in enumerate(self._inputs) if x.required]

    def optional_input_names(self) -> list[Any]:
        """Names (or positions) of the optional inputs."""
        return [x.name if x.name is not None else i for i, x in enumerate(self._inputs) if not x.required]

    def input_types(self) -> list[Any]:
        """Each input's type (a DataType or compound type, or a numpy dtype for tensors)."""
        return [x.type for x in self._inputs]

    def input_types_dict(self) -> dict[Any, Any]:
        """Input name -> type; only for named schemas."""
        if not self.has_input_names():
            raise InvalidArgumentError("Cannot get input types as a dict for schema without names.")
        return {x.name: x.type for x in self._inputs}

    def input_dict(self) -> dict[Any, ColSpec | TensorSpec]:
        """Input name -> spec; only for named schemas."""
        if not self.has_input_names():
            raise InvalidArgumentError("Cannot get input dict for schema without names.")
        return {x.name: x for x in self._inputs}

    def numpy_types(self) -> list[np.dtype]:
        """Each input's numpy dtype."""
        if self.is_tensor_spec():
            return [x.type for x in self._inputs]
        if all(isinstance(x.type, DataType) for x in self._inputs):
            return [x.type.to_numpy() for x in self._inputs]
        raise InvalidArgumentError("Failed to get numpy types as some of the inputs types are not DataType.")

    def pandas_types(self) -> list[Any]:
        """Each column's pandas dtype (column-based schemas only)."""
        if self.is_tensor_spec():
            raise InvalidArgumentError("TensorSpec only supports numpy types, use numpy_types() instead")
        if all(isinstance(x.type, DataType) for x in self._inputs):
            return [x.type.to_pandas() for x in self._inputs]
        raise InvalidArgumentError("Failed to get pandas types as some of the inputs types are not DataType.")

    def to_dict(self) -> list[dict[str, Any]]:
        """The schema as a JSON-able list of spec dicts."""
        return [x.to_dict() for x in self._inputs]

    def to_json(self) -> str:
        """The schema as the JSON string MLflow stores in MLmodel."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> Schema:
        """Parse a schema JSON string; raises ModelFormatError when it is malformed."""
        try:
            items = json.loads(json_str)
        except (TypeError, ValueError) as exc:
            raise ModelFormatError(f"Malformed schema JSON {json_str!r}: {exc}") from None
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ModelFormatError(f"Malformed schema JSON: expected a list of objects, got {json_str!r}")
        try:
            return cls([TensorSpec.from_json_dict(**x) if x.get("type") == "tensor" else ColSpec.from_json_dict(**x)
                        for x in items])
        except (InvalidArgumentError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"Malformed schema JSON {json_str!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self._inputs == other._inputs

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like MLflow's

    def __repr__(self) -> str:
        return repr(self._inputs)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_enforcement_plan"] = None
        return state


def convert_dataclass_to_schema(dataclass: Any) -> Schema:
    """The schema of a dataclass: one column per field, named after it.

    Parameters
    ----------
    dataclass : type or dataclass instance
        A dataclass whose fields all have type hints: ``bool``, ``int`` (long), ``float``,
        ``str``, ``bytes``, ``datetime.date``, a nested dataclass (an Object), ``list[...]``
        of these (an Array), or ``Optional[...]`` of any of them (the column is not required).

    Returns
    -------
    Schema
        A column-based schema with the fields in declaration order.

    Raises
    ------
    TypeError
        If ``dataclass`` is not a dataclass.
    MlcaskException
        If a field is a Union other than ``Optional[...]``, a dict, or another unsupported type.
    """
    return Schema([ColSpec(dtype, name, required) for name, dtype, required in dataclass_columns(dataclass)])
