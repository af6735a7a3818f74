"""Enforcement of tensor-based schemas (numpy arrays, dicts of arrays, DataFrames)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import InvalidInputError
from mlcask.types.schema import Schema, TensorSpec

_OBJECT = np.dtype("O")
_NUMERIC_KINDS = "iuf"


def _clean(dtype: np.dtype) -> np.dtype:
    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _castable(src: np.dtype, dst: np.dtype, casting: str) -> bool:
    # Only numeric -> numeric (never bool -> number): np.can_cast calls bool -> float "safe".
    return (src.kind in _NUMERIC_KINDS and dst.kind in _NUMERIC_KINDS
            and bool(np.can_cast(src, dst, casting)))


def check_tensor(values: Any, spec: TensorSpec, label: str, casting: str = "safe") -> Any:
    """``values`` (an ndarray or scipy sparse matrix) checked against ``spec``'s shape and dtype.

    A dtype mismatch is cast when numpy deems it ``casting``-safe between numeric kinds
    (``"safe"``: int32 -> float64, float32 -> float64, int64 -> float64; ``"same_kind"``
    also float64 -> float32, used for DataFrame input whose dtypes carry less meaning).
    """
    expected_shape, expected = spec.shape, spec.type
    actual_shape = values.shape
    actual = values.dtype if isinstance(values, np.ndarray) else values.data.dtype
    # Ragged input: an object array of per-row arrays, as MLflow accepts.
    if expected == _OBJECT and expected_shape == (-1,):
        return values
    if len(expected_shape) > 1 and -1 in expected_shape[1:] and len(actual_shape) == 1 and actual == _OBJECT:
        return values
    if len(expected_shape) != len(actual_shape) or any(
        e != -1 and e != a for e, a in zip(expected_shape, actual_shape)
    ):
        raise InvalidInputError(f"Shape of input {actual_shape} does not match expected shape {expected_shape}. "
                                f"{label}: expected shape {expected_shape}, got {actual_shape}")
    if _clean(actual) == expected:
        return values
    if _castable(actual, expected, casting):
        return values.astype(expected)
    raise InvalidInputError(
        f"dtype of input {actual} does not match expected dtype {expected}. {label}: expected dtype {expected}, "
        f"got {actual}. Only conversions that keep every value are made (for example int32 -> float64)."
    )


def _input_name(label: str) -> str:
    return "the unnamed input" if label == "Input tensor" else "input " + label.removeprefix("Tensor ").strip("'")


def _column_name(series: pd.Series, label: str) -> str:
    return str(series.name) if label == "Input tensor" else label.removeprefix("Tensor ").strip("'")


def _is_sparse(data: Any) -> bool:
    return type(data).__module__.startswith("scipy.sparse") and hasattr(data, "indptr")


def _column_to_tensor(series: pd.Series, spec: TensorSpec, label: str) -> np.ndarray:
    shape = spec.shape
    if not shape or shape[0] != -1 or -1 in shape[1:]:
        raise InvalidInputError(
            "For pandas dataframe input, the first dimension of shape must be a variable dimension and other "
            f"dimensions must be fixed, but in model signature the shape of {_input_name(label)} is {shape}. "
            f"{label}: a DataFrame column can only feed a tensor whose first dimension is variable "
            f"and the others fixed; the signature declares shape {shape}"
        )
    if len(series) == 0:
        raise InvalidInputError(f"{label}: the input DataFrame has no rows")
    first = series.iloc[0]
    try:
        if np.isscalar(first):
            if shape not in ((-1,), (-1, 1)):
                raise InvalidInputError(
                    f"The input pandas dataframe column '{_column_name(series, label)}' contains scalar values, "
                    f"which requires the shape to be (-1,) or (-1, 1), but got tensor spec shape of {shape}. "
                    f"{label}: the DataFrame column holds scalars, which fit a tensor of shape (-1,) "
                    f"or (-1, 1) only; the signature declares {shape}"
                )
            return check_tensor(series.to_numpy().reshape(shape), spec, label, "same_kind")
        if isinstance(first, (list, np.ndarray)):
            stacked = np.vstack(series.tolist())
            arr = stacked.reshape(shape)
            if len(arr) != len(series):
                raise ValueError("row count changed")
            # Lists carry no dtype: cast as MLflow does; arrays keep theirs, checked safely.
            return check_tensor(arr, spec, label, "unsafe" if isinstance(first, list) else "safe")
    except ValueError:
        raise InvalidInputError(
            f"The value in the Input DataFrame column '{_column_name(series, label)}' could not be converted to "
            f"the expected shape of: '{shape}'. Ensure that each of the input list elements are of uniform length "
            f"and that the data can be coerced to the tensor type '{spec.type}'. {label}: the values in the "
            f"DataFrame column could not be stacked into shape {shape}; each row must hold a list or array of the "
            "same length"
        ) from None
    raise InvalidInputError(
        "Because the model signature requires tensor spec input, the input pandas dataframe values should be "
        "either scalar value, python list containing scalar values or numpy array containing scalar values, other "
        f"types are not supported. {label}: got {type(first).__name__}"
    )


def _as_array(value: list | tuple, label: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise InvalidInputError(f"{label}: could not read the list as an array: {exc}") from None


def _enforce_unnamed(data: Any, spec: TensorSpec) -> Any:
    label = "Input tensor"
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise InvalidInputError(f"Input DataFrame is empty. ({label}: the input DataFrame is empty)")
        width = data.shape[1]
        if width == 1:
            return _column_to_tensor(data.iloc[:, 0], spec, label)
        if spec.shape != (-1, width):
            raise InvalidInputError(
                "This model contains a model signature with an unnamed input. Since the input data is a pandas "
                "DataFrame containing multiple columns, the input shape must be of the structure "
                f"(-1, number_of_dataframe_columns). Instead, the input DataFrame passed had {width} columns and an "
                f"input shape of {spec.shape} with all values within the DataFrame of scalar type. Please adjust the "
                f"passed in DataFrame to match the expected structure. ({label}: a DataFrame with {width} columns "
                f"can only feed a tensor of shape (-1, {width}); the signature declares {spec.shape})"
            )
        return check_tensor(data.to_numpy(), spec, label, "same_kind")
    if isinstance(data, np.ndarray) or _is_sparse(data):
        return check_tensor(data, spec, label)
    lead = _UNNAMED_LEAD.format(type(data))
    if isinstance(data, (list, tuple)):
        return _list_tensor(data, spec, label, lead)
    raise InvalidInputError(f"{lead} This model takes a numpy array (dtype {spec.type}, shape {spec.shape}); got an "
                            f"input of type {type(data).__name__}")


# MLflow's sentences for a tensor input that is not an array: mlcask takes a list that spells a fitting
# array (README: lists for tensors), and leads its refusal of any other with them.
_UNNAMED_LEAD = ("This model contains a tensor-based model signature with no input names, which suggests a numpy "
                 "array input or a pandas dataframe input with proper column values, but an input of type {} was "
                 "found.")
_NAMED_LEAD = ("This model contains a tensor-based model signature with input names, which suggests a dictionary "
               "input mapping input name to a numpy array, but a dict with value type {} was found.")


def _list_tensor(value: list | tuple, spec: TensorSpec, label: str, lead: str) -> Any:
    """The array a list spells, checked against ``spec``; refused with MLflow's ``lead`` when it does not fit."""
    try:
        return check_tensor(_as_array(value, label), spec, label)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{lead} A list is read as the array it spells, and this one does not fit: "
                                f"{exc.message}") from None


def _enforce_named(data: Any, schema: Schema) -> dict[str, Any]:
    specs = schema.inputs
    if isinstance(data, np.ndarray) and len(specs) == 1:
        data = {specs[0].name: data}
    names = [s.name for s in specs]
    if isinstance(data, dict):
        given = list(data)
        source: dict[Any, Any] = data
    elif isinstance(data, pd.DataFrame):
        given = data.columns.tolist()
        source = {c: data[c] for c in names if c in data.columns}
    else:
        raise InvalidInputError(
            f"Model is missing inputs {names}. This model takes named tensors {names}: pass a dict of numpy arrays "
            f"(or a DataFrame with those columns); got an input of type {type(data).__name__}"
        )
    missing = [n for n in names if n not in source]
    if missing:
        message = f"Model is missing inputs {missing}."
        extra = [k for k in given if k not in names]
        if extra:
            message += f" Note that there were extra inputs: {extra}."
        message += f" (missing required input tensors {missing}; the input has {given})."
        raise InvalidInputError(message)
    result = {}
    for spec in specs:
        label = f"Tensor {spec.name!r}"
        value = source[spec.name]
        if isinstance(value, pd.Series):
            result[spec.name] = _column_to_tensor(value, spec, label)
        elif isinstance(value, (list, tuple)):
            result[spec.name] = _list_tensor(value, spec, label, _NAMED_LEAD.format(type(value)))
        elif isinstance(value, np.ndarray) or _is_sparse(value):
            result[spec.name] = check_tensor(value, spec, label)
        else:
            raise InvalidInputError(f"{_NAMED_LEAD.format(type(value))} {label}: expected a numpy array, got "
                                    f"{type(value).__name__}")
    return result


def enforce_tensor_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked against a tensor schema: an ndarray, or a dict of them when named."""
    if schema.has_input_names():
        return _enforce_named(data, schema)
    return _enforce_unnamed(data, schema.inputs[0])
