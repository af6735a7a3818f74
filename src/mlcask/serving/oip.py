"""Open Inference Protocol v2 tensors: infer requests to data, predictions to output tensors, metadata."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import InvalidInputError, MlcaskException
from mlcask.serving.codec import json_type, json_value, shown

OIP_TO_NUMPY = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": object,
}
OIP_DATATYPES = list(OIP_TO_NUMPY)
_DATATYPE_TO_OIP = {"boolean": "BOOL", "integer": "INT32", "long": "INT64", "float": "FP32",
                    "double": "FP64", "string": "BYTES", "binary": "BYTES", "datetime": "BYTES"}
_MAX_DIMS = 32
# What JSON values each datatype takes: numpy's kind of the decoded list, and the JSON values by name.
_KINDS = {"b": ("b", "booleans"), "i": ("iu", "integers"), "u": ("iu", "integers"), "f": ("iuf", "numbers")}


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
    from mlcask.types.schema import TensorSpec

    if schema is None:
        return []
    out = []
    for i, spec in enumerate(schema.inputs):
        name = spec.name if spec.name is not None else f"{default_name}-{i}"
        shape = list(spec.shape) if isinstance(spec, TensorSpec) else [-1]
        out.append({"name": str(name), "datatype": oip_datatype_of_spec(spec), "shape": shape})
    return out


# -- requests --------------------------------------------------------------------------------

def _flat(data: list[Any]) -> list[Any]:
    out, stack = [], [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _first_not(values: list[Any], ok: Any) -> str:
    for i, value in enumerate(_flat(values)):
        if not ok(value):
            return f"value {i} (row-major) is the JSON {json_type(value)} {shown(value)}"
    return "the values do not share one type"


def _shape(name: str, shape: Any) -> list[int]:
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise InvalidInputError(f"Input '{name}': shape must be a list of non-negative integers, got {shape!r}.")
    if len(shape) > _MAX_DIMS:
        raise InvalidInputError(f"Input '{name}': shape has {len(shape)} dimensions; at most {_MAX_DIMS} are taken.")
    return shape


def _bytes_values(name: str, data: list[Any]) -> np.ndarray:
    flat = _flat(data)
    bad = next((i for i, v in enumerate(flat) if not isinstance(v, str)), None)
    if bad is not None:
        raise InvalidInputError(f"Input '{name}': BYTES data must be strings; value {bad} (row-major) is the "
                                f"JSON {json_type(flat[bad])}.")
    array = np.empty(len(flat), dtype=object)
    array[:] = flat
    return array


def _whole_numbers(data: list[Any]) -> list[int] | None:
    """The values as ints when every one is a whole number (JSON Schema's integers include 3.0)."""
    flat = _flat(data)
    if all(type(v) is int or (type(v) is float and v.is_integer()) for v in flat):
        return [int(v) for v in flat]
    return None


def _raw(name: str, datatype: str, data: list[Any]) -> np.ndarray:
    try:
        raw = np.asarray(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"Input '{name}': data is not a rectangular array: {exc}") from None
    kind = np.dtype(OIP_TO_NUMPY[datatype]).kind
    if kind in "iu" and raw.dtype.kind in "fO":
        whole = _whole_numbers(data)
        if whole is not None:
            raw = np.asarray(whole)  # already rectangular: the declared shape is applied later
            if raw.dtype.kind == "O":
                raise InvalidInputError(f"Input '{name}': values out of range for datatype {datatype}.")
    elif kind == "f" and raw.dtype.kind == "O" and all(type(v) in (int, float) for v in _flat(data)):
        try:  # integers beyond 64 bits are numbers too
            raw = np.asarray(_flat(data), dtype=np.float64)
        except OverflowError:  # beyond a double: left for the check below to explain
            pass
    return raw


def _typed_values(name: str, datatype: str, data: list[Any]) -> np.ndarray:
    np_type = OIP_TO_NUMPY[datatype]
    raw = _raw(name, datatype, data)
    kind = np.dtype(np_type).kind
    allowed, noun = _KINDS[kind]
    if raw.size and (raw.dtype.kind not in allowed or (kind != "b" and raw.dtype.kind == "b")):
        plain = {"b": lambda v: type(v) is bool, "i": lambda v: type(v) is int,
                 "u": lambda v: type(v) is int, "f": lambda v: type(v) in (int, float)}[kind]
        if raw.dtype.kind == "O" and all(plain(v) for v in _flat(data)):
            raise InvalidInputError(f"Input '{name}': values out of range for datatype {datatype}.")
        raise InvalidInputError(f"Input '{name}': datatype {datatype} takes JSON {noun}; {_first_not(data, plain)}.")
    try:
        with np.errstate(over="raise", invalid="raise"):
            array = raw.astype(np_type)
    except (ValueError, TypeError, OverflowError, FloatingPointError) as exc:
        raise InvalidInputError(f"Input '{name}': data does not fit datatype {datatype}: {exc}") from None
    if kind in "iu" and raw.dtype.kind in "iu" and not np.array_equal(array, raw):
        raise InvalidInputError(f"Input '{name}': values out of range for datatype {datatype}.")
    return array


def _decode_tensor(tensor: Any, index: int) -> tuple[str, np.ndarray]:
    if not isinstance(tensor, dict):
        raise InvalidInputError(f"inputs[{index}] must be an object with 'name', 'shape', 'datatype' "
                                f"and 'data'; got a JSON {json_type(tensor)}.")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in tensor]
    if missing:
        raise InvalidInputError(f"inputs[{index}] lacks {missing}; each input tensor needs 'name', "
                                "'shape', 'datatype' and 'data'.")
    name, datatype, data = tensor["name"], tensor["datatype"], tensor["data"]
    if not isinstance(name, str):
        raise InvalidInputError(f"inputs[{index}].name must be a string, got {name!r}.")
    shape = _shape(name, tensor["shape"])
    if not isinstance(datatype, str) or datatype not in OIP_TO_NUMPY:
        raise InvalidInputError(f"Input '{name}': unknown datatype {datatype!r}; expected one of {OIP_DATATYPES}.")
    if not isinstance(data, list):
        raise InvalidInputError(f"Input '{name}': data must be a JSON array of values (flat, row-major, or "
                                f"nested); got a JSON {json_type(data)}.")
    array = _bytes_values(name, data) if datatype == "BYTES" else _typed_values(name, datatype, data)
    expected = math.prod(shape)
    if array.size != expected:
        raise InvalidInputError(f"Input '{name}': shape {shape} needs {expected} values, got {array.size}.")
    if expected == 0:
        raise InvalidInputError(f"Input '{name}' holds no values (shape {shape}); there is nothing to predict on.")
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


def _request_parts(body: Any) -> tuple[list[Any], dict[str, Any] | None]:
    if not isinstance(body, dict):
        raise InvalidInputError(f"The request body must be a JSON object, got a JSON {json_type(body)}.")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInputError("The request needs 'inputs': a non-empty list of tensors "
                                "({'name', 'shape', 'datatype', 'data'}).")
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise InvalidInputError(f"'parameters' must be a JSON object, got a JSON {json_type(params)}.")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInputError(f"'id' must be a string, got a JSON {json_type(request_id)}.")
    outputs = body.get("outputs")
    if outputs is not None and not isinstance(outputs, list):
        raise InvalidInputError(f"'outputs' must be a list of requested output tensors, got a JSON "
                                f"{json_type(outputs)}.")
    return inputs, params


def _columns_data(tensors: dict[str, np.ndarray], schema: Any) -> Any:
    names = [str(n) for n in schema.input_names()] if schema.has_input_names() else []
    if names and set(tensors) <= set(names):
        return _frame({n: _as_column(n, a) for n, a in tensors.items()})
    if len(tensors) == 1:
        name, array = next(iter(tensors.items()))
        width = len(schema.inputs)
        if array.ndim == 2 and array.shape[1] == width:
            return pd.DataFrame(array, columns=names or None)
        if array.ndim == 1 and width == 1:
            return pd.DataFrame({names[0] if names else 0: array})
        raise InvalidInputError(
            f"Input '{name}' of shape {list(array.shape)} does not name a column; the model takes "
            f"columns {names or width}: send one tensor per column (named after it) or one 2-D tensor "
            f"of shape [n, {width}]."
        )
    unknown = sorted(set(tensors) - set(names))
    raise InvalidInputError(f"Unknown input tensors {unknown}; the model takes columns {names}.")


def oip_request_to_data(body: Any, schema: Any) -> tuple[Any, dict[str, Any] | None]:
    """An OIP v2 infer request as ``(data, params)`` for ``PyFuncModel.predict``.

    Column-based signature: one tensor per column, named after the column (shape [n] or
    [n, 1]); or, when the names do not all match columns, a single 2-D tensor of shape
    [n, number of columns] read by position. Tensor-based signature: named tensors as a
    dict of arrays, or the one tensor as an array. No signature: one tensor is passed as
    an array; several 1-D tensors of one length as a DataFrame; otherwise a dict of arrays.
    ``parameters`` become the predict params.
    """
    inputs, params = _request_parts(body)
    tensors = dict(_decode_tensor(t, i) for i, t in enumerate(inputs))
    if len(tensors) != len(inputs):
        raise InvalidInputError("Input tensor names must be unique.")
    if schema is None:
        if len(tensors) == 1:
            return next(iter(tensors.values())), params
        if all(a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1) for a in tensors.values()):
            return _frame({n: _as_column(n, a) for n, a in tensors.items()}), params
        return tensors, params
    if not schema.is_tensor_spec():
        return _columns_data(tensors, schema), params
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


# -- responses --------------------------------------------------------------------------------

def _output_tensor(name: str, values: Any) -> dict[str, Any]:
    array = values if isinstance(values, np.ndarray) else np.asarray(values)
    if array.dtype.kind in "OUSM":
        datatype = "BYTES"
        flat = array.ravel()
        if array.dtype.kind == "M":
            flat = np.asarray(json_value(flat), dtype=object)
        data = [json_value(v) if not isinstance(v, (str, int, float, bool, type(None))) else v
                for v in flat.tolist()]
    else:
        datatype = oip_datatype_of_dtype(array.dtype)
        data = array.ravel()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def predictions_to_oip_outputs(predictions: Any, output_schema: Any) -> list[dict[str, Any]]:
    """OIP output tensors for a prediction: one per DataFrame column or dict key, else one."""
    out_names = []
    if output_schema is not None and output_schema.has_input_names():
        out_names = [str(n) for n in output_schema.input_names()]
    try:
        if isinstance(predictions, pd.DataFrame):
            return [_output_tensor(str(c), predictions[c].to_numpy()) for c in predictions.columns]
        if isinstance(predictions, dict):
            return [_output_tensor(str(k), v) for k, v in predictions.items()]
        if isinstance(predictions, pd.Series):
            name = predictions.name if predictions.name is not None else (out_names[0] if out_names else "predictions")
            return [_output_tensor(str(name), predictions.to_numpy())]
        name = out_names[0] if len(out_names) == 1 else "predictions"
        return [_output_tensor(name, predictions)]
    except (ValueError, TypeError) as exc:
        raise MlcaskException(f"The model's output cannot be sent as a tensor: {exc}") from None


# -- the request schema ------------------------------------------------------------------------

# JSON Schema cannot tie a tensor's shape to the length of its data, nor tensors' lengths to
# each other, so the exact request schema spells the variable dimension out for these counts.
SCHEMA_ROW_COUNTS = (1, 2, 3)
_EXACT_COLUMN_TYPES = {"boolean", "integer", "long", "float", "double", "string"}


def value_schema(datatype: str) -> dict[str, Any]:
    """The JSON Schema of one data value of an OIP datatype (numbers within the type's range)."""
    if datatype == "BOOL":
        return {"type": "boolean"}
    if datatype == "BYTES":
        return {"type": "string"}
    dtype = np.dtype(OIP_TO_NUMPY[datatype])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
    largest = float(np.finfo(dtype).max)
    return {"type": "number", "minimum": -largest, "maximum": largest}


def _tensor(name: dict[str, Any], datatype: str, shape: list[int]) -> dict[str, Any]:
    size = math.prod(shape)
    return {"type": "object", "required": ["name", "shape", "datatype", "data"], "properties": {
        "name": name, "shape": {"const": shape}, "datatype": {"const": datatype},
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": value_schema(datatype), "minItems": size, "maxItems": size,
                 "description": f"{size} values, row-major."}}}


def _tensor_list(tensors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "array", "prefixItems": tensors, "items": False, "minItems": len(tensors)}


def _column_forms(schema: Any, n: int) -> list[dict[str, Any]]:
    specs = list(schema.inputs)
    if not all(getattr(s.type, "name", None) in _EXACT_COLUMN_TYPES for s in specs):
        return []
    types = [oip_datatype_of_spec(s) for s in specs]
    forms = []
    if schema.has_input_names():
        names = [str(s.name) for s in specs]
        forms.append(_tensor_list([_tensor({"const": c}, t, [n]) for c, t in zip(names, types, strict=True)]))
        other_name: dict[str, Any] = {"type": "string", "not": {"enum": names}}
    else:
        other_name = {"type": "string"}
    if len(set(types)) == 1:
        forms.append(_tensor_list([_tensor(other_name, types[0], [n, len(specs)])]))
    return forms


def _tensor_forms(schema: Any, n: int) -> list[dict[str, Any]]:
    specs = list(schema.inputs)
    if not all(np.dtype(s.type).kind in "biufO" for s in specs):
        return []
    named = schema.has_input_names()
    tensors = [_tensor({"const": str(s.name)} if named else {"type": "string"}, oip_datatype_of_spec(s),
                       [n if d == -1 else d for d in s.shape]) for s in specs]
    return [_tensor_list(tensors)]


def infer_request_schema(schema: Any, params_ref: dict[str, Any]) -> dict[str, Any] | None:
    """An exact JSON Schema of OIP infer requests for a model's input ``schema``: every request it
    allows is one the server takes; None when the signature's types cannot be spelled out."""
    if schema is None:
        return None
    forms: list[dict[str, Any]] = []
    for n in SCHEMA_ROW_COUNTS:
        for form in (_tensor_forms(schema, n) if schema.is_tensor_spec() else _column_forms(schema, n)):
            if form not in forms:
                forms.append(form)
    if not forms:
        return None
    requests = [{"type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"}, "parameters": params_ref,
        "outputs": {"type": "array", "items": {"type": "object"}}, "inputs": form}} for form in forms]
    return {"anyOf": requests, "description": (
        f"Spelled out here for {', '.join(map(str, SCHEMA_ROW_COUNTS))} rows; any number n of rows is taken "
        "(shape [n] per column, or [n, columns] for one 2-D tensor, with that many values).")}
