"""Schema and params enforcement: the checks run before every pyfunc ``predict``.

``enforce_schema`` turns the caller's data into what the model was saved to take (a
DataFrame with the signature's columns, in order; or numpy arrays for tensor
signatures), converting types only where no value can change, and otherwise raising
:class:`InvalidInputError` saying which column, what was expected and what was given.
``enforce_params`` does the same for params and fills in their defaults.

This is on the hot path of a 1-row predict: data that already matches the schema is
returned as is after a check of its column labels and dtypes, with per-schema lookups
cached on the Schema object.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from mlcask.environment_variables import MLFLOW_DISABLE_SCHEMA_DETAILS
from mlcask.exceptions import InvalidArgumentError, InvalidInputError
from mlcask.models._tensor_enforcement import enforce_tensor_schema
from mlcask.types._frames import column_values, frame_dtypes
from mlcask.types.compound import AnyType, Array, Map, Object
from mlcask.types.datatype import DataType
from mlcask.types.params import ParamSchema, spec_repr, validate_param_value
from mlcask.types.schema import Schema
from mlcask.types.spark_inference import is_spark_dataframe

__all__ = ["enforce_params", "enforce_schema", "schema_details_disabled", "validate_schema"]

_logger = logging.getLogger(__name__)

_NEVER_EQUAL = object()  # stands for "always check" in the fast dtype comparison
_DATETIME_NS = np.dtype("datetime64[ns]")
_OBJECT = np.dtype("O")
_FLOAT_EXACT_LIMIT = {4: 2**24, 8: 2**53}  # integers a float32/float64 holds exactly


class _ColumnPlan:
    """Lookups for one column-based schema, built once and cached on the Schema."""

    __slots__ = ("named", "names", "specs", "expected", "required", "n")

    def __init__(self, schema: Schema) -> None:
        self.specs = list(schema.inputs)
        self.n = len(self.specs)
        self.named = schema.has_input_names()
        self.names = [s.name for s in self.specs] if self.named else list(range(self.n))
        self.required = [s.name for s in self.specs if s.required] if self.named else self.names
        # The dtype a column must have to be used untouched; string/binary columns are
        # object in MLflow's terms (pandas 3's "str" dtype takes the per-column check).
        self.expected = [
            (_OBJECT if s.type in (DataType.string, DataType.binary) else s.type.to_numpy())
            if isinstance(s.type, DataType) else _NEVER_EQUAL
            for s in self.specs
        ]


SCHEMA_DETAILS_ENV = MLFLOW_DISABLE_SCHEMA_DETAILS.name


def schema_details_disabled() -> bool:
    """Whether errors must not reveal the model's schema (``MLFLOW_DISABLE_SCHEMA_DETAILS``, as MLflow)."""
    return os.environ.get(SCHEMA_DETAILS_ENV, "").strip().lower() in ("1", "true")


def _plan(schema: Schema) -> _ColumnPlan:
    plan = getattr(schema, "_enforcement_plan", None)
    if plan is None:
        plan = _ColumnPlan(schema)
        schema._enforcement_plan = plan
    return plan


_SPARK_SAMPLE_ROWS = 10  # MLflow enforces a Spark DataFrame's schema on its first 10 rows
_SPARK_DATAFRAME_REFUSED = (
    "a pyspark.sql.DataFrame is not accepted by predict; call .toPandas() on a small one, or score it with "
    "mlcask.pyfunc.spark_udf")


def _enforce_spark_frame(data: Any, schema: Schema) -> Any:
    """A Spark DataFrame checked as MLflow checks it: the schema enforced on a pandas sample of
    its first rows, the DataFrame returned with only the schema's columns (unconverted)."""
    if schema.is_tensor_spec():
        raise InvalidInputError(_SPARK_DATAFRAME_REFUSED + " (the model takes tensors)")
    sample = data.limit(_SPARK_SAMPLE_ROWS).toPandas()
    for field in data.schema.fields:
        if field.dataType.typeName() in ("struct", "array"):
            sample[field.name] = [_spark_value(v, field.dataType) for v in sample[field.name]]
    plan = _plan(schema)
    if plan.named:
        _check_spark_integers(sample, schema)
        _enforce_named(sample, plan)
        names = set(plan.names)
    else:
        _enforce_unnamed(sample, plan)
        names = set(sample.columns[:plan.n])
    return data.drop(*[c for c in data.columns if c not in names])


def _check_spark_integers(sample: pd.DataFrame, schema: Schema) -> None:
    """A Spark integer column is checked by its type, as MLflow checks it (mlcask's value-checked
    narrowing is for integers parsed from JSON, which a Spark column's type is not)."""
    for spec in schema.inputs:
        if not isinstance(spec.type, DataType) or spec.name not in sample.columns:
            continue
        dtype, target = sample[spec.name].dtype, spec.type
        if dtype.kind in "iu" and target.to_numpy().kind in "iu" and not np.can_cast(dtype, target.to_numpy(),
                                                                                      "safe"):
            raise _type_error(f"Column '{spec.name}'", target, dtype, " (a Spark column is checked by its type)")


def _spark_value(value: Any, data_type: Any) -> Any:
    """A value of a Spark struct or array column as the pandas enforcement checks it: Rows as
    dicts, arrays as lists, 32-bit numbers as numpy's, dates and timestamps as text."""
    if value is None:
        return None
    name = data_type.typeName()
    if name == "struct":
        return {f.name: _spark_value(value[f.name], f.dataType) for f in data_type.fields}
    if name == "array":
        return [_spark_value(v, data_type.elementType) for v in value]
    convert = {"integer": np.int32, "short": np.int16, "float": np.float32, "binary": np.bytes_,
               "date": lambda v: v.strftime("%Y-%m-%d"), "timestamp": lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f")}
    return convert[name](value) if name in convert else value


def _qualified_type(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def enforce_schema(data: Any, schema: Schema | None) -> Any:
    """Check ``data`` against the model's input ``schema`` and return what the model takes.

    Column-based schema: a DataFrame with the schema's columns in schema order (extra
    columns dropped, missing optional ones skipped); DataFrames, Series, dicts, lists of
    dicts or rows, numpy arrays and scalars are accepted. Inputs without column names
    (arrays, lists of rows) are matched to the columns by position. Tensor-based schema:
    a numpy array, or a dict of arrays for named tensors. With no schema, ``data`` is
    returned unchanged. Raises InvalidInputError on anything that does not fit.
    """
    if schema is None:
        return data
    if is_spark_dataframe(data):
        return _enforce_spark_frame(data, schema)
    if schema.is_tensor_spec():
        return enforce_tensor_schema(data, schema)
    plan = _plan(schema)
    frame = data if isinstance(data, pd.DataFrame) else _to_frame(data, plan)
    if plan.named:
        return _enforce_named(frame, plan)
    return _enforce_unnamed(frame, plan)


# -- building a DataFrame from other inputs ---------------------------------------------

def _to_frame(data: Any, plan: _ColumnPlan) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        frame = data.to_frame()
        return _name_by_position(frame, plan) if data.name is None else frame
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            return _name_by_position(pd.DataFrame([data.item()]), plan)
        if data.ndim > 2:
            raise InvalidInputError(
                f"The model takes columns {_shown(plan.names)}, but the input is a {data.ndim}-D "
                f"array of shape {data.shape}; only 1-D (one column) and 2-D (rows x columns) "
                "arrays can be matched to columns."
            )
        return _name_by_position(pd.DataFrame(data), plan)
    if _single_compound_column(plan):
        # One column of maps, objects or arrays: each list item (or the one dict) is a
        # value of that column, not a row to spread over columns.
        if isinstance(data, dict):
            return pd.DataFrame({plan.names[0]: [data]})
        if isinstance(data, (list, tuple)):
            return pd.DataFrame({plan.names[0]: list(data)})
    if isinstance(data, dict):
        return _dict_to_frame(data, plan)
    if isinstance(data, (list, tuple)):
        try:
            frame = pd.DataFrame(list(data))
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"Could not read the input list as a table of columns: {exc}") from None
        return frame if data and isinstance(data[0], dict) else _name_by_position(frame, plan)
    if data is None or np.isscalar(data) or isinstance(data, dt.date):
        return _name_by_position(pd.DataFrame([data]), plan)
    raise InvalidInputError(
        f"Expected input to be DataFrame. Found: {_qualified_type(data)}. The model takes a table with columns "
        f"{_shown(plan.names)}; got an input of type {_qualified_type(data)}. Pass a pandas DataFrame, a dict, a list "
        "of dicts or rows, a numpy array or a scalar."
    )


def _single_compound_column(plan: _ColumnPlan) -> bool:
    return not plan.named and plan.n == 1 and isinstance(plan.specs[0].type, (Array, Object, Map, AnyType))


def _dict_to_frame(data: dict, plan: _ColumnPlan) -> pd.DataFrame:
    if data and all(isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "US" for v in data.values()):
        # {"k": np.array("text")}: how a scoring server hands over {"k": "text"}; one row of object columns, as
        # in MLflow (which only takes 0-d arrays of strings)
        return pd.DataFrame([{k: v.item() for k, v in data.items()}], dtype=_OBJECT)
    compound = any(isinstance(s.type, (Array, Object, Map)) for s in plan.specs)
    try:
        # One row (key -> value) when every value is a scalar or a list of strings, as MLflow reads it
        # (a list of strings is one value, e.g. an LLM's prompts); otherwise one column per key.
        if compound or all(v is None or np.isscalar(v) or isinstance(v, dt.date)
                           or (isinstance(v, list) and all(isinstance(i, str) for i in v))
                           for v in data.values()):
            return pd.DataFrame([data])
        values = {k: (v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v) for k, v in data.items()}
        return pd.DataFrame(values)  # one column per key
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            "This model contains a column-based signature, which suggests a DataFrame input. There was an error "
            f"casting the input data to a DataFrame: {exc}. The model takes a table with columns "
            f"{_shown(plan.names)}; the input dict could not be read as one"
        ) from None


def _name_by_position(frame: pd.DataFrame, plan: _ColumnPlan) -> pd.DataFrame:
    """Give an input without column names the schema's names, when the widths agree."""
    if plan.named and isinstance(frame.columns, pd.RangeIndex) and frame.shape[1] == plan.n:
        frame.columns = plan.names
    return frame


def _shown(names: list[Any]) -> str:
    return repr(names) if len(names) <= 20 else repr(names[:20])[:-1] + f", ... ({len(names)} in all)]"


# -- column-based enforcement ------------------------------------------------------------

def _enforce_named(df: pd.DataFrame, plan: _ColumnPlan) -> pd.DataFrame:
    columns = df.columns.tolist()
    same_layout = columns == plan.names
    if same_layout:
        dtypes = frame_dtypes(df)
        if dtypes == plan.expected:
            return df
        positions: list[int | None] = list(range(plan.n))
    else:
        index: dict[Any, int] = {}
        for i, label in enumerate(columns):
            try:
                index.setdefault(label, i)
            except TypeError:  # a list or dict as a column label: no schema column is named so
                raise InvalidInputError(
                    f"Input column labels must be column names (strings), but label {i} is "
                    f"{type(label).__name__} {_shown([label])[1:-1]}; the model expects columns "
                    f"{_shown(plan.names)}.") from None
        missing = [name for name in plan.required if name not in index]
        known = set(plan.names)
        if missing:
            extra = [c for c in columns if c not in known]
            if schema_details_disabled():  # MLflow's generic message: the schema stays private
                raise InvalidInputError("Input schema validation failed. Mismatched or missing input(s)."
                                        + (" Note that there were extra inputs provided." if extra else ""))
            message = f"Model is missing inputs {_shown(missing)}."
            if extra:
                message += f" Note that there were extra inputs: {_shown(extra)}."
            message += (f" (missing required input columns {_shown(missing)}; the input has columns "
                        f"{_shown(columns)}).")
            if isinstance(df.columns, pd.RangeIndex):
                message += (f" The input has no column names; such input is matched to the model's "
                            f"columns by position only when it has exactly {plan.n} columns.")
            raise InvalidInputError(message)
        if len(index) != len(columns):
            dups = sorted({repr(c) for c in columns if c in known and columns.count(c) > 1})
            if dups:
                raise InvalidInputError(f"Input columns {', '.join(dups)} appear more than once; "
                                        "each model input column must be given once.")
        positions = [index.get(name) for name in plan.names]
        dtypes = frame_dtypes(df)
    present: list[int] = []  # input positions of the output's columns
    converted: dict[int, Any] = {}  # output position -> converted values
    for j, (spec, pos) in enumerate(zip(plan.specs, positions)):
        if pos is None:
            continue  # a missing optional column
        present.append(pos)
        if dtypes[pos] is plan.expected[j] or dtypes[pos] == plan.expected[j]:
            continue
        new = _convert(column_values(df, pos), spec.type, f"Column {spec.name!r}")
        if new is not None:
            converted[len(present) - 1] = new
    if same_layout and not converted:
        return df
    return _assemble(df, present, converted)


def _enforce_unnamed(df: pd.DataFrame, plan: _ColumnPlan) -> pd.DataFrame:
    width = df.shape[1]
    if width < plan.n:
        raise InvalidInputError(
            f"Model inference is missing inputs. The model signature declares {plan.n} inputs  but the provided "
            f"value only has {width} inputs. Note: the inputs were not named in the signature so we can only "
            "verify their count."
        )
    dtypes = frame_dtypes(df)
    converted: dict[int, Any] = {}
    for j, spec in enumerate(plan.specs):
        if dtypes[j] is plan.expected[j] or dtypes[j] == plan.expected[j]:
            continue
        new = _convert(column_values(df, j), spec.type, f"Column at position {j}")
        if new is not None:
            converted[j] = new
    if width == plan.n and not converted:
        return df
    return _assemble(df, list(range(plan.n)), converted)


def _assemble(df: pd.DataFrame, positions: list[int], converted: dict[int, Any]) -> pd.DataFrame:
    """A new frame of ``df``'s columns at ``positions``, some replaced; ``df`` is untouched."""
    if not converted:
        return df.take(positions, axis=1)
    arrays = [converted[j] if j in converted else column_values(df, pos) for j, pos in enumerate(positions)]
    labels = df.columns[positions]
    first = arrays[0]
    if isinstance(first, np.ndarray) and first.dtype != _OBJECT and all(
        isinstance(a, np.ndarray) and a.dtype == first.dtype and a.ndim == 1 for a in arrays
    ):
        # One dtype throughout: a single 2-D block is far cheaper to build than N columns.
        return pd.DataFrame(np.column_stack(arrays), index=df.index, columns=labels)
    # Object columns stay object (pandas 3 would infer its "str" dtype from an array of strings), as in MLflow.
    arrays = [pd.Series(a, index=df.index, dtype=_OBJECT, copy=False)
              if isinstance(a, np.ndarray) and a.dtype == _OBJECT else a for a in arrays]
    out = pd.DataFrame(dict(enumerate(arrays)), index=df.index, copy=False)
    out.columns = labels
    return out


# -- one column against one DataType -----------------------------------------------------

def _mlflow_name(label: str) -> str:
    """The column as MLflow names it in messages: ``a`` for ``Column 'a'``, ``1`` for ``Column at position 1``."""
    name = label.removeprefix("Column at position ").removeprefix("Column ")
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"" else name


def _type_error(label: str, t: DataType, dtype: Any, why: str = "") -> InvalidInputError:
    """MLflow's message (its first two sentences are what users match), then what exactly is wrong."""
    target = t.to_numpy() if t not in (DataType.string, DataType.binary) else t.name
    return InvalidInputError(f"Incompatible input types for column {_mlflow_name(label)}. Can not safely convert "
                             f"{dtype} to {target}. {label}: expected type {t.name}, got {dtype}{why}")


def _series(values: Any) -> pd.Series:
    return pd.Series(values, copy=False)


def _plain(series: pd.Series) -> Any:
    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def _convert(values: Any, t: Any, label: str) -> Any:
    """Column ``values`` converted to DataType ``t`` without loss; None when usable as is."""
    if not isinstance(t, DataType):
        return None  # Array/Object/Map/Any columns are passed through unchecked
    dtype = values.dtype
    if t is DataType.string:
        if dtype == _OBJECT or isinstance(dtype, pd.StringDtype):
            return None
        raise _type_error(label, t, dtype)
    if t is DataType.binary:
        if dtype == _OBJECT or isinstance(dtype, pd.StringDtype) or dtype.kind == "S":
            return None
        raise _type_error(label, t, dtype)
    inferred = False
    if dtype == _OBJECT and len(values):
        values = _plain(_series(values).infer_objects())
        inferred = values.dtype != _OBJECT
    if t is DataType.boolean:
        result = _to_boolean(values, label)
    elif t is DataType.datetime:
        result = _to_datetime(values, label)
    else:
        result = _to_number(values, t, label)
    return values if result is None and inferred else result


def _to_boolean(values: Any, label: str) -> Any:
    dtype = values.dtype
    if dtype.kind == "b":
        if isinstance(dtype, np.dtype):
            return None
        if values.isna().any():  # pandas' nullable "boolean" dtype
            raise _type_error(label, DataType.boolean, dtype, " with missing values (NA)")
        return values.to_numpy(dtype=bool)
    if dtype == _OBJECT:
        # Kept as object so that None stays None, as MLflow does; but only bools allowed.
        held = pd.api.types.infer_dtype(values, skipna=True)
        if held in ("boolean", "empty"):
            return None
        raise _type_error(label, DataType.boolean, dtype,
                          f" holding {held} values; only True/False (or None) are accepted")
    raise _type_error(label, DataType.boolean, dtype, "; numbers and strings are not converted to booleans")


def _to_datetime(values: Any, label: str) -> Any:
    dtype = values.dtype
    if dtype.kind == "M":
        if dtype == _DATETIME_NS:
            return None
        if getattr(dtype, "tz", None) is not None:
            raise _type_error(label, DataType.datetime, dtype, "; only timezone-naive datetimes are accepted")
    elif not (dtype == _OBJECT or isinstance(dtype, pd.StringDtype)):
        raise _type_error(label, DataType.datetime, dtype)
    try:
        return _series(values).astype(_DATETIME_NS).to_numpy()
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(f"Failed to convert column {_mlflow_name(label)} from type {dtype} to datetime. "
                                f"{label}: expected type datetime, got {dtype} values that cannot be read as "
                                f"datetimes ({exc})") from None


def _to_number(values: Any, t: DataType, label: str) -> Any:
    target = t.to_numpy()
    dtype = values.dtype
    if not isinstance(dtype, np.dtype) and dtype.kind in "iufb":  # pandas nullable Int64/Float64/boolean
        if values.isna().any():
            if target.kind != "f" or dtype.kind == "b":
                raise _missing_values_error(label, t, dtype, "NA")
            values = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = values.to_numpy(dtype=dtype.numpy_dtype)
        dtype = values.dtype
        if dtype == target:
            return values
    kind = dtype.kind
    if kind in "iu":
        return _int_to_number(values, t, label)
    if kind == "f":
        if target.kind == "f":
            if dtype.itemsize <= target.itemsize:
                return values.astype(target)
            raise _type_error(label, t, dtype, "; converting float64 to float (32-bit) would lose precision. "
                                               "Pass float32 data or declare the column as double")
        missing = np.isnan(values)
        if missing.any() and bool((values[~missing] == np.round(values[~missing])).all()):
            raise _missing_values_error(label, t, dtype)
        raise _type_error(label, t, dtype, "; floats are not converted to integers (fractional parts would be "
                                           "lost). Declare the column as double if it holds floats")
    if kind == "b":
        raise _type_error(label, t, dtype, "; booleans are not converted to numbers")
    if dtype == _OBJECT:
        held = pd.api.types.infer_dtype(values, skipna=True)
        if held == "decimal" and target.kind == "f":  # Spark decimals, as MLflow allows
            return pd.to_numeric(_series(values)).to_numpy().astype(target)
        raise _type_error(label, t, dtype, f" holding {held} values")
    raise _type_error(label, t, dtype)


def _int_to_number(values: np.ndarray, t: DataType, label: str) -> np.ndarray:
    """Integers converted where every value stays exact (README: mlcask checks the values, MLflow the dtypes)."""
    target, dtype = t.to_numpy(), values.dtype
    if np.can_cast(dtype, target, "safe") and (target.kind != "f" or dtype.itemsize <= target.itemsize // 2):
        return values.astype(target)
    if target.kind == "f":
        limit = _FLOAT_EXACT_LIMIT[target.itemsize]
        if not len(values) or (values.min() >= -limit and values.max() <= limit):
            return values.astype(target)
        raise _type_error(label, t, dtype, f" with values beyond +/-2**{limit.bit_length() - 1}, "
                                           f"which {t.name} cannot hold exactly")
    info = np.iinfo(target)
    if not len(values) or (values.min() >= info.min and values.max() <= info.max):
        return values.astype(target)
    raise _type_error(label, t, dtype, f" with values outside the {t.name} range [{info.min}, {info.max}]")


MISSING_VALUES_HINT = (
    "Hint: the type mismatch is likely caused by missing values. Integer columns in python can not represent "
    "missing values and are therefore encoded as floats. The best way to avoid this problem is to infer the model "
    "schema based on a realistic data sample (training dataset) that includes missing values. Alternatively, you "
    "can declare integer columns as doubles (float64) whenever these columns may have missing values. See "
    "`Handling Integers With Missing Values <https://www.mlflow.org/docs/latest/models.html#"
    "handling-integers-with-missing-values>`_ for more details"
)


def _missing_values_error(label: str, t: DataType, dtype: Any, marker: str = "NaN") -> InvalidInputError:
    return _type_error(label, t, dtype, f" with missing values ({marker}). {MISSING_VALUES_HINT}")


# -- params ------------------------------------------------------------------------------

def enforce_params(params: dict[str, Any] | None, param_schema: ParamSchema | None,
                   *, strict: bool = True) -> dict[str, Any]:
    """Check ``params`` against the model's ``param_schema``; return them with defaults filled in.

    Values are converted to the declared type where nothing is lost (an int for a double
    param, an ISO string for a datetime); 1-D array params must be lists or 1-D arrays.
    Unknown params, and any params for a model with no params schema, raise
    InvalidInputError; with ``strict=False`` they are dropped with a warning, as MLflow does.
    """
    if param_schema is None:
        if not params:
            return {}
        given = list(params) if isinstance(params, dict) else type(params).__name__
        message = (f"This model's signature declares no params, so it accepts none; got params {given}. "
                   "Log the model with a params schema (e.g. infer_signature(..., params=...)) to use them.")
        if strict:
            raise InvalidInputError(message)
        ignored = (f"Ignoring provided params: {given}" if isinstance(params, dict)
                   else "Ignoring invalid params (not a dictionary).")
        _logger.warning("`params` can only be specified at inference time if the model signature defines a params "
                        "schema. This model does not define a params schema. %s", ignored)
        return {}
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        raise InvalidInputError(f"Parameters must be a dictionary. Got type '{type(params).__name__}'.")
    specs = param_schema.spec_by_name()
    unknown = [k for k in params if (k if isinstance(k, str) else str(k)) not in specs]
    if unknown:
        message = f"Unknown params {unknown}; this model accepts {list(specs)}."
        if strict:
            raise InvalidInputError(message)
        _logger.warning("Unrecognized params %s are ignored for inference. Supported params are: %s. To enable them, "
                        "please add corresponding schema in ModelSignature.", unknown, set(specs))
    given = {str(k): v for k, v in params.items()}
    result: dict[str, Any] = {}
    errors = []
    for name, spec in specs.items():
        if name not in given:
            result[name] = spec.default
            continue
        try:
            shown = spec_repr(name, spec.dtype, spec.default, spec.shape)
            result[name] = validate_param_value(shown, given[name], spec.dtype, spec.shape)
        except InvalidArgumentError as exc:
            errors.append((name, exc.message))
    if errors:  # MLflow's message: the set of (name, error) pairs
        raise InvalidInputError(f"Invalid parameters found: {set(errors)!r}")
    return result


def validate_schema(data: Any, expected_schema: Schema) -> None:
    """Check that ``data`` fits ``expected_schema`` (MLflow's ``mlflow.models.validate_schema``).

    Raises :class:`~mlcask.exceptions.InvalidInputError` naming what does not fit, as
    ``predict`` would.
    """
    enforce_schema(data, expected_schema)
