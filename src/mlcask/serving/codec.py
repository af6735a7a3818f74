"""MLflow's scoring payloads in, predictions out: the one codec of the server and ``mlcask models predict``.

Reading: a JSON body (``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs``, or Azure ML's ``input_data``; and ``params``) is decoded and checked here,
then turned into data by :func:`mlcask.models.serving_input.parse_serving_input`; CSV
and Parquet live in :mod:`mlcask.serving.tables`. Every refusal is an
:class:`InvalidInputError` saying what was expected, what was given and where.

Azure ML's online endpoints take MLflow models' input under one key, ``input_data``:
``{"input_data": {"columns": [...], "index": [...], "data": [...]}}`` is a DataFrame in
the split orientation (read as ``dataframe_split``), ``{"input_data": [[...], ...]}`` a
tensor and ``{"input_data": {"name": [...], ...}}`` named tensors (both read as
``inputs``), with ``params`` beside it as usual.

Writing: predictions are rendered as MLflow's server renders them (numpy arrays as
lists, DataFrames and Series as records, floats in their shortest round-trip form,
float32 widened to the double it is, datetimes as ISO 8601 strings, bytes as base64),
except that NaN, infinities, NaT and NA are ``null`` where MLflow writes the non-JSON
literals ``NaN``/``Infinity`` (or the string ``"NaT"``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mlcask.exceptions import InvalidInputError
from mlcask.models.serving_input import PAYLOAD_KEYS, parse_serving_input

# Bodies above this size are decoded in a worker thread, so the event loop keeps answering.
LARGE_BODY_BYTES = 256 * 1024

AZURE_KEY = "input_data"
INPUT_KEYS = (*PAYLOAD_KEYS, AZURE_KEY)  # every key a scoring body may carry its input under
_SPLIT_KEYS = frozenset(("columns", "index", "data"))

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
               float: "number", type(None): "null"}


# -- JSON in -------------------------------------------------------------------------------

# A \\uD800-\\uDFFF escape: half of a surrogate pair, which Python's parser would let through alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(body: bytes | str) -> Any:
    """A JSON document, read as MLflow's server reads it.

    orjson first; what only Python's own parser takes (the literals ``NaN``, ``Infinity``
    and ``-Infinity``, numbers beyond a double) is read by it, as MLflow reads it, but only
    from valid UTF-8 without surrogate escapes (pandas and Arrow cannot hold a lone surrogate).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        error = exc
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray, memoryview)) else body
        if not _SURROGATE_ESCAPE.search(text.encode("utf-8")):
            return json.loads(text)
    except (ValueError, RecursionError):  # UnicodeError and too many digits are ValueErrors
        pass
    raise InvalidInputError(f"The request body is not valid JSON: {error}.") from None


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (for messages)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def shown(value: Any) -> str:
    """A decoded value as short JSON text (for messages)."""
    text = orjson.dumps(value, default=str).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_label(name: Any) -> bool:
    return isinstance(name, str) or (isinstance(name, int) and not isinstance(name, bool))


def _check_columns(columns: Any, key: str = "dataframe_split") -> None:
    if not isinstance(columns, list):
        raise InvalidInputError(f"'{key}.columns' must be a list of column names; got a JSON "
                                f"{json_type(columns)}.")
    if all(type(name) is str for name in columns) and len(set(columns)) == len(columns):
        return  # the usual case, checked at C speed
    seen: dict[Any, int] = {}
    for i, name in enumerate(columns):
        if not _is_label(name):
            raise InvalidInputError(f"'{key}.columns[{i}]' must be a column name (a string); got the "
                                    f"JSON {json_type(name)} {shown(name)}.")
        if name in seen:
            raise InvalidInputError(f"'{key}.columns' names {name!r} twice (columns[{seen[name]}] and "
                                    f"columns[{i}]); each column is given once.")
        seen[name] = i


def _check_rows(rows: Any, columns: list[Any] | None, key: str = "dataframe_split") -> None:
    if not isinstance(rows, list):
        raise InvalidInputError(f"'{key}.data' must be a list of rows (each a list of values); got a "
                                f"JSON {json_type(rows)}.")
    if not rows:
        return
    width = len(columns) if columns is not None else (len(rows[0]) if isinstance(rows[0], list) else 1)
    for i, row in enumerate(rows):
        if isinstance(row, list):
            if len(row) != width:
                where = f"the {width} columns {columns}" if columns is not None else f"{width} values in data[0]"
                raise InvalidInputError(f"'{key}.data[{i}]' has {len(row)} values, but there are {where}.")
        elif width != 1 or isinstance(row, dict):
            raise InvalidInputError(f"'{key}.data[{i}]' must be a row: a list of {width} values; got a "
                                    f"JSON {json_type(row)}.")


def _check_split(value: Any, key: str = "dataframe_split") -> None:
    if not isinstance(value, dict) or "data" not in value:
        return  # parse_serving_input names what is missing
    columns = value.get("columns")
    if columns is not None:
        _check_columns(columns, key)
    _check_rows(value["data"], columns, key)
    index = value.get("index")
    if index is None:
        return
    if not isinstance(index, list) or len(index) != len(value["data"]):
        given = f"{len(index)} labels" if isinstance(index, list) else f"a JSON {json_type(index)}"
        raise InvalidInputError(f"'{key}.index' must be a list of one label per row "
                                f"({len(value['data'])}); got {given}.")
    bad = next((i for i, label in enumerate(index) if isinstance(label, (list, dict))), None)
    if bad is not None:
        raise InvalidInputError(f"'{key}.index[{bad}]' must be a label (a string or a number); got a "
                                f"JSON {json_type(index[bad])}.")


def _check_records(value: Any) -> None:
    if not isinstance(value, list):
        raise InvalidInputError(f"'dataframe_records' must be a list of objects (one per row); got a JSON "
                                f"{json_type(value)}.")
    bad = next((i for i, record in enumerate(value) if not isinstance(record, dict)), None)
    if bad is not None:
        raise InvalidInputError(f"'dataframe_records[{bad}]' must be an object (a row of column: value); got a "
                                f"JSON {json_type(value[bad])}.")


def _check_instances(key: str, value: Any) -> None:
    if value is None:
        raise InvalidInputError(f"'{key}' is null; expected a list of rows or an object of columns or tensors.")
    if not isinstance(value, list) or not value:
        return
    first = value[0]
    if isinstance(first, dict):
        bad = next((i for i, item in enumerate(value) if not isinstance(item, dict)), None)
        if bad is not None:
            raise InvalidInputError(f"'{key}[{bad}]' is a JSON {json_type(value[bad])}, but '{key}[0]' is an "
                                    "object: give every row as an object (column: value), or every row as a list.")
        return
    if isinstance(first, list):
        for i, item in enumerate(value):
            if not isinstance(item, list):
                raise InvalidInputError(f"'{key}[{i}]' is a JSON {json_type(item)}, but '{key}[0]' is a list: "
                                        "every row must be a list of the same length.")
            if len(item) != len(first):
                raise InvalidInputError(f"'{key}[{i}]' has {len(item)} values, but '{key}[0]' has {len(first)}; "
                                        "every row must have the same length.")
        return
    bad = next((i for i, item in enumerate(value) if isinstance(item, (list, dict))), None)
    if bad is not None:
        raise InvalidInputError(f"'{key}[{bad}]' is a JSON {json_type(value[bad])}, but '{key}[0]' is a single "
                                "value: give a list of values, or a list of rows.")


def _check_keys(payload: Any) -> None:
    if not isinstance(payload, dict):
        raise InvalidInputError(f"The request body must be a JSON object with one of the keys {list(INPUT_KEYS)}; "
                                f"got a JSON {json_type(payload)}.")
    present = [k for k in INPUT_KEYS if k in payload]
    if len(present) != 1 or any(k not in INPUT_KEYS and k != "params" for k in payload):
        raise InvalidInputError(f"The request body must have exactly one of the keys {list(INPUT_KEYS)} (plus "
                                f"optional 'params'); got keys {sorted(payload)}.")


def check_payload(payload: Any) -> None:
    """Refuse a scoring payload whose shape no model can take (keys, names, rows, mixed items)."""
    _check_keys(payload)
    if "dataframe_split" in payload:
        _check_split(payload["dataframe_split"])
    if "dataframe_records" in payload:
        _check_records(payload["dataframe_records"])
    for key in ("instances", "inputs"):
        if key in payload:
            _check_instances(key, payload[key])
    if AZURE_KEY in payload:
        value = payload[AZURE_KEY]
        if azure_form(value) == "dataframe_split":
            _check_split(value, AZURE_KEY)
        else:
            _check_instances(AZURE_KEY, value)


def azure_form(value: Any) -> str:
    """The MLflow key an Azure ML ``input_data`` value stands for.

    An object of ``columns`` and ``data`` (and optionally ``index``) is a DataFrame in the split
    orientation, ``dataframe_split``; anything else (a list of rows, an object of named
    tensors or columns) is what MLflow takes as ``inputs``.
    """
    if isinstance(value, dict) and "data" in value and "columns" in value and value.keys() <= _SPLIT_KEYS:
        return "dataframe_split"
    return "inputs"


def mlflow_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (already checked) with Azure ML's ``input_data`` under the MLflow key it stands for."""
    if AZURE_KEY not in payload:
        return payload
    standard = {azure_form(payload[AZURE_KEY]): payload[AZURE_KEY]}
    if "params" in payload:
        standard["params"] = payload["params"]
    return standard


def parse_payload(payload: Any, schema: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """A decoded scoring payload as ``(data, params)`` for ``PyFuncModel.predict``."""
    check_payload(payload)
    standard = mlflow_payload(payload)
    try:
        data, params = parse_serving_input(standard, schema)
    except InvalidInputError as exc:
        if standard is payload:
            raise
        key = next(k for k in standard if k != "params")  # the message names the key the client sent
        raise InvalidInputError(exc.message.replace(f"'{key}", f"'{AZURE_KEY}")) from None
    return cast_json_tensors(data, schema), params


def parse_json(body: bytes | str, schema: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """A JSON scoring body as ``(data, params)``."""
    return parse_payload(loads(body), schema)


def _cast_tensor(array: Any, dtype: Any) -> Any:
    if not isinstance(array, np.ndarray) or array.dtype == dtype:
        return array
    kind = np.dtype(dtype).kind
    if kind == "f" and array.dtype.kind in "iuf":
        return array.astype(dtype)
    if kind in "iu" and array.dtype.kind in "iu":
        cast = array.astype(dtype)
        return cast if np.array_equal(cast, array) else array
    return array  # left for enforcement to accept or explain


def cast_json_tensors(data: Any, schema: Any) -> Any:
    """JSON numbers read into a tensor signature's dtypes (as MLflow parses tensor payloads).

    JSON has one number type, so ``[[1, 2, 3]]`` for a float32 tensor arrives as int64;
    values are cast where none changes (integers to floats, integers within range).
    """
    if schema is None or not schema.is_tensor_spec():
        return data
    specs = schema.inputs
    if isinstance(data, dict):
        by_name = {s.name: s for s in specs}
        return {k: (_cast_tensor(v, by_name[k].type) if k in by_name else v) for k, v in data.items()}
    if len(specs) == 1:
        return _cast_tensor(data, specs[0].type)
    return data


# -- predictions out -------------------------------------------------------------------------

def _datetimes(array: np.ndarray) -> list[Any]:
    flat = pd.DatetimeIndex(array.ravel())
    iso = np.array([None if t is pd.NaT else t.isoformat() for t in flat], dtype=object)
    return iso.reshape(array.shape).tolist()


def _array(array: np.ndarray) -> Any:
    """An array as JSON-able values (numeric arrays stay arrays: orjson writes those itself)."""
    kind = array.dtype.kind
    if kind == "f" and array.dtype.itemsize < 8:
        return array.astype(np.float64)  # MLflow writes the double a float32 is
    if kind == "M":
        return _datetimes(array)
    if kind == "S":
        return np.vectorize(json_value, otypes=[object])(array).tolist() if array.ndim else json_value(array.item())
    if kind in "biuf":
        return array
    return array.tolist()


def json_value(o: Any) -> Any:
    """orjson's ``default``: a value orjson does not write itself, as something it does."""
    if isinstance(o, np.ndarray):
        return _array(o)
    if o is pd.NaT or o is pd.NA:  # before the datetime check: NaT is a datetime
        return None
    if isinstance(o, np.generic):
        if isinstance(o, np.datetime64):
            return None if np.isnat(o) else pd.Timestamp(o).isoformat()
        return o.item()
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.encodebytes(bytes(o)).decode("ascii")
    if isinstance(o, (pd.Timestamp, dt.date, dt.time)):
        return o.isoformat()
    if isinstance(o, (pd.DataFrame, pd.Series)):
        return jsonable(o)
    if isinstance(o, (set, frozenset)):
        return list(o)
    dump = getattr(o, "model_dump", None)  # pydantic models, as MLflow renders them
    if callable(dump):
        return dump()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def jsonable(data: Any) -> Any:
    """``data`` as MLflow renders predictions: arrays as lists, tables and Series as records."""
    if isinstance(data, np.ndarray):
        return _array(data)
    if isinstance(data, pd.DataFrame):
        return data.to_dict(orient="records")
    if isinstance(data, pd.Series):
        return data.to_frame().to_dict(orient="records")
    if isinstance(data, dict):
        return {k: jsonable(v) for k, v in data.items()}
    if isinstance(data, np.generic):
        return json_value(data)
    return data


def dumps(content: Any) -> bytes:
    """JSON bytes with numpy, pandas, dates and bytes handled (NaN, NaT and NA become null)."""
    try:
        return orjson.dumps(content, default=json_value, option=_OPTIONS)
    except TypeError:  # orjson's own numpy path refuses some scalars (NaT) instead of asking json_value
        return orjson.dumps(_plain(content), default=json_value, option=orjson.OPT_NON_STR_KEYS)


def _plain(content: Any) -> Any:
    """``content`` with every numpy value turned into what :func:`json_value` makes of it."""
    if isinstance(content, dict):
        return {k: _plain(v) for k, v in content.items()}
    if isinstance(content, (list, tuple)):
        return [_plain(v) for v in content]
    if isinstance(content, (np.ndarray, np.generic, pd.DataFrame, pd.Series)):
        return _plain(json_value(content))
    return content


def predictions_json(predictions: Any) -> bytes:
    """The server's response body: ``{"predictions": ...}``."""
    return dumps({"predictions": jsonable(predictions)})


def prediction_items(predictions: Any) -> bytes | None:
    """The comma-separated items of the JSON array a prediction renders to; None if it is not an array."""
    text = dumps(jsonable(predictions))
    if not text.startswith(b"["):
        return None
    return text[1:-1]


def prediction_lines(predictions: Any) -> Iterator[bytes]:
    """One JSON value per line: each item of the rendered array, or each row of a dict of columns."""
    if isinstance(predictions, dict):
        predictions = prediction_frame(predictions)
    values = jsonable(predictions)
    if not isinstance(values, (list, np.ndarray)) or (isinstance(values, np.ndarray) and values.ndim == 0):
        values = [values]
    for value in values:
        yield dumps(value) + b"\n"


def prediction_frame(pred: Any, names: list[str] | None = None) -> pd.DataFrame:
    """Predictions as a DataFrame (for CSV and Parquet output): one row per prediction."""
    if isinstance(pred, pd.DataFrame):
        return pred.reset_index(drop=True)
    if isinstance(pred, pd.Series):
        pred = pred.to_numpy()
    if isinstance(pred, dict):
        return pd.DataFrame({str(k): list(np.asarray(v)) if np.asarray(v).ndim > 1 else np.asarray(v)
                             for k, v in pred.items()})
    arr = np.asarray(pred)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim == 1:
        return pd.DataFrame({names[0] if names and len(names) == 1 else "prediction": arr})
    if arr.ndim == 2:
        cols = names if names and len(names) == arr.shape[1] else [str(i) for i in range(arr.shape[1])]
        return pd.DataFrame(arr, columns=cols)
    return pd.DataFrame({"prediction": list(arr)})


def merge_dicts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Dict predictions of several chunks as one: each key's values concatenated in order."""
    merged: dict[str, Any] = {}
    for key in parts[0]:
        values = [part.get(key) for part in parts]
        if all(isinstance(v, np.ndarray) and v.ndim > 0 for v in values):
            merged[key] = np.concatenate(values)
        elif all(isinstance(v, (pd.Series, pd.DataFrame)) for v in values):
            merged[key] = pd.concat(values, ignore_index=True)
        elif all(isinstance(v, list) for v in values):
            merged[key] = [item for v in values for item in v]
        else:
            merged[key] = values
    return merged
