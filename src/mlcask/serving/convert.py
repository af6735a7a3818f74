"""Turning predictions into JSON (MLflow's rendering) and Open Inference Protocol tensors to and from data."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mlcask.exceptions import InvalidInputError, MlcaskException

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        if o.dtype.kind == "S":
            return [_default(x) for x in o.tolist()] if o.ndim else _default(o.item())
        if o.dtype.kind == "M":
            return np.datetime_as_string(o).tolist()
        return o.tolist()
    if isinstance(o, np.generic):
        if isinstance(o, np.datetime64):
            return str(np.datetime_as_string(o))
        return o.item()
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.encodebytes(bytes(o)).decode("ascii")
    if isinstance(o, (pd.Timestamp, dt.date, dt.time)):
        return o.isoformat()
    if o is pd.NaT or o is pd.NA:
        return None
    if isinstance(o, (pd.DataFrame, pd.Series)):
        return jsonable(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    dump = getattr(o, "model_dump", None)  # pydantic models, as MLflow renders them
    if callable(dump):
        return dump()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def jsonable(data: Any) -> Any:
    """``data`` as MLflow renders predictions: arrays as lists, tables and Series as records."""
    if isinstance(data, pd.DataFrame):
        return data.to_dict(orient="records")
    if isinstance(data, pd.Series):
        return pd.DataFrame(data).to_dict(orient="records")
    return data


def dumps(content: Any) -> bytes:
    """JSON bytes with numpy, pandas, dates and bytes handled (NaN and NaT become null)."""
    return orjson.dumps(content, default=_default, option=_OPTIONS)


def predictions_body(predictions: Any) -> bytes:
    return dumps({"predictions": jsonable(predictions)})


# -- Open Inference Protocol ---------------------------------------------------------------

_OIP_TO_NUMPY = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": object,
}
_DATATYPE_TO_OIP = {"boolean": "BOOL", "integer": "INT32", "long": "INT64", "float": "FP32",
                    "double": "FP64", "string": "BYTES", "binary": "BYTES", "datetime": "BYTES"}


def oip_datatype_of_dtype(dtype: Any) -> str:
    """The OIP datatype of a numpy dtype (strings, bytes, objects and dates are BYTES)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in "iu":
        return f"{'U' if dtype.kind == 'u' else ''}INT{dtype.itemsize * 8}"
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        return f"FP{dtype.itemsize * 8}"
    return "BYTES"


def oip_datatype_of_spec(spec: Any) -> str:
    """The OIP datatype of a ColSpec or TensorSpec (compound column types are BYTES)."""
    from mlcask.types.schema import TensorSpec

    if isinstance(spec, TensorSpec):
        return oip_datatype_of_dtype(spec.type)
    name = getattr(spec.type, "name", None)
    return _DATATYPE_TO_OIP.get(name, "BYTES") if isinstance(name, str) else "BYTES"


def tensor_metadata(schema: Any, default_name: str) -> list[dict[str, Any]]:
    """OIP metadata (name, datatype, shape) for every input or output of a schema."""
    if schema is None:
        return []
    out = []
    for i, spec in enumerate(schema.inputs):
        from mlcask.types.schema import TensorSpec

        name = spec.name if spec.name is not None else f"{default_name}-{i}"
        shape = list(spec.shape) if isinstance(spec, TensorSpec) else [-1]
        out.append({"name": str(name), "datatype": oip_datatype_of_spec(spec), "shape": shape})
    return out


def _decode_tensor(tensor: Any, index: int) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise InvalidInputError(f"inputs[{index}] must be an object with 'name', 'shape', 'datatype' "
                                f"and 'data'; got a JSON {type(tensor).__name__}.")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in tensor]
    if missing:
        raise InvalidInputError(f"inputs[{index}] lacks {missing}; each input tensor needs 'name', "
                                "'shape', 'datatype' and 'data'.")
    name, shape, datatype, data = tensor["name"], tensor["shape"], tensor["datatype"], tensor["data"]
    if not isinstance(name, str):
        raise InvalidInputError(f"inputs[{index}].name must be a string, got {name!r}.")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidInputError(f"Input '{name}': shape must be a list of non-negative integers, got {shape!r}.")
    np_type = _OIP_TO_NUMPY.get(datatype) if isinstance(datatype, str) else None
    if np_type is None:
        raise InvalidInputError(f"Input '{name}': unknown datatype {datatype!r}; expected one of "
                                f"{sorted(_OIP_TO_NUMPY)}.")
    try:
        raw = np.asarray(data)
    except ValueError as exc:
        raise InvalidInputError(f"Input '{name}': data is not a rectangular array: {exc}") from None
    if np_type is object:
        array = raw.astype(object)
    else:
        kind = np.dtype(np_type).kind
        allowed = {"b": "b", "i": "biu", "u": "biu", "f": "biuf"}[kind]
        if raw.size and raw.dtype.kind not in allowed:
            raise InvalidInputError(f"Input '{name}': datatype {datatype} does not hold the given data "
                                    f"(JSON values read as {raw.dtype.name}).")
        try:
            with np.errstate(over="raise", invalid="raise"):
                array = raw.astype(np_type)
        except (ValueError, TypeError, OverflowError, FloatingPointError) as exc:
            raise InvalidInputError(f"Input '{name}': data does not fit datatype {datatype}: {exc}") from None
        if kind in "iu" and raw.dtype.kind in "iu" and not np.array_equal(array, raw):
            raise InvalidInputError(f"Input '{name}': values out of range for datatype {datatype}.")
    expected = int(np.prod(shape)) if shape else 1
    if array.size != expected:
        raise InvalidInputError(f"Input '{name}': shape {shape} needs {expected} values, got {array.size}.")
    return name, array.reshape(shape)


def _as_column(name: str, array: np.ndarray) -> np.ndarray:
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    raise InvalidInputError(f"Input '{name}' has shape {list(array.shape)}; a column takes shape [n] or [n, 1].")


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(f"Input columns have different lengths: {lengths}.")
    return pd.DataFrame(columns)


def oip_request_to_data(body: Any, schema: Any) -> tuple[Any, dict[str, Any] | None]:
    """An OIP v2 infer request as ``(data, params)`` for ``PyFuncModel.predict``.

    Column-based signature: one tensor per column, named after the column (shape [n] or
    [n, 1]); or, when the names do not all match columns, a single 2-D tensor of shape
    [n, number of columns] read by position. Tensor-based signature: named tensors as a
    dict of arrays, or the one tensor as an array. No signature: one tensor is passed as
    an array; several 1-D tensors of one length as a DataFrame; otherwise a dict of arrays.
    ``parameters`` become the predict params.
    """
    if not isinstance(body, dict):
        raise InvalidInputError(f"The request body must be a JSON object, got a JSON {type(body).__name__}.")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInputError("The request needs 'inputs': a non-empty list of tensors "
                                "({'name', 'shape', 'datatype', 'data'}).")
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise InvalidInputError(f"'parameters' must be a JSON object, got {type(params).__name__}.")
    tensors = dict(_decode_tensor(t, i) for i, t in enumerate(inputs))
    if len(tensors) != len(inputs):
        raise InvalidInputError("Input tensor names must be unique.")
    if schema is None:
        if len(tensors) == 1:
            return next(iter(tensors.values())), params
        if all(a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1) for a in tensors.values()):
            return _frame({n: _as_column(n, a) for n, a in tensors.items()}), params
        return tensors, params
    if schema.is_tensor_spec():
        if not schema.has_input_names():
            if len(tensors) != 1:
                raise InvalidInputError(f"The model takes one tensor; got {len(tensors)} inputs.")
            return next(iter(tensors.values())), params
        names = [str(n) for n in schema.input_names()]
        unknown = sorted(set(tensors) - set(names))
        if unknown:
            raise InvalidInputError(f"Unknown input tensors {unknown}; the model takes {names}.")
        if len(names) == 1:
            return next(iter(tensors.values())), params
        return tensors, params
    names = [str(n) for n in schema.input_names()] if schema.has_input_names() else []
    if names and set(tensors) <= set(names):
        return _frame({n: _as_column(n, a) for n, a in tensors.items()}), params
    if len(tensors) == 1:
        name, array = next(iter(tensors.items()))
        width = len(schema.inputs)
        if array.ndim == 2 and array.shape[1] == width:
            return pd.DataFrame(array, columns=names or None), params
        if array.ndim == 1 and width == 1:
            return pd.DataFrame({names[0] if names else 0: array}), params
        raise InvalidInputError(
            f"Input '{name}' of shape {list(array.shape)} does not name a column; the model takes "
            f"columns {names or width}: send one tensor per column (named after it) or one 2-D tensor "
            f"of shape [n, {width}]."
        )
    unknown = sorted(set(tensors) - set(names))
    raise InvalidInputError(f"Unknown input tensors {unknown}; the model takes columns {names}.")


def _output_tensor(name: str, values: Any) -> dict[str, Any]:
    array = values if isinstance(values, np.ndarray) else np.asarray(values)
    if array.dtype.kind in "OUSM":
        datatype = "BYTES"
        data = [_default(v) if not isinstance(v, (str, int, float, bool, type(None))) else v
                for v in array.ravel().tolist()]
    else:
        datatype = oip_datatype_of_dtype(array.dtype)
        data = array.ravel()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def predictions_to_oip_outputs(predictions: Any, output_schema: Any) -> list[dict[str, Any]]:
    """OIP output tensors for a prediction: one per DataFrame column or dict key, else one."""
    out_names = []
    if output_schema is not None and output_schema.has_input_names():
        out_names = [str(n) for n in output_schema.input_names()]
    if isinstance(predictions, pd.DataFrame):
        return [_output_tensor(str(c), predictions[c].to_numpy()) for c in predictions.columns]
    if isinstance(predictions, dict):
        return [_output_tensor(str(k), v) for k, v in predictions.items()]
    if isinstance(predictions, pd.Series):
        name = predictions.name if predictions.name is not None else (out_names[0] if out_names else "predictions")
        return [_output_tensor(str(name), predictions.to_numpy())]
    name = out_names[0] if len(out_names) == 1 else "predictions"
    try:
        return [_output_tensor(name, predictions)]
    except (ValueError, TypeError) as exc:
        raise MlcaskException(f"The model's output cannot be sent as a tensor: {exc}") from None
