"""Type hints of a custom model's ``predict``: the signature they imply, and checking data against them.

MLflow 3 reads ``def predict(self, model_input: list[str]) -> list[str]`` as the signature
``inputs: [string]``, ``outputs: [string]``, and checks (and converts) each input against
the hint instead of the signature. The same rules here: the input hint must be
``list[...]`` of ``int``, ``float``, ``str``, ``bool``, ``bytes``, ``datetime``, ``Any``,
or lists and ``dict[str, ...]`` of those; ``pandas.DataFrame``, ``pandas.Series`` and
``numpy.ndarray`` hints are accepted but imply no signature. A pydantic model is an
object whose properties are its fields; a dict given for it becomes an instance.
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


def is_pydantic_model(hint: Any) -> bool:
    """Whether ``hint`` is a pydantic ``BaseModel`` subclass (False when pydantic is not installed)."""
    if not isinstance(hint, type) or not any(c.__module__.startswith("pydantic") for c in hint.__mro__[1:]):
        return False
    import pydantic

    return issubclass(hint, pydantic.BaseModel)


def no_signature_hint(hint: Any) -> bool:
    """A hint accepted but implying no signature (DataFrame, Series, ndarray)."""
    return hint in _no_signature_hints()


def hint_repr(hint: Any) -> str:
    return hint.__name__ if type(hint) is type or is_pydantic_model(hint) else str(hint)


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
    if is_pydantic_model(hint):
        return _object_of_model(hint), True
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


def _object_of_model(model: Any) -> Any:
    """The object type of a pydantic model: one property per field, optional fields not required
    (an optional field must have a default, as MLflow requires)."""
    from mlcask.types import Object, Property

    properties = []
    for name, field in model.model_fields.items():
        if field.annotation is None:
            raise InvalidTypeHintError("The following fields in the Pydantic model do not have type annotations: "
                                       f"{[name]}. Please add type annotations to these fields.")
        column, required = _column_type(field.annotation)
        if not required and field.is_required():
            raise InvalidTypeHintError(f"Optional field `{name}` in Pydantic model `{model.__name__}` doesn't have "
                                       "a default value. Please set default value to None for this field.")
        properties.append(Property(name, column, required=required))
    return Object(properties)


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

    if hints.input is None or hints.input in _no_signature_hints():
        return None
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
def _validate_model(data: Any, model: Any) -> Any:
    """A pydantic model hint: an instance or a dict of its fields (strictly typed) -> an instance."""
    import pydantic

    if isinstance(data, pydantic.BaseModel):
        fields = data.model_dump()
    elif isinstance(data, dict):
        fields = data
    else:
        raise InvalidArgumentError("Expecting example to be a dictionary or pydantic model instance for Pydantic "
                                   f"type hint, got {type(data)}")
    try:
        model.model_validate(fields, strict=True)
    except pydantic.ValidationError as exc:
        raise InvalidArgumentError(
            f"Data doesn't match type hint, error: {exc}. Expected fields in the type hint: {model.model_fields}; "
            f"passed data: {fields}. Check https://mlflow.org/docs/latest/model/python_model.html"
            "#pydantic-model-type-hints-data-conversion for more details.") from exc
    return model(**fields) if isinstance(data, dict) else data


def _validate_items(pairs: Any, element: Any) -> tuple[list[tuple[Any, Any]], list[tuple[str, Any, str]]]:
    """(key, converted value) for each valid pair; (key, value, error) for each invalid one."""
    valid, invalid = [], []
    for key, value in pairs:
        try:
            valid.append((key, _validate(value, element)))
        except InvalidArgumentError as exc:
            invalid.append((key, value, exc.message))
    return valid, invalid


def _validate_list(data: Any, element: Any) -> list[Any]:
    if not isinstance(data, list):
        raise InvalidArgumentError(f"Expected list, but got {type(data).__name__}")
    valid, invalid = _validate_items(enumerate(data), element)
    if invalid:
        errors = [(str(value), message) for _, value, message in invalid]
        shown = f"{errors[:5]} ... (truncated)" if len(errors) > 5 else errors
        raise InvalidArgumentError(f"Failed to validate data against type hint `list[{hint_repr(element)}]`, "
                                   f"invalid elements: {shown}")
    return [value for _, value in valid]


def _validate_dict(data: Any, element: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"Expected dict, but got {type(data).__name__}")
    errors = {str(k): f"Key must be a string, got {type(k).__name__}" for k in data if not isinstance(k, str)}
    valid, invalid = _validate_items(((k, v) for k, v in data.items() if isinstance(k, str)), element)
    errors.update({key: message for key, _, message in invalid})
    if errors:
        raise InvalidArgumentError(f"Failed to validate data against type hint `dict[str, {hint_repr(element)}]`, "
                                   f"invalid elements: {errors}")
    return dict(valid)


def _validate(data: Any, hint: Any) -> Any:
    """``data`` checked against ``hint``, dicts given for pydantic models made instances."""
    if hint is Any:
        return data
    if is_pydantic_model(hint):
        return _validate_model(data, hint)
    if hint in _PRIMITIVES:
        if isinstance(data, hint):
            return data
        raise InvalidArgumentError(f"Expected type {hint_repr(hint)}, but got {type(data).__name__}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return _validate_list(data, args[0])
    if origin is dict:
        return _validate_dict(data, args[1])
    if origin in _UNIONS and type(None) in args and len(args) == 2:
        return data if data is None else _validate(data, next(a for a in args if a is not type(None)))
    return data  # other unions, DataFrame, ndarray...: not checked (MLflow takes unions as Any)


def _effective(hint: Any) -> Any:
    """``X`` for ``Optional[X]``; the hint itself otherwise."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in _UNIONS and type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return hint


def _rows_of_frame(data: Any, hint: Any) -> list[Any]:
    """A DataFrame given for a ``list[...]`` hint: its rows (``list[dict]``, ``list[<pydantic model>]``)
    or its first column (any other element type)."""
    if not _is_list(_effective(hint)):
        raise InvalidArgumentError("Only `list[...]` type hint supports pandas DataFrame input with a single "
                                   f"column. But got {hint_repr(hint)}.")
    element = _list_element(_effective(hint))
    if element is dict or typing.get_origin(element) is dict or is_pydantic_model(element):
        rows = data.iloc[:, 0].tolist() if list(data.columns) == [0] else data.to_dict(orient="records")
    else:
        rows = data.iloc[:, 0].tolist()
    return [item.tolist() if hasattr(item, "tolist") and not isinstance(item, (str, bytes)) else item
            for item in rows]


def convert_and_validate(data: Any, hint: Any) -> Any:
    """The model input as ``predict`` declares it: a one-column DataFrame becomes a list
    (``list[dict]``: its rows), dicts given for pydantic models become instances, and the
    result is checked against ``hint`` with MLflow's errors."""
    import pandas as pd

    if hint is None or hint in _no_signature_hints():
        return data
    if isinstance(data, pd.DataFrame):
        data = _rows_of_frame(data, hint)
    elif isinstance(data, pd.Series) and _is_list(hint):
        data = data.tolist()
    return _validate(data, hint)
