"""Type hints of a custom model's ``predict``: the signature they imply, and checking data against them.

MLflow 3 reads ``def predict(self, model_input: list[str]) -> list[str]`` as the signature
``inputs: [string]``, ``outputs: [string]``, and checks (and converts) each input against
the hint instead of the signature. The same rules here: the input hint must be
``list[...]`` of ``int``, ``float``, ``str``, ``bool``, ``bytes``, ``datetime``, ``Any``,
or lists and ``dict[str, ...]`` of those; ``pandas.DataFrame``, ``pandas.Series`` and
``numpy.ndarray`` hints are accepted but imply no signature. Pydantic models are not
supported (the signature is then left to the input example).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import types
import typing
import warnings
from typing import Any, NamedTuple

from mlcask.exceptions import InvalidArgumentError

_logger = logging.getLogger(__name__)

_PRIMITIVES: dict[Any, str] = {int: "long", str: "string", bool: "boolean", float: "double", bytes: "binary",
                               dt.datetime: "datetime"}
SUPPORTED_TYPE_HINT_MSG = (
    "Type hints must be a list[...] where collection element type is one of these types: "
    f"{list(_PRIMITIVES)}, pydantic BaseModel subclasses, lists and dictionaries of primitive types, "
    "or typing.Any. Check https://mlflow.org/docs/latest/model/python_model.html#supported-type-hints "
    "for more details."
)
OPTIONAL_INPUT_MSG = (
    "Input cannot be Optional type. Fix this by removing the Optional wrapper from the type hint. To use "
    "optional fields, use a Pydantic-based type hint definition. See "
    "https://docs.pydantic.dev/latest/api/base_model/ for pydantic BaseModel examples. Check "
    "https://mlflow.org/docs/latest/model/python_model.html#supported-type-hints for more details."
)
_UNIONS = (typing.Union, types.UnionType)


class InvalidTypeHintError(InvalidArgumentError):
    """A malformed hint (``list`` without an element type, ``dict[int, str]``, ...): saving fails,
    as in MLflow. A well-formed hint mlcask cannot type (``list[object]``) only warns."""


class TypeHints(NamedTuple):
    input: Any = None
    output: Any = None


def _no_signature_hints() -> tuple[Any, ...]:
    import numpy as np
    import pandas as pd

    return pd.DataFrame, pd.Series, np.ndarray


def _mentions_pydantic(hint: Any) -> bool:
    if isinstance(hint, type) and any(c.__module__.startswith("pydantic") for c in hint.__mro__[1:]):
        return True
    return any(_mentions_pydantic(arg) for arg in typing.get_args(hint))


def no_signature_hint(hint: Any) -> bool:
    """A hint accepted but implying no signature (DataFrame, Series, ndarray, pydantic models)."""
    return hint in _no_signature_hints() or _mentions_pydantic(hint)


def hint_repr(hint: Any) -> str:
    return hint.__name__ if type(hint) is type else str(hint)


def predict_type_hints(func: Any, input_index: int = 0) -> TypeHints:
    """The hints of ``func``'s model-input argument (the first one that is not ``self`` or
    ``context``) and of its return value; None where there is none."""
    if callable(func) and not (inspect.isfunction(func) or inspect.ismethod(func)) and hasattr(func, "__call__"):
        func = type(func).__call__  # a callable object: the hints of its __call__
    try:
        hints = typing.get_type_hints(func)
        parameters = [p for p in inspect.signature(func).parameters if p not in ("self", "context")]
    except Exception:  # unresolvable forward references, builtins without signatures
        return TypeHints()
    name = parameters[input_index] if len(parameters) > input_index else None
    return TypeHints(hints.get(name) if name else None, hints.get("return"))


def _column_type(hint: Any) -> tuple[Any, bool]:
    """(mlcask column type, required) for one element type hint, or InvalidArgumentError."""
    from mlcask.types import AnyType, Array, DataType, Map

    if hint is Any:
        return AnyType(), True
    if hint in _PRIMITIVES:
        return DataType[_PRIMITIVES[hint]], True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return Array(_column_type(_list_element(hint))[0]), True
    if origin is dict:
        if len(args) != 2:
            raise InvalidTypeHintError(f"Dictionary type hint must contain two element types, got {hint_repr(hint)}")
        if args[0] is not str:
            raise InvalidTypeHintError(f"Dictionary key type must be str, got {args[0]} in type hint "
                                       f"{hint_repr(hint)}")
        return Map(_column_type(args[1])[0]), True
    if origin in _UNIONS:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _column_type(rest[0])[0], False
        return AnyType(), type(None) not in args
    if hint in (list, dict, typing.Optional, *_UNIONS):
        raise InvalidTypeHintError(f"Invalid type hint `{hint_repr(hint)}`, it must include a valid element type. "
                                   f"{SUPPORTED_TYPE_HINT_MSG}")
    raise InvalidArgumentError(f"Unsupported type hint `{hint_repr(hint)}`. {SUPPORTED_TYPE_HINT_MSG}")


def _list_element(hint: Any) -> Any:
    args = typing.get_args(hint)
    if type(None) in args:
        raise InvalidArgumentError(OPTIONAL_INPUT_MSG)
    if len(args) > 1:
        raise InvalidTypeHintError(f"Type hint `{hint_repr(hint)}` contains {len(args)} element types. Collections "
                                   "must have only a single type definition e.g. `list[int]` is valid; "
                                   "`list[str, int]` is invalid.")
    if not args:
        raise InvalidTypeHintError(f"Type hint `{hint_repr(hint)}` doesn't contain a collection element type. Fix "
                                   "by adding an element type to the collection type definition, e.g. `list[str]` "
                                   "instead of `list`.")
    return args[0]


def _is_list(hint: Any) -> bool:
    return hint is list or typing.get_origin(hint) is list


def schema_of_element(hint: Any) -> Any:
    from mlcask.types import ColSpec, Schema

    column, required = _column_type(hint)
    if not required:
        raise InvalidTypeHintError(OPTIONAL_INPUT_MSG)
    return Schema([ColSpec(column, required=True)])


def schema_of_list_hint(hint: Any) -> Any:
    """The one-column schema of a ``list[...]`` hint (``list[int]`` -> ``[long]``)."""
    if not _is_list(hint):
        raise InvalidArgumentError(
            "Type hints must be wrapped in list[...] because MLflow assumes the predict method to take multiple "
            f"input instances. Specify your type hint as `list[{hint_repr(hint)}]` for a valid signature.")
    return schema_of_element(_list_element(hint))


def signature_from_type_hints(hints: TypeHints) -> Any:
    """The signature ``hints`` imply, or None (no input hint, or one that implies none).

    An unsupported input hint raises InvalidArgumentError with MLflow's message; an output
    hint that implies no schema gives ``[Any]`` outputs, as in MLflow.
    """
    from mlcask.models.signature import ModelSignature
    from mlcask.types import AnyType, ColSpec, Schema

    if hints.input is None or hints.input in _no_signature_hints() or _mentions_pydantic(hints.input):
        return None  # pydantic hints: not supported here; the input example gives the signature
    try:
        inputs = schema_of_list_hint(hints.input)
    except InvalidTypeHintError as exc:
        raise InvalidArgumentError(
            "The `predict` function has unsupported type hints for the model input arguments. Update it to one "
            f"of supported type hints, or remove type hints to bypass this check. Error: {exc.message}") from None
    except InvalidArgumentError as exc:  # a hint no signature can be read from: saved without one, as MLflow
        warnings.warn(f"Failed to infer signature from type hint: {exc.message}", UserWarning, stacklevel=3)
        return None
    outputs = Schema([ColSpec(AnyType())])
    if hints.output is not None:
        try:
            outputs = schema_of_list_hint(hints.output) if _is_list(hints.output) else schema_of_element(hints.output)
        except InvalidArgumentError as exc:
            _logger.info("Failed to infer output type hint, setting output schema to AnyType. %s", exc)
    signature = ModelSignature(inputs, outputs)
    signature._is_signature_from_type_hint = True  # MLflow's mark on the signature
    return signature


# -- checking data at predict time -------------------------------------------------------
def _validate(data: Any, hint: Any) -> Any:
    if hint is Any:
        return data
    if hint in _PRIMITIVES:
        if isinstance(data, hint):
            return data
        raise InvalidArgumentError(f"Expected type {hint_repr(hint)}, but got {type(data).__name__}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        if not isinstance(data, list):
            raise InvalidArgumentError(f"Expected list, but got {type(data).__name__}")
        invalid = []
        for item in data:
            try:
                _validate(item, args[0])
            except InvalidArgumentError as exc:
                invalid.append((str(item), exc.message))
        if invalid:
            shown = f"{invalid[:5]} ... (truncated)" if len(invalid) > 5 else invalid
            raise InvalidArgumentError(f"Failed to validate data against type hint `list[{hint_repr(args[0])}]`, "
                                       f"invalid elements: {shown}")
        return data
    if origin is dict:
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"Expected dict, but got {type(data).__name__}")
        invalid_items: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                invalid_items[str(key)] = f"Key must be a string, got {type(key).__name__}"
                continue
            try:
                _validate(value, args[1])
            except InvalidArgumentError as exc:
                invalid_items[key] = exc.message
        if invalid_items:
            raise InvalidArgumentError(f"Failed to validate data against type hint `dict[str, "
                                       f"{hint_repr(args[1])}]`, invalid elements: {invalid_items}")
        return data
    return data  # unions, DataFrame, ndarray...: not checked (MLflow takes unions as Any)


def convert_and_validate(data: Any, hint: Any) -> Any:
    """The model input as ``predict`` declares it: a one-column DataFrame becomes a list
    (``list[dict]``: its rows), and the result is checked against ``hint`` with MLflow's errors."""
    import pandas as pd

    if hint is None or hint in _no_signature_hints() or _mentions_pydantic(hint):
        return data
    if isinstance(data, pd.DataFrame):
        if not _is_list(hint):
            raise InvalidArgumentError("Only `list[...]` type hint supports pandas DataFrame input with a single "
                                       f"column. But got {hint_repr(hint)}.")
        element = _list_element(hint)
        if element is dict or typing.get_origin(element) is dict:
            data = data.iloc[:, 0].tolist() if list(data.columns) == [0] else data.to_dict(orient="records")
        else:
            data = data.iloc[:, 0].tolist()
        data = [item.tolist() if hasattr(item, "tolist") and not isinstance(item, (str, bytes)) else item
                for item in data]
    elif isinstance(data, pd.Series) and _is_list(hint):
        data = data.tolist()
    return _validate(data, hint)
