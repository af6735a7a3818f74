"""Compound column types MLflow signatures can declare: Array, Object, Map and AnyType.

mlcask reads and writes them exactly as MLflow does (so a signature written by MLflow
round-trips unchanged) and infers them from nested input examples; schema enforcement
passes columns of these types through without conversion.
"""

from __future__ import annotations

from typing import Any, Union

from mlcask.exceptions import InvalidArgumentError
from mlcask.types.datatype import DataType

ARRAY_TYPE = "array"
OBJECT_TYPE = "object"
MAP_TYPE = "map"
ANY_TYPE = "any"
SPARKML_VECTOR_TYPE = "sparkml_vector"
COMPOUND_TYPE_NAMES = frozenset({ARRAY_TYPE, OBJECT_TYPE, MAP_TYPE, ANY_TYPE, SPARKML_VECTOR_TYPE})

ColumnType = Union[DataType, "Array", "Object", "Map", "AnyType"]


def as_column_type(value: Any, what: str) -> ColumnType:
    """``value`` as a column type: a DataType name or member, or a compound type."""
    if isinstance(value, str):
        try:
            return DataType[value]
        except KeyError:
            raise InvalidArgumentError(  # MLflow's message, then which argument
                f"Unsupported type '{value}', expected instance of DataType, Array, Object, Map or one of "
                f"{[t.name for t in DataType]} (AnyType too), for {what}"
            ) from None
    if isinstance(value, (DataType, Array, Object, Map, AnyType)):
        return value
    raise InvalidArgumentError(
        f"Expected a DataType, Array, Object, Map, AnyType or str for {what}, "
        f"got {type(value).__name__}: {value!r}"
    )


def type_to_dict(value: ColumnType) -> dict[str, Any]:
    """The JSON dict of a column type (``{"type": "double"}`` for a DataType)."""
    if isinstance(value, DataType):
        return {"type": value.name}
    return value.to_dict()


def type_from_dict(d: Any) -> ColumnType:
    """Parse the JSON dict of a column type (the inverse of :func:`type_to_dict`)."""
    if not isinstance(d, dict) or "type" not in d:
        raise InvalidArgumentError(f"Expected a type dict with a 'type' key, got {d!r}")
    name = d["type"]
    if name == ARRAY_TYPE:
        return Array.from_json_dict(**d)
    if name == OBJECT_TYPE:
        return Object.from_json_dict(**d)
    if name == MAP_TYPE:
        return Map.from_json_dict(**d)
    if name == ANY_TYPE:
        return AnyType()
    if name == SPARKML_VECTOR_TYPE:
        return SparkMLVector()
    return as_column_type(name, "type")


class Property:
    """One named field of an :class:`Object`."""

    def __init__(self, name: str, dtype: ColumnType | str, required: bool = True) -> None:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"Expected name to be a string, got type {type(name).__name__}")
        self._name = name
        self._dtype = as_column_type(dtype, "dtype")
        self._required = bool(required)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> ColumnType:
        return self._dtype

    @property
    def required(self) -> bool:
        return self._required

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Property) and self._name == other._name
                and self._dtype == other._dtype and self._required == other._required)

    def __lt__(self, other: Property) -> bool:
        return self._name < other._name

    def __repr__(self) -> str:
        return f"{self._name}: {self._dtype!r} ({'required' if self._required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        d = type_to_dict(self._dtype)
        d["required"] = self._required
        return {self._name: d}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Property:
        """Parse ``{"<name>": {"type": ..., "required": ...}}``."""
        if len(kwargs) != 1:
            raise InvalidArgumentError(f"Expected Property JSON to contain a single key as name, got {len(kwargs)} keys.")
        ((name, body),) = kwargs.items()
        if not isinstance(body, dict) or "type" not in body:
            raise InvalidArgumentError(f"Missing keys in Property `{name}`. Expected to find key `type`")
        body = dict(body)
        required = body.pop("required", True)
        return cls(name, type_from_dict(body), required)


class Object:
    """A JSON object with named, typed properties (kept sorted by name, as MLflow does)."""

    def __init__(self, properties: list[Property]) -> None:
        self._properties = self._checked(properties)

    @staticmethod
    def _checked(properties: Any) -> list[Property]:
        if not isinstance(properties, list):
            raise InvalidArgumentError(f"Expected properties to be a list, got type {type(properties).__name__}")
        if not properties:
            raise InvalidArgumentError("Creating Object with empty properties is not allowed.")
        if not all(isinstance(p, Property) for p in properties):
            raise InvalidArgumentError("Expected values to be instance of Property")
        names = [p.name for p in properties]
        if len(set(names)) != len(names):
            dups = sorted({n for n in names if names.count(n) > 1})
            raise InvalidArgumentError(f"Found duplicated property names: `{', '.join(dups)}`")
        return sorted(properties)

    @property
    def properties(self) -> list[Property]:
        return self._properties

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self._properties == other._properties

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self._properties)) + "}"

    def to_dict(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for p in self._properties:
            props.update(p.to_dict())
        return {"type": OBJECT_TYPE, "properties": props}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Object:
        """Parse ``{"type": "object", "properties": {...}}``."""
        if not {"properties", "type"} <= set(kwargs):  # MLflow's messages
            raise InvalidArgumentError("Missing keys in Object JSON. Expected to find keys `properties` and `type`")
        if kwargs["type"] != OBJECT_TYPE:
            raise InvalidArgumentError("Type mismatch, Object expects `object` as the type")
        props = kwargs["properties"]
        if not isinstance(props, dict) or not all(isinstance(v, dict) for v in props.values()):
            raise InvalidArgumentError("Expected properties to be a dictionary of Property JSON")
        return cls([Property.from_json_dict(**{k: v}) for k, v in props.items()])


class Array:
    """A JSON array (list) whose items all have one type."""

    def __init__(self, dtype: ColumnType | str) -> None:
        self._dtype = as_column_type(dtype, "dtype")

    @property
    def dtype(self) -> ColumnType:
        return self._dtype

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and not isinstance(other, SparkMLVector) and self._dtype == other._dtype

    def __repr__(self) -> str:
        return f"Array({self._dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": ARRAY_TYPE, "items": type_to_dict(self._dtype)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Array:
        """Parse ``{"type": "array", "items": {...}}``."""
        if not {"items", "type"} <= set(kwargs):  # MLflow's messages
            raise InvalidArgumentError("Missing keys in Array JSON. Expected to find keys `items` and `type`")
        if kwargs["type"] != ARRAY_TYPE:
            raise InvalidArgumentError("Type mismatch, Array expects `array` as the type")
        if not isinstance(kwargs["items"], dict):
            raise InvalidArgumentError("Expected items to be a dictionary of Object JSON")
        if "type" not in kwargs["items"]:
            raise InvalidArgumentError("Missing keys in Array's items JSON. Expected to find key `type`")
        return cls(type_from_dict(kwargs["items"]))


class SparkMLVector(Array):
    """Spark ML's vector type (read and written only; mlcask has no Spark support yet)."""

    def __init__(self) -> None:
        super().__init__(DataType.double)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparkMLVector)

    def __repr__(self) -> str:
        return "SparkML vector"

    def to_dict(self) -> dict[str, Any]:
        return {"type": SPARKML_VECTOR_TYPE}


class Map:
    """A JSON object with string keys and values of one type."""

    def __init__(self, value_type: ColumnType | str) -> None:
        self._value_type = as_column_type(value_type, "value_type")

    @property
    def value_type(self) -> ColumnType:
        return self._value_type

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self._value_type == other._value_type

    def __repr__(self) -> str:
        return f"Map(str -> {self._value_type})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": MAP_TYPE, "values": type_to_dict(self._value_type)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Map:
        """Parse ``{"type": "map", "values": {...}}``."""
        if not {"values", "type"} <= set(kwargs):  # MLflow's messages (its Map says "Array JSON")
            raise InvalidArgumentError("Missing keys in Array JSON. Expected to find keys `items` and `type`")
        if kwargs["type"] != MAP_TYPE:
            raise InvalidArgumentError("Type mismatch, Map expects `map` as the type")
        if not isinstance(kwargs["values"], dict):
            raise InvalidArgumentError("Expected values to be a dictionary of Object JSON")
        if "type" not in kwargs["values"]:
            raise InvalidArgumentError("Missing keys in Map's items JSON. Expected to find key `type`")
        return cls(type_from_dict(kwargs["values"]))


class AnyType:
    """Any JSON value, None included; never checked."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        return {"type": ANY_TYPE}


def merge_types(a: ColumnType, b: ColumnType) -> ColumnType:
    """The one type that describes values of both ``a`` and ``b`` (for inference).

    AnyType (a None value) merges into anything; object properties seen in only one
    side become optional. Raises InvalidArgumentError when the types conflict.
    """
    if isinstance(a, AnyType):
        if isinstance(b, AnyType) or isinstance(b, DataType):
            return b
        return merge_types(b, a)
    if isinstance(a, DataType):
        if a == b or isinstance(b, AnyType):
            return a
        raise InvalidArgumentError(f"Types are incompatible: {a!r} and {b!r}")
    if isinstance(a, Object):
        if isinstance(b, AnyType):
            return Object([Property(p.name, p.dtype, False) for p in a.properties])
        if not isinstance(b, Object):
            raise InvalidArgumentError(f"Can't merge object with non-object type: {type(b).__name__}")
        if a == b:
            return a
        left = {p.name: p for p in a.properties}
        right = {p.name: p for p in b.properties}
        merged = [Property(n, p.dtype, False) for n, p in left.items() if n not in right]
        merged += [_merge_property(left[n], right[n]) for n in left if n in right]
        merged += [Property(n, p.dtype, False) for n, p in right.items() if n not in left]
        return Object(merged)
    if isinstance(a, SparkMLVector):
        if isinstance(b, SparkMLVector):
            return a
        raise InvalidArgumentError("SparkML vector type can't be merged with another type.")
    if isinstance(a, Array):
        if isinstance(b, AnyType) or a == b:
            return a
        if not isinstance(b, Array):
            raise InvalidArgumentError(f"Can't merge array with non-array type: {type(b).__name__}")
        return Array(merge_types(a.dtype, b.dtype))
    if isinstance(a, Map):
        if isinstance(b, AnyType) or a == b:
            return a
        if not isinstance(b, Map):
            raise InvalidArgumentError(f"Can't merge map with non-map type: {type(b).__name__}")
        return Map(merge_types(a.value_type, b.value_type))
    raise InvalidArgumentError(f"Types are incompatible: {a!r} and {b!r}")


def _merge_property(a: Property, b: Property) -> Property:
    return Property(a.name, merge_types(a.dtype, b.dtype), a.required and b.required)
