"""The column types of a dataclass's fields, for ``convert_dataclass_to_schema``.

A field's type hint maps to a signature type: ``bool``/``int``/``float``/``str``/``bytes``/
``datetime.date`` to boolean/long/float/string/binary/datetime (``int`` is long, so 64-bit values
fit, as in MLflow), ``list[X]`` to an Array of X, a nested dataclass to an Object, and
``Optional[X]`` (``X | None``) to X with the field not required. Any other Union, dicts and other
types are refused with MLflow's messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.types.compound import Array, ColumnType, Object, Property
from mlcask.types.datatype import DataType

_BASIC_TYPES: dict[Any, DataType] = {
    bool: DataType.boolean,
    int: DataType.long,
    float: DataType.float,
    str: DataType.string,
    bytes: DataType.binary,
    dt.date: DataType.datetime,
    dt.datetime: DataType.datetime,
}


def _type_hints(cls: type) -> dict[str, Any]:
    """Each field's resolved type hint (the raw annotation when it cannot be resolved)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference to a local class: keep the annotations as written
        hints: dict[str, Any] = {}
        for base in reversed(cls.__mro__):
            if dataclasses.is_dataclass(base):
                hints.update(getattr(base, "__annotations__", {}))
        return hints


def _split_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``Optional[X]``; ``(hint, False)`` for anything but a Union."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint, False
    args = typing.get_args(hint)
    if len(args) != 2 or type(None) not in args:
        raise InvalidArgumentError("Only Optional[...] is supported as a Union type in dataclass fields, "
                                   f"got {hint}")
    return next(a for a in args if a is not type(None)), True


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _basic_type(hint: Any) -> DataType | None:
    return _BASIC_TYPES.get(hint) if isinstance(hint, typing.Hashable) else None


def _column_type(hint: Any, owner: type) -> ColumnType:
    if hint is list or typing.get_origin(hint) is list:
        item = (typing.get_args(hint) or (typing.Any,))[0]
        if not (typing.get_origin(item) is list or _is_dataclass_type(item) or _basic_type(item)):
            raise InvalidArgumentError(f"List field type {item} is not supported in dataclass {owner.__name__}")
        return Array(_column_type(item, owner))
    if _is_dataclass_type(hint):
        return dataclass_object(hint)
    if basic := _basic_type(hint):
        return basic
    raise InvalidArgumentError(f"Unsupported field type {hint} in dataclass {owner.__name__}")


def dataclass_columns(cls: Any) -> list[tuple[str, ColumnType, bool]]:
    """``(name, type, required)`` for each field of the dataclass ``cls`` (a class or an instance)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{getattr(cls, '__name__', type(cls).__name__)} is not a dataclass.")
    cls = cls if isinstance(cls, type) else type(cls)
    hints = _type_hints(cls)
    columns = []
    for f in dataclasses.fields(cls):
        hint, optional = _split_optional(hints.get(f.name, f.type))
        columns.append((f.name, _column_type(hint, cls), not optional))
    return columns


def dataclass_object(cls: type) -> Object:
    """The nested dataclass ``cls`` as an Object type."""
    return Object([Property(name, dtype, required) for name, dtype, required in dataclass_columns(cls)])
