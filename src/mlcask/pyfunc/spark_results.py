"""Turning one batch of a model's predictions into the pandas values a Spark pandas UDF returns
for its result type (MLflow's rules; see :mod:`mlcask.pyfunc.spark_types`).

A primitive or ``array<primitive>`` result is built column-wise from the prediction's numpy
columns; a ``struct`` from the prediction's columns of the fields' names. Only nested arrays
and structs inside structs are converted value by value (Arrow takes them no other way).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

# The primitive Spark result types, by class name, and the numpy type each is built from.
PRIMITIVE_NUMPY_TYPES = {"IntegerType": np.int32, "LongType": np.int64, "FloatType": np.float32, "DoubleType": np.float64,
             "BooleanType": np.bool_, "StringType": np.str_}
_INTEGERS = {"IntegerType": frozenset(map(np.dtype, (np.int8, np.uint8, np.int16, np.uint16, np.int32))),
             "LongType": frozenset(map(np.dtype, (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                                  np.int64)))}


def _name(data_type: Any) -> str:
    return type(data_type).__name__


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def to_spark_values(result: Any, result_type: Any) -> pd.Series | pd.DataFrame:
    """The udf's output for one batch: a Series, or a DataFrame for a struct ``result_type``."""
    from pyspark.sql.types import ArrayType, StructType

    if isinstance(result, dict):
        result = pd.DataFrame({key: list(value) for key, value in result.items()})
    if isinstance(result_type, StructType):
        return _struct_frame(_as_frame(result), result_type)
    if isinstance(result_type, ArrayType) and isinstance(result_type.elementType, (ArrayType, StructType)):
        return pd.Series([_value(row, result_type) for row in _nested_rows(result)])
    element = result_type.elementType if isinstance(result_type, ArrayType) else result_type
    columns = [c for c in _columns(result) if _fits(c, element)]
    if not columns:
        raise MlcaskException(f"The model did not produce any values compatible with the requested type "
                              f"'{element}'. Consider requesting udf with StringType or Arraytype(StringType).",
                              error_code=INVALID_PARAMETER_VALUE)
    if not isinstance(result_type, ArrayType):
        return pd.Series(_cast(columns[0], element), copy=False)
    table = (np.column_stack([_cast(c, element) for c in columns]) if len(columns) > 1
             else _cast(columns[0], element).reshape(-1, 1))
    return pd.Series(list(table))


def _nested_rows(result: Any) -> Any:
    """The rows of a nested-array result: a DataFrame's leftmost column of values that are not
    scalars (a dict output's column of lists), its rows when all columns are scalar."""
    if not isinstance(result, pd.DataFrame):
        return result
    nested = [i for i, dtype in enumerate(result.dtypes) if dtype == object]
    return result.iloc[:, nested[0]].tolist() if nested else list(result.to_numpy())


def _as_frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame()
    if isinstance(result, list) and result and hasattr(result[0], "model_dump"):  # pydantic outputs
        return pd.DataFrame([row.model_dump() for row in result])
    return pd.DataFrame([result]) if np.isscalar(result) else pd.DataFrame(result)


def _columns(result: Any) -> list[np.ndarray]:
    """The prediction's columns, left to right, as numpy arrays (views where possible)."""
    if isinstance(result, np.ndarray) and result.ndim in (1, 2):
        return [result] if result.ndim == 1 else list(result.T)
    if isinstance(result, pd.Series):
        return [result.to_numpy()]
    frame = _as_frame(result)
    return [frame.iloc[:, i].to_numpy() for i in range(frame.shape[1])]


def _fits(column: np.ndarray, element: Any) -> bool:
    name, dtype = _name(element), column.dtype
    if name in _INTEGERS:
        return dtype in _INTEGERS[name]
    if name in ("FloatType", "DoubleType"):
        return dtype.kind in "iuf"
    if name == "BooleanType":
        return dtype.kind == "b"
    return True  # string: every column converts


def _cast(column: np.ndarray, element: Any) -> np.ndarray:
    name = _name(element)
    if name == "StringType":
        return column.astype(str).astype(object) if column.dtype != object else pd.Series(column).map(str).to_numpy()
    return column.astype(PRIMITIVE_NUMPY_TYPES[name], copy=False)


def _struct_frame(frame: pd.DataFrame, struct: Any) -> pd.DataFrame:
    """The struct's fields from the prediction's columns of the same names (by position when
    the prediction has unnamed columns 0, 1, ..., e.g. a 2-D array)."""
    positional = isinstance(frame.columns, pd.RangeIndex)
    out = {}
    for i, field in enumerate(struct.fields):
        if field.name in frame.columns:
            values = frame[field.name]
        elif positional and i < frame.shape[1]:
            values = frame.iloc[:, i]
        else:
            raise MlcaskException(f"The model's prediction has no column '{field.name}' for the result type's field "
                                  f"'{field.name}'; it has columns {[str(c) for c in frame.columns]}.",
                                  error_code=INVALID_PARAMETER_VALUE)
        out[field.name] = _field_values(values, field.dataType)
    return pd.DataFrame(out, copy=False)


def _field_values(values: pd.Series, data_type: Any) -> Any:
    name = _name(data_type)
    if name in PRIMITIVE_NUMPY_TYPES:
        if values.isna().all():
            return values
        if name == "StringType":  # missing values stay null
            return values.map(str).astype(object).where(values.notna(), None)
        return values.astype(PRIMITIVE_NUMPY_TYPES[name])
    return pd.Series([_value(v, data_type) for v in values], index=values.index, dtype=object)


def _value(value: Any, data_type: Any) -> Any:
    """One value converted to ``data_type`` (arrays, structs, maps, primitives)."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    name = _name(data_type)
    if name in PRIMITIVE_NUMPY_TYPES:
        return None if _is_null(value) else np.array(value, dtype=PRIMITIVE_NUMPY_TYPES[name]).item()
    if isinstance(data_type, ArrayType):
        if not isinstance(value, (list, tuple, np.ndarray)) or np.ndim(value) == 0:
            if _is_null(value):
                return None  # a missing array is a null array (as MLflow)
            raise MlcaskException(f"The result type {data_type.simpleString()} takes an array here, but the model's "
                                  f"prediction has a {type(value).__name__} ({value!r}); request a result type with "
                                  "one array level less.", error_code=INVALID_PARAMETER_VALUE)
        element = data_type.elementType
        if _name(element) in PRIMITIVE_NUMPY_TYPES:
            return np.asarray(value, dtype=PRIMITIVE_NUMPY_TYPES[_name(element)])
        return [_value(v, element) for v in value]
    if isinstance(data_type, StructType):
        return _struct_value(value, data_type)
    if isinstance(data_type, MapType):
        return None if value is None else {k: _value(v, data_type.valueType) for k, v in value.items()}
    if _name(data_type) == "VariantType":
        return value
    raise MlcaskException(f"Unsupported type {data_type} for value {value}", error_code=INVALID_PARAMETER_VALUE)


def _struct_value(value: Any, struct: Any) -> dict[str, Any] | None:
    """One struct value from a dict, a pydantic model, a pyspark Row (by field name) or a tuple
    (by position, one value per field)."""
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    elif isinstance(value, tuple) and hasattr(value, "asDict") and hasattr(value, "__fields__"):
        value = value.asDict()  # a Row with field names
    elif isinstance(value, tuple):
        if len(value) != len(struct.fields):
            raise MlcaskException(f"The result type {struct.simpleString()} has {len(struct.fields)} fields, but the "
                                  f"model's prediction has a tuple of {len(value)} values ({value!r}).",
                                  error_code=INVALID_PARAMETER_VALUE)
        value = {f.name: v for f, v in zip(struct.fields, value)}
    if not isinstance(value, dict):
        raise MlcaskException(f"Unsupported result type {type(value)}, expected dict, tuple, pyspark Row or "
                              "pandas DataFrame", error_code=INVALID_PARAMETER_VALUE)
    return {f.name: _value(value.get(f.name), f.dataType) for f in struct.fields}
