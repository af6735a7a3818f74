"""DataType: the scalar types a column-based signature can declare (MLflow's names)."""

from __future__ import annotations

import builtins
import datetime as _dt
from enum import Enum
from typing import Any

import numpy as np


class DataType(Enum):
    """Scalar column types, named and numbered as MLflow names and numbers them."""

    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> np.dtype:
        """The numpy dtype that holds values of this type."""
        return _NUMPY[self]

    def to_pandas(self) -> np.dtype | type:
        """The pandas dtype of a column of this type (``object`` for string and binary)."""
        return _PANDAS[self]

    def to_python(self) -> type:
        """The Python type of a single value of this type."""
        return _PYTHON[self]

    @classmethod
    def all_types(cls) -> list[DataType]:
        """Every DataType, in declaration order."""
        return list(cls)

    @classmethod
    def from_numpy_type(cls, np_type: Any) -> DataType | None:
        """The DataType whose numpy dtype equals ``np_type``, or None."""
        for member in cls:
            if _NUMPY[member] == np_type:
                return member
        return None

    @classmethod
    def check_type(cls, data_type: DataType, value: Any) -> bool:
        """Whether ``value``'s exact Python type is one that ``data_type`` holds as is."""
        return type(value) in _EXACT_TYPES[data_type]


_NUMPY: dict[DataType, np.dtype] = {
    DataType.boolean: np.dtype("bool"),
    DataType.integer: np.dtype("int32"),
    DataType.long: np.dtype("int64"),
    DataType.float: np.dtype("float32"),
    DataType.double: np.dtype("float64"),
    DataType.string: np.dtype("str"),
    DataType.binary: np.dtype("bytes"),
    DataType.datetime: np.dtype("datetime64[ns]"),
}

_PANDAS: dict[DataType, np.dtype | type] = {
    **_NUMPY,
    DataType.string: object,
    DataType.binary: object,
}

_PYTHON: dict[DataType, type] = {
    DataType.boolean: bool,
    DataType.integer: int,
    DataType.long: int,
    DataType.float: builtins.float,
    DataType.double: builtins.float,
    DataType.string: str,
    DataType.binary: bytes,
    DataType.datetime: _dt.date,
}

_EXACT_TYPES: dict[DataType, frozenset[type]] = {
    DataType.boolean: frozenset({bool, np.bool_}),
    DataType.integer: frozenset({int, np.int32}),
    DataType.long: frozenset({int, np.int64}),
    DataType.float: frozenset({builtins.float, np.float32}),
    DataType.double: frozenset({builtins.float, np.float64}),
    DataType.string: frozenset({str, np.str_}),
    DataType.binary: frozenset({bytes, np.bytes_, bytearray}),
    DataType.datetime: frozenset({_dt.date, _dt.datetime, np.datetime64}),
}
