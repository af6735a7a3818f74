"""Spark result types for :func:`mlcask.pyfunc.spark_udf`: parsing, checking, inference from
the signature's output schema, and turning a batch of predictions into what Spark takes.

The rules are MLflow's (``mlflow.pyfunc.spark_udf``):

- no ``result_type`` and no output schema: ``double``;
- one output: its type (a column type maps to the Spark type of the same name, an
  ``Array`` to ``array<...>``, an ``Object`` to a ``struct``, a ``Map`` to
  ``map<string, ...>``; a tensor to one ``array`` level per dimension of a row: its
  shape without a variable first dimension, e.g. (-1,), (-1, k), (k,) -> ``array<t>``,
  (-1, a, b), (a, b) -> ``array<array<t>>``); several outputs: a ``struct`` with one field per output;
- a primitive result type takes the leftmost prediction column of a compatible type
  (``int``: integers that fit in 32 bits, ``long``: integers, ``float``/``double``: any
  number, ``boolean``: booleans, ``string``: anything, converted); an ``array`` of a
  primitive takes all compatible columns; a ``struct`` takes the columns of its field names.

Conversions are column-wise (numpy/pandas), never one Python call per value, except for
nested arrays and structs inside structs, which Arrow cannot take column-wise from pandas.
This module imports pyspark when its functions are called, never at import.
"""

from __future__ import annotations

from typing import Any

from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError, MlcaskException
from mlcask.pyfunc.spark_results import PRIMITIVE_NUMPY_TYPES
from mlcask.types import AnyType, Array, DataType, Map, Object, Schema, TensorSpec

SUPPORTED_RESULT_TYPES = """Primitive types:
- int
- long
- float
- double
- string
- boolean
Compound types:
- ND array of primitives / structs.
- struct<field: primitive | array<primitive> | array<array<primitive>>, ...>:
A struct with primitive, ND array<primitive/structs>,
e.g., struct<a:int, b:array<int>>."""

_SPARK_NAMES = {
    DataType.boolean: "BooleanType", DataType.integer: "IntegerType", DataType.long: "LongType",
    DataType.float: "FloatType", DataType.double: "DoubleType", DataType.string: "StringType",
    DataType.binary: "BinaryType", DataType.datetime: "TimestampType",
}

def _types() -> Any:
    try:
        from pyspark.sql import types
    except ImportError:
        raise MlcaskException("spark_udf needs pyspark: pip install 'mlcask[spark]'") from None
    return types


def spark_type_of(column_type: Any) -> Any:
    """The Spark type of a signature column type (DataType, Array, Object, Map, AnyType)."""
    types = _types()
    if isinstance(column_type, DataType):
        return getattr(types, _SPARK_NAMES[column_type])()
    if isinstance(column_type, Array):
        return types.ArrayType(spark_type_of(column_type.dtype))
    if isinstance(column_type, Object):
        # Every field nullable, as MLflow: a signature inferred from a sample may say "required" wrongly.
        return types.StructType([types.StructField(p.name, spark_type_of(p.dtype)) for p in column_type.properties])
    if isinstance(column_type, Map):
        return types.MapType(types.StringType(), spark_type_of(column_type.value_type))
    if isinstance(column_type, AnyType):
        if not hasattr(types, "VariantType"):
            raise InvalidArgumentError("`AnyType` is not supported in PySpark versions older than 4.0.0. "
                                       "Upgrade your PySpark version to use this feature.")
        return types.VariantType()
    raise MlcaskException(f"Failed to convert schema type `{column_type}` to spark type.")


def _spec_type(spec: Any) -> Any:
    types = _types()
    if not isinstance(spec, TensorSpec):
        return spark_type_of(spec.type)
    data_type = DataType.from_numpy_type(spec.type)
    if data_type is None:
        raise MlcaskException(f"Model output tensor spec type {spec.type} is not supported in spark_udf.",
                              error_code=INVALID_PARAMETER_VALUE)
    if len(spec.shape) not in (1, 2, 3):
        raise MlcaskException("Only 1D, 2D or 3D tensors are supported as spark_udf return value, but model output "
                              f"'{spec.name}' has shape {spec.shape}.", error_code=INVALID_PARAMETER_VALUE)
    # A row's shape is the tensor's shape without its first dimension when that is variable (-1),
    # the whole shape when it is fixed (MLflow's tests: a (2, 3) output gives each row a 2x3 array).
    # One array level per dimension of a row, at least one: a row of a (-1,) tensor is a one-value
    # array (as in MLflow), a row of a (-1, k) tensor a flat array (a 2-D predict_proba; MLflow
    # infers array<array<t>> there, which its own conversion then fails on), a row of a (-1, a, b)
    # or (a, b) tensor an array of arrays.
    row_shape = spec.shape[1:] if spec.shape[0] == -1 else spec.shape
    result = types.ArrayType(spark_type_of(data_type))
    for _ in range(len(row_shape) - 1):
        result = types.ArrayType(result)
    return result


def infer_result_type(output_schema: Schema) -> Any:
    """The udf's Spark type for a model's output schema (a struct when it has several outputs)."""
    types = _types()
    specs = output_schema.inputs
    if len(specs) == 1:
        return _spec_type(specs[0])
    return types.StructType([types.StructField(spec.name or str(i), _spec_type(spec))
                             for i, spec in enumerate(specs)])


def parse_result_type(result_type: Any) -> Any:
    """A Spark DataType from a DataType or a DDL string (``"double"``, ``"array<int>"``,
    ``"a int, b string"``); raises naming the supported types when Spark cannot use it."""
    types = _types()
    if isinstance(result_type, str):
        text = "boolean" if result_type.strip() == "bool" else result_type
        try:
            parsed = types.DataType.fromDDL(text) if hasattr(types.DataType, "fromDDL") else \
                types._parse_datatype_string(text)
        except Exception as exc:  # Spark's parse errors (ParseException, ...) have no common public class
            raise InvalidArgumentError(f"Invalid 'spark_udf' result type {result_type!r}: Spark cannot parse it "
                                       f"({str(exc).splitlines()[0]}).\nIt must be one of the following types:\n"
                                       f"{SUPPORTED_RESULT_TYPES}") from None
    elif isinstance(result_type, types.DataType):
        parsed = result_type
    else:
        raise InvalidArgumentError(f"result_type must be a pyspark.sql.types.DataType or a DDL string, got "
                                   f"{type(result_type).__name__} {result_type!r}.")
    if not _supported(parsed, types):
        raise InvalidArgumentError(f"Invalid 'spark_udf' result type: {parsed}.\nIt must be one of the following "
                                   f"types:\n{SUPPORTED_RESULT_TYPES}\n")
    return parsed


def _supported(data_type: Any, types: Any) -> bool:
    if type(data_type).__name__ in PRIMITIVE_NUMPY_TYPES:
        return True
    if isinstance(data_type, types.ArrayType):
        return _supported(data_type.elementType, types)
    if isinstance(data_type, types.StructType):
        return all(_supported(field.dataType, types) for field in data_type.fields)
    if isinstance(data_type, types.MapType):
        return isinstance(data_type.keyType, types.StringType) and _supported(data_type.valueType, types)
    return False
