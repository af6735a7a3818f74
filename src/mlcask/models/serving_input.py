"""MLflow's JSON scoring payloads: parse them, build them from an input example, check them.

The payload forms are those of MLflow's ``/invocations``: exactly one of
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``, plus an
optional ``params`` object.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mlcask.exceptions import InvalidInputError

PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _float_columns(schema: Any) -> bool:
    """Whether every column of a column-based schema holds floating point numbers."""
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return False
    return all(getattr(spec.type, "name", None) in ("double", "float")
               for spec in schema.inputs)


def _dataframe_split(value: Any, float_columns: bool = False) -> Any:
    import pandas as pd

    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInputError(
            "'dataframe_split' must be an object with 'data' (a list of rows) and optionally "
            f"'columns' and 'index'; got {type(value).__name__}"
            + (f" with keys {sorted(value)}" if isinstance(value, dict) else "") + "."
        )
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise InvalidInputError(f"'dataframe_split' has unknown keys {unknown}; expected 'columns', 'data', 'index'.")
    columns, rows = value.get("columns"), value["data"]
    if columns is not None and isinstance(rows, list):
        for number, row in enumerate(rows):
            if isinstance(row, list) and len(row) != len(columns):
                raise InvalidInputError(f"'dataframe_split': row {number} has {len(row)} values, but there are "
                                        f"{len(columns)} columns {list(columns)}.")
    if float_columns and columns is not None and value.get("index") is None:
        # Every column is a float: read the rows as one array, not column by column.
        import numpy as np

        try:
            array = np.asarray(rows, dtype=np.float64)
        except (ValueError, TypeError):
            array = None  # strings or odd values: the general path reports them
        # nulls (read as NaN) take the general path, which reports them as missing values
        if array is not None and array.ndim == 2 and not np.isnan(array).any():
            # An object Index: pandas 3 would otherwise build an Arrow string index per request.
            return pd.DataFrame(array, columns=pd.Index(columns, dtype=object), copy=False)
    try:
        return pd.DataFrame(value["data"], columns=value.get("columns"), index=value.get("index"))
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"'dataframe_split' does not describe a table: {exc}") from None


def _dataframe_records(value: Any) -> Any:
    import pandas as pd

    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise InvalidInputError("'dataframe_records' must be a list of objects (one per row), "
                                f"got {type(value).__name__}.")
    return pd.DataFrame.from_records(value)


def _tensors(key: str, value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        try:
            return {name: np.asarray(v) for name, v in value.items()}
        except ValueError as exc:
            raise InvalidInputError(f"'{key}': a named input is not a rectangular array: {exc}") from None
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return value  # a list of records: enforcement turns it into a table
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise InvalidInputError(f"'{key}' is not a rectangular array: {exc}") from None
    return value


def parse_serving_input(payload: str | bytes | dict[str, Any],
                        schema: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """Turn a scoring payload into ``(data, params)`` ready for ``PyFuncModel.predict``.

    With the model's input ``schema``, a ``dataframe_split`` whose columns are all floats
    is read as one array (the common case for tabular models, and much faster).
    """
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                    f"column {exc.colno}.") from None
    if not isinstance(payload, dict):
        raise InvalidInputError(f"The request body must be a JSON object with one of the keys {list(PAYLOAD_KEYS)}; "
                                f"got a JSON {type(payload).__name__}.")
    present = [k for k in PAYLOAD_KEYS if k in payload]
    unknown = sorted(set(payload) - set(PAYLOAD_KEYS) - {"params"})
    if len(present) != 1 or unknown:
        got = sorted(payload)
        raise InvalidInputError(
            f"The request body must have exactly one of the keys {list(PAYLOAD_KEYS)} (plus optional "
            f"'params'); got keys {got}."
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInputError(f"'params' must be a JSON object, got {type(params).__name__}.")
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        data = _dataframe_split(value, _float_columns(schema))
    elif key == "dataframe_records":
        data = _dataframe_records(value)
    else:
        data = _tensors(key, value)
    if _is_empty(data):
        raise InvalidInputError(f"'{key}' holds no rows to predict on.")
    return data, params


def _is_empty(data: Any) -> bool:
    if isinstance(data, dict):
        return bool(data) and all(getattr(v, "size", 1) == 0 or (isinstance(v, list) and not v)
                                  for v in data.values())
    if isinstance(data, list):
        return not data
    return getattr(data, "shape", (1,))[:1] == (0,)


def convert_input_example_to_serving_input(input_example: Any) -> str | None:
    """The serving payload (JSON text) for ``input_example``, as saved in serving_input_example.json."""
    if input_example is None:
        return None
    from mlcask.models.input_example import InputExample

    return InputExample(input_example).json_serving_input


def validate_serving_input(model_uri: str | os.PathLike, serving_input: str | dict[str, Any]) -> Any:
    """Load the model at ``model_uri`` and predict on a scoring payload, as the server would."""
    from mlcask.pyfunc import load_model

    data, params = parse_serving_input(serving_input)
    return load_model(model_uri).predict(data, params=params)
