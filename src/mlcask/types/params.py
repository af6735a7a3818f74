"""ParamSpec and ParamSchema: the inference-time parameters a model accepts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.types.compound import AnyType, Array, Map, Object, type_to_dict
from mlcask.types.datatype import DataType

__all__ = ["ParamSchema", "ParamSpec", "ParamValueError", "convert_param_value", "validate_param_value"]

_INT_RANGES = {
    DataType.integer: (-(2**31), 2**31 - 1),
    DataType.long: (-(2**63), 2**63 - 1),
}


class ParamValueError(ValueError):
    """A param value does not fit its spec (wrapped by callers into the right mlcask error)."""


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _convert_datetime(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        # pandas Timestamp subclasses datetime; hand models a plain datetime.
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    try:
        result = np.datetime64(value).item()
    except (ValueError, TypeError, OverflowError):  # MLflow's wording, below too
        raise ParamValueError(f"Failed to convert value `{value}` from type `{type(value)}` to "
                              f"`{DataType.datetime}`") from None
    if not isinstance(result, dt.date):
        raise ParamValueError(f"Failed to convert value to `{DataType.datetime}`. It must be convertible to "
                              f"datetime.date/datetime, got `{value}`")
    return result


def _convert_scalar(value: Any, dtype: DataType) -> Any:
    """``value`` as the Python type of ``dtype``, converting only where nothing is lost."""
    if value is None:
        return None
    if dtype is DataType.datetime:
        return _convert_datetime(value)
    is_bool = isinstance(value, (bool, np.bool_))
    if dtype is DataType.boolean:
        if is_bool:
            return bool(value)
    elif dtype is DataType.integer or dtype is DataType.long:
        if isinstance(value, (int, np.integer)) and not is_bool:
            low, high = _INT_RANGES[dtype]
            if not low <= int(value) <= high:
                raise ParamValueError(f"expected {dtype.name}, got {value!r}, which is out of its range")
            return int(value)
    elif dtype is DataType.float or dtype is DataType.double:
        # A numpy float64 for a float (32-bit) param would lose precision: refused, as by MLflow.
        wide = dtype is DataType.float and isinstance(value, np.floating) and value.dtype.itemsize > 4
        if isinstance(value, (float, int, np.floating, np.integer)) and not is_bool and not wide:
            return float(value)
    elif dtype is DataType.string:
        if isinstance(value, str):
            return str(value)
    raise ParamValueError(f"Can not safely convert `{type(value)}` to `{dtype}` for value `{value}`")


def _check_value(value: Any, typ: Any, required: bool = True) -> None:
    """Check a (nested) value against a compound type without changing it."""
    if isinstance(typ, AnyType) or (not required and value is None):
        return
    if isinstance(typ, DataType):
        if value is None or not np.isscalar(value) and not isinstance(value, dt.date):
            raise ParamValueError(f"expected {typ.name}, got {_describe(value)}")
        _convert_scalar(value, typ)
    elif isinstance(typ, Array):
        if not isinstance(value, (list, np.ndarray)):
            raise ParamValueError(f"expected an array, got {_describe(value)}")
        for item in value:
            _check_value(item, typ.dtype)
    elif isinstance(typ, Map):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ParamValueError(f"expected a map with string keys, got {_describe(value)}")
        for item in value.values():
            _check_value(item, typ.value_type)
    elif isinstance(typ, Object):
        if not isinstance(value, dict):
            raise ParamValueError(f"expected an object, got {_describe(value)}")
        props = {p.name: p for p in typ.properties}
        missing = [n for n, p in props.items() if p.required and n not in value]
        unknown = [k for k in value if k not in props]
        if missing or unknown:
            raise ParamValueError(f"object is missing properties {missing} or has unknown ones {unknown}")
        for key, item in value.items():
            try:
                _check_value(item, props[key].dtype, props[key].required)
            except ParamValueError as exc:
                raise ParamValueError(f"property '{key}': {exc}") from None


def convert_param_value(value: Any, dtype: DataType | Object, shape: tuple[int, ...] | None) -> Any:
    """Check ``value`` against a param's type and shape; return it as the model gets it.

    Scalars come back as Python types (int, float, str, bool, datetime); 1-D array
    params (shape ``(-1,)``) as lists; object params unchanged. Raises ParamValueError.
    """
    if shape is None:
        if isinstance(dtype, Object):
            _check_value(value, dtype)
            return value
        if value is not None and not np.isscalar(value) and not isinstance(value, dt.date):
            raise ParamValueError(f"Value must be a scalar for type `{dtype}`, got `{value}`")
        return _convert_scalar(value, dtype)
    if shape == (-1,):
        if value is None:
            return None
        try:
            ndim = np.asarray(value, dtype=object).ndim if isinstance(value, (list, np.ndarray)) else 0
        except ValueError:
            ndim = -1
        if ndim != 1:
            raise ParamValueError(
                f"expected a 1-D array (shape (-1,)) of {dtype.name}, got {_describe(value)}"
            )
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_convert_scalar(item, dtype))
            except ParamValueError as exc:
                raise ParamValueError(f"item {i}: {exc}") from None
        return out
    raise ParamValueError(f"shape must be None (a scalar or object) or (-1,) (a 1-D array), got {shape}")


def _ndim(value: Any) -> int:
    try:
        return np.array(value).ndim
    except ValueError:  # ragged
        return np.asarray(value, dtype=object).ndim


def spec_repr(name: str, dtype: Any, default: Any, shape: tuple[int, ...] | None) -> str:
    """A param spec as MLflow shows it in errors: ``'k': long (default: 3) (shape: (-1,))``."""
    return f"{name!r}: {dtype!r} (default: {default})" + (f" (shape: {shape})" if shape is not None else "")


def validate_param_value(spec: str, value: Any, dtype: DataType | Object, shape: tuple[int, ...] | None) -> Any:
    """``value`` checked and converted for the param shown as ``spec`` (:func:`spec_repr`),
    with MLflow's errors (InvalidArgumentError)."""
    if shape == (-1,) and value is not None and not (isinstance(value, (list, np.ndarray)) and _ndim(value) == 1):
        raise InvalidArgumentError(f"Value must be a 1D array with shape (-1,) for param {spec}, received "
                                   f"{type(value).__name__} with ndim {_ndim(value)}")
    if shape not in (None, (-1,)):
        raise InvalidArgumentError("Shape must be None for scalar or dictionary value, or (-1,) for 1D array value "
                                   f"for ParamSpec {spec}), received {shape}")
    try:
        return convert_param_value(value, dtype, shape)
    except ParamValueError as exc:
        raise InvalidArgumentError(f"Failed to validate type and shape for {spec}, error: {exc}") from None


class ParamSpec:
    """One inference parameter: name, type, default and shape (None, or (-1,) for a list)."""

    def __init__(self, name: str, dtype: DataType | Object | str, default: Any,
                 shape: tuple[int, ...] | list[int] | None = None) -> None:
        self._name = str(name)
        self._shape = tuple(shape) if shape is not None else None
        if isinstance(dtype, str):
            try:
                dtype = DataType[dtype]
            except KeyError:
                supported = [t.name for t in DataType if t is not DataType.binary]
                raise InvalidArgumentError(
                    f"Unsupported type '{dtype}' for param '{self._name}', expected a DataType "
                    f"or one of {supported}"
                ) from None
        if not isinstance(dtype, (DataType, Object)):
            raise InvalidArgumentError(f"'dtype' must be DataType, Object or str, got {dtype!r}")
        if dtype is DataType.binary:
            raise InvalidArgumentError(f"Binary type is not supported for parameters, ParamSpec '{self._name}' "
                                       "has dtype 'binary'")
        self._dtype = dtype
        self._default = validate_param_value(spec_repr(self._name, dtype, default, self._shape), default, dtype,
                                             self._shape)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> DataType | Object:
        return self._dtype

    @property
    def default(self) -> Any:
        return self._default

    @property
    def shape(self) -> tuple[int, ...] | None:
        """None for a scalar (or object) param, (-1,) for a 1-D array param."""
        return self._shape

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict MLflow writes: name, default, shape, type (+ properties)."""
        default = self._default
        if self._dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self._shape else default.isoformat()
        d = {"name": self._name, "default": default,
             "shape": self._shape}  # a tuple, as MLflow's (JSON writes it as a list)
        d.update(type_to_dict(self._dtype))
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        """Parse a ParamSpec JSON dict (``type`` or the older ``dtype`` key)."""
        dtype = kwargs.get("type") or kwargs.get("dtype")
        if "name" not in kwargs or "default" not in kwargs or dtype is None:
            raise InvalidArgumentError(
                "Missing keys in ParamSpec JSON. Expected to find keys `name`, `type` (or `dtype`) "
                f"and `default`. Received keys: {sorted(kwargs)}"
            )
        if dtype == "object":
            dtype = Object.from_json_dict(type="object", properties=kwargs.get("properties"))
        return cls(kwargs["name"], dtype, kwargs["default"], kwargs.get("shape"))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ParamSpec) and self._name == other._name and self._dtype == other._dtype
                and self._default == other._default and self._shape == other._shape)

    def __repr__(self) -> str:
        shape = f" (shape: {self._shape})" if self._shape is not None else ""
        return f"{self._name!r}: {self._dtype!r} (default: {self._default}){shape}"


class ParamSchema:
    """The list of params a model accepts at inference time."""

    def __init__(self, params: list[ParamSpec]) -> None:
        if not isinstance(params, list) or not all(isinstance(p, ParamSpec) for p in params):
            raise InvalidArgumentError("ParamSchema takes a list of ParamSpec")
        names = [p.name for p in params]
        if dups := sorted({n for n in names if names.count(n) > 1}):
            raise InvalidArgumentError(f"Duplicated parameters found in schema: {dups}")
        self._params = params
        self._by_name: dict[str, ParamSpec] | None = None

    @property
    def params(self) -> list[ParamSpec]:
        return self._params

    def spec_by_name(self) -> dict[str, ParamSpec]:
        """Name -> ParamSpec (cached; treat the schema as immutable)."""
        if self._by_name is None:
            self._by_name = {p.name: p for p in self._params}
        return self._by_name

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self):
        return iter(self._params)

    def to_dict(self) -> list[dict[str, Any]]:
        """The schema as a JSON-able list of param dicts."""
        return [p.to_dict() for p in self._params]

    def to_json(self) -> str:
        """The schema as the JSON string MLflow stores in MLmodel."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> ParamSchema:
        """Parse a params JSON string; raises ModelFormatError when it is malformed."""
        try:
            items = json.loads(json_str)
            if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
                raise ValueError("expected a list of objects")
            return cls([ParamSpec.from_json_dict(**x) for x in items])
        except (InvalidArgumentError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"Malformed params schema JSON {json_str!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self._params == other._params

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._params)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_by_name": None}
