"""Schema inference from example data, giving the schema MLflow infers for the same data.

Numeric, boolean and datetime columns are typed from their dtype alone (plus one
vectorised NaN check for requiredness); object columns of strings or bytes are
recognised with pandas' C-level ``infer_dtype``. Only columns of nested or mixed
values fall back to looking at each value.
"""

from __future__ import annotations

import datetime as dt
import warnings
from copy import deepcopy
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import InvalidArgumentError
from mlcask.types._frames import column_values, frame_dtypes
from mlcask.types.compound import AnyType, Array, ColumnType, Object, Property, merge_types
from mlcask.types.datatype import DataType
from mlcask.types.params import ParamSchema, ParamSpec
from mlcask.types.schema import ColSpec, Schema, TensorSpec
from mlcask.types.spark_inference import is_spark_dataframe, spark_frame_schema

__all__ = ["MULTIPLE_TYPES_ERROR_MSG", "InvalidDataForSignatureInferenceError", "infer_param_schema", "infer_schema"]

MULTIPLE_TYPES_ERROR_MSG = (  # MLflow's text; public as mlflow.types.utils.MULTIPLE_TYPES_ERROR_MSG
    "Expected all values in the list to be of the same type. To specify a model signature with a list containing "
    "elements of multiple types, define the signature manually using the Array(AnyType()) type from "
    "mlflow.models.schema."
)
_INTEGER_COLUMNS_HINT = (
    "Hint: Inferred schema contains integer column(s). Integer columns cannot represent "
    "missing values: at inference time, such data arrives as floats and fails schema "
    "enforcement. Infer the schema from realistic data that includes missing values, or "
    "declare these columns as double."
)

_SCALAR_TYPES: dict[type, DataType] = {
    bool: DataType.boolean, np.bool_: DataType.boolean,
    int: DataType.long, np.int64: DataType.long, np.int32: DataType.integer,
    float: DataType.double, np.float64: DataType.double, np.float32: DataType.float,
    str: DataType.string, np.str_: DataType.string,
    # MLflow maps a bare `object()` to string; kept for identical signatures.
    object: DataType.string,
    bytes: DataType.binary, np.bytes_: DataType.binary, bytearray: DataType.binary,
}
_DATETIME_TYPES = (dt.date, np.datetime64)


class _InferenceError(InvalidArgumentError):
    """Raised when data has no schema MLflow could infer either."""


class InvalidDataForSignatureInferenceError(InvalidArgumentError):
    """Data no signature may be inferred from (``infer_signature`` raises it instead of
    falling back to ``[Any]``), as MLflow's error of that name."""


_PYDANTIC_MESSAGE = (
    "MLflow does not support inferring model signature from input example with Pydantic objects. To use "
    "Pydantic objects, define your PythonModel's `predict` method with a Pydantic type hint, and model signature "
    "will be automatically inferred when logging the model. e.g. `def predict(self, model_input: "
    "list[PydanticType])`. Check https://mlflow.org/docs/latest/model/python_model.html#type-hint-usage-in-"
    "pythonmodel for more details."
)


def _is_pydantic(value: Any) -> bool:
    return any(c.__name__ == "BaseModel" and c.__module__.startswith("pydantic") for c in type(value).__mro__)


def _is_missing(x: Any) -> bool:
    if isinstance(x, float):
        return x != x
    return x is None or x is pd.NA or x is pd.NaT


def _scalar_type(value: Any) -> DataType:
    found = _SCALAR_TYPES.get(type(value))
    if found is not None:
        return found
    if type(value) in (dt.date, dt.datetime, np.datetime64):
        return DataType.datetime
    raise _InferenceError(f"Data {value!r} is not one of the supported DataType")


def _value_type(value: Any) -> ColumnType | None:
    """The type of one (possibly nested) value; None for an empty numpy array."""
    if _is_pydantic(value):
        raise InvalidDataForSignatureInferenceError(_PYDANTIC_MESSAGE)
    if _is_missing(value) or (isinstance(value, (list, dict)) and not value):
        return AnyType()
    if isinstance(value, dict):
        props = []
        for key, item in value.items():
            item_type = _value_type(item)
            if item_type is None:
                raise _InferenceError("Dictionary value must not be an empty numpy array.")
            props.append(Property(key, item_type, required=not isinstance(item_type, AnyType)))
        return Object(props)
    if isinstance(value, (list, np.ndarray)):
        return _array_type(value)
    return _scalar_type(value)


def _array_type(values: Any) -> Array | None:
    """Array(<item type>) of a list or array; None when every item is an empty array."""
    result: ColumnType | None = None
    for item in values:
        item_type = _value_type(item)
        if item_type is None:
            continue
        if result is None:
            result = item_type
        elif isinstance(result, DataType):
            if not isinstance(item_type, AnyType) and item_type != result:
                raise _InferenceError(MULTIPLE_TYPES_ERROR_MSG)
        else:
            try:
                result = merge_types(result, item_type)
            except InvalidArgumentError:
                raise _InferenceError(MULTIPLE_TYPES_ERROR_MSG) from None
    return None if result is None else Array(result)


def _column_type_of_values(values: Any) -> ColumnType:
    array = _array_type(values)
    if array is None:
        raise _InferenceError(f"Numpy array must include at least one non-empty item. Invalid input `{values}`.")
    return array.dtype


def _dtype_to_datatype(dtype: Any) -> DataType:
    """The DataType of a numpy or pandas (extension) dtype, by MLflow's size rules."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if size <= 4:
            return DataType.float
        if size <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    raise _InferenceError(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _series_type(col: pd.Series) -> ColumnType:
    if col.dtype.kind != "O":
        return _dtype_to_datatype(col.dtype)
    col = col.infer_objects()
    if col.dtype.kind != "O":
        return _dtype_to_datatype(col.dtype)
    if len(col) and not (isinstance(col.dtype, pd.StringDtype) and col.isna().all()):
        # Fast, vectorised recognition of the common cases; anything else is walked.
        # (infer_dtype answers "string" for an all-missing StringDtype column from its
        # dtype alone, where MLflow, looking at the values, finds AnyType.)
        kind = pd.api.types.infer_dtype(col, skipna=True)
        if kind == "string":
            return DataType.string
        if kind == "bytes":
            return DataType.binary
    try:
        return _column_type_of_values(col.to_list())
    except InvalidDataForSignatureInferenceError:
        raise
    except Exception as exc:
        if pd.api.types.is_string_dtype(col):
            return DataType.string
        raise _InferenceError(f"Failed to infer schema for pandas.Series {col}. Error: {exc}") from exc


def _series_required(col: pd.Series) -> bool:
    kind = col.dtype.kind
    if isinstance(col.dtype, np.dtype) and kind in "biu":
        return True
    values = col.to_numpy() if kind == "f" and isinstance(col.dtype, np.dtype) else col
    if kind == "f" and isinstance(values, np.ndarray):
        return not bool(np.isnan(values).any())
    return not bool(pd.isna(values).any())


def _frame_schema(df: pd.DataFrame) -> Schema:
    dtypes = frame_dtypes(df)
    missing_in_floats: Any = None
    if dtypes and all(isinstance(d, np.dtype) and d.kind == "f" for d in dtypes) and len(set(dtypes)) == 1:
        # One float block: a single vectorised NaN check covers every column.
        missing_in_floats = np.isnan(df.to_numpy()).any(axis=0)
    specs = []
    for i, (name, dtype) in enumerate(zip(df.columns, dtypes)):
        if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
            col_type = _dtype_to_datatype(dtype)
            if dtype.kind in "biu":
                required = True
            elif missing_in_floats is not None:
                required = not missing_in_floats[i]
            else:
                values = column_values(df, i)
                required = not (np.isnat(values) if dtype.kind == "M" else np.isnan(values)).any()
            specs.append(ColSpec(col_type, name, bool(required)))
        else:
            quick = _quick_text_type(column_values(df, i))
            if quick is not None:
                specs.append(ColSpec(quick[0], name, quick[1]))
            else:
                col = df.iloc[:, i]
                specs.append(ColSpec(_series_type(col), name, _series_required(col)))
    return Schema(specs)


def _quick_text_type(values: Any) -> tuple[DataType, bool] | None:
    """(string or binary, required) for a column of str or bytes values; else None."""
    if values.dtype.kind != "O" or not len(values):
        return None
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("string", "bytes"):
        return None
    missing = pd.isna(values)
    if missing.all():
        return None  # all-missing StringDtype column: AnyType, found by the slow path
    return (DataType.string if kind == "string" else DataType.binary), not missing.any()


def _value_required(value: Any) -> bool:
    if isinstance(value, (list, pd.Series)):
        return not any(_is_missing(x) for x in value)
    return not _is_missing(value)


def _tensor_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _tensor_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    if not shape:
        raise _InferenceError("Cannot infer a tensor spec from a 0-dimensional array")
    return (-1, *shape[1:])


def _is_sparse(data: Any) -> bool:
    return type(data).__module__.startswith("scipy.sparse") and hasattr(data, "indptr")


def infer_schema(data: Any) -> Schema:
    """Infer the :class:`Schema` MLflow infers for ``data``.

    Accepts a pandas DataFrame or Series, a numpy array (or scipy CSR/CSC matrix), a dict
    of numpy arrays (named tensors), a dict of scalars/lists/dicts (one named column per
    key), a list of dicts (rows), a list of values (one unnamed column), a scalar, or a
    ``pyspark.sql.DataFrame`` (its columns' Spark types). Raises InvalidArgumentError when
    the data has no supported schema.
    """
    schema = _infer_schema(data)
    if not schema.is_tensor_spec() and any(t in (DataType.integer, DataType.long) for t in schema.input_types()):
        warnings.warn(_INTEGER_COLUMNS_HINT, UserWarning, stacklevel=2)
    return schema


def _infer_schema(data: Any) -> Schema:
    if isinstance(data, pd.DataFrame):
        return _frame_schema(data)
    if is_spark_dataframe(data):
        return spark_frame_schema(data)
    if isinstance(data, pd.Series):
        if data.ndim != 1 or len(data.values.shape) > 1:
            raise _InferenceError(f"Expected 1d array, got array with shape {data.shape}")
        return Schema([ColSpec(_series_type(data), data.name, _series_required(data))])
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(_tensor_dtype(data.dtype), _tensor_shape(data.shape))])
    if _is_sparse(data):
        return Schema([TensorSpec(_tensor_dtype(data.data.dtype), _tensor_shape(data.shape))])
    if isinstance(data, list) and not data:
        return Schema([ColSpec(DataType.string)])  # MLflow's choice for [], kept
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        columns: dict[Any, list[Any]] = {}
        for row in data:
            for key, value in row.items():
                columns.setdefault(key, []).append(value)
        return Schema([
            ColSpec(_column_type_of_values(values), name, all(row.get(name) is not None for row in data))
            for name, values in columns.items()
        ])
    if isinstance(data, dict):
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([TensorSpec(_tensor_dtype(v.dtype), _tensor_shape(v.shape), name)
                           for name, v in data.items()])
        if not all(isinstance(k, str) for k in data):
            raise _InferenceError("The dictionary keys are not all strings.")
        specs = []
        for name, value in data.items():
            value_type = _value_type(value)
            if value_type is None:
                raise _InferenceError(f"Numpy array must include at least one non-empty item. Invalid input `{value}`.")
            specs.append(ColSpec(value_type, name, _value_required(value)))
        return Schema(specs)
    if isinstance(data, list):
        return Schema([ColSpec(_column_type_of_values(data))])
    try:
        value_type = _value_type(data)
        if value_type is None:
            raise _InferenceError("Numpy array must include at least one non-empty item.")
        return Schema([ColSpec(value_type)])
    except InvalidDataForSignatureInferenceError:
        raise
    except InvalidArgumentError as exc:
        raise _InferenceError(
            "Failed to infer schema. Expected a pandas DataFrame or Series, a numpy array, a "
            "scipy CSR/CSC matrix, a dict of numpy arrays, a scalar, a list of scalars, a dict "
            f"of JSON-like values or a list of such dicts, but got {data!r}. Error: {exc}"
        ) from None


def _array_depth(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.ndim
    if isinstance(value, list):
        return 1 + max((_array_depth(v) for v in value), default=0)
    return 0


def _param_type_and_shape(value: Any) -> tuple[DataType | Object, tuple[int, ...] | None]:
    if isinstance(value, (list, np.ndarray)):
        depth = _array_depth(value)
        if depth != 1:
            raise InvalidArgumentError(f"Expected parameters to be 1D array or scalar, got {depth}D array")
        # all() of an empty list is True: MLflow types [] as a datetime list; kept.
        if all(type(v) in (dt.date, dt.datetime, np.datetime64) for v in value):
            return DataType.datetime, (-1,)
        return _dtype_to_datatype(np.array(value).dtype), (-1,)
    if type(value) in (dt.date, dt.datetime, np.datetime64):
        return DataType.datetime, None
    if np.isscalar(value):
        try:
            return _dtype_to_datatype(np.array(value).dtype), None
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Failed to infer schema for parameter {value!r}: {exc}") from None
    if isinstance(value, dict):
        obj = _value_type(value)
        if isinstance(obj, Object):
            return obj, None
    raise InvalidArgumentError(f"Expected parameters to be 1D array or scalar, got {type(value).__name__}")


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Infer a :class:`ParamSchema` from example params, each value becoming its default.

    Scalars (bool, int, float, str, datetime) and 1-D lists of them are supported, and
    dicts (object params). Raises InvalidArgumentError naming every param that is not.
    """
    if not isinstance(params, dict):
        raise InvalidArgumentError(f"Expected parameters to be dict, got {type(params).__name__}")
    specs, invalid = [], []
    for name, value in params.items():
        try:
            dtype, shape = _param_type_and_shape(value)
            specs.append(ParamSpec(name, dtype, deepcopy(value), shape))
        except Exception as exc:
            invalid.append(f"({name!r}, {value!r}, MlflowException({str(exc)!r}))")
    if invalid:  # MLflow's text: the list of (name, value, error) triples
        raise InvalidArgumentError("Failed to infer schema for parameters: [" + ", ".join(invalid) + "]")
    return ParamSchema(specs)

