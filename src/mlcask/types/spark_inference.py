"""Signature types of Spark DataFrames, as MLflow infers them.

A Spark SQL type maps to a column type: numeric, boolean, string, binary types to the
:class:`DataType` of the same meaning (date and timestamp both to ``datetime``),
``array<t>`` to :class:`Array`, ``struct<...>`` to :class:`Object` (a property is required
when its field is not nullable), a Spark ML vector to :class:`SparkMLVector`, and a
``map<string, t>`` column to an :class:`Object` whose properties are the keys found in the
data (MLflow's choice; it needs the column's values, so it runs one Spark job per map column).

pyspark is imported when a function here is called, never at import; a value is taken for a
Spark DataFrame only when ``pyspark.sql`` is already loaded.
"""

from __future__ import annotations

import sys
from typing import Any

from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.types.compound import Array, Object, Property, SparkMLVector
from mlcask.types.datatype import DataType
from mlcask.types.schema import ColSpec, Schema

_SCALARS = (("LongType", DataType.long), ("IntegerType", DataType.integer), ("ShortType", DataType.integer),
            ("ByteType", DataType.integer), ("FloatType", DataType.float), ("DoubleType", DataType.double),
            ("BooleanType", DataType.boolean), ("StringType", DataType.string), ("BinaryType", DataType.binary),
            ("TimestampType", DataType.datetime), ("TimestampNTZType", DataType.datetime),
            ("DateType", DataType.datetime))


def is_spark_dataframe(data: Any) -> bool:
    """Whether ``data`` is a ``pyspark.sql.DataFrame`` (classic or Spark Connect); False without
    importing anything when pyspark.sql is not loaded."""
    if "pyspark.sql" not in sys.modules:
        return False
    classes = [sys.modules["pyspark.sql"].DataFrame]
    connect = sys.modules.get("pyspark.sql.connect.dataframe")
    if connect is not None:
        classes.append(connect.DataFrame)
    return isinstance(data, tuple(classes))


def _scalar(data_type: Any) -> DataType | None:
    from pyspark.sql import types

    for name, column_type in _SCALARS:
        spark_class = getattr(types, name, None)
        if spark_class is not None and isinstance(data_type, spark_class):
            return column_type
    return None


def spark_column_type(data_type: Any, data: Any = None, column: str | None = None) -> Any:
    """The column type of the Spark SQL type ``data_type``.

    ``data`` and ``column`` (the DataFrame and the column's name) are needed for a map column
    only: its keys become the properties of an Object. Raises InvalidArgumentError for a Spark
    type with no signature type (decimal, interval, variant, ...).
    """
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import types

    scalar = _scalar(data_type)
    if scalar is not None:
        return scalar
    if isinstance(data_type, VectorUDT):
        return SparkMLVector()
    if isinstance(data_type, types.ArrayType):
        return Array(spark_column_type(data_type.elementType))
    if isinstance(data_type, types.StructType):
        return Object([Property(f.name, spark_column_type(f.dataType), required=not f.nullable)
                       for f in data_type.fields])
    if isinstance(data_type, types.MapType):
        return _map_type(data_type, data, column)
    raise InvalidArgumentError(f"Unsupported Spark Type '{type(data_type)}' for MLflow schema.")


def _map_type(data_type: Any, data: Any, column: str | None) -> Object:
    from pyspark.sql import functions, types

    if data is None or column is None:
        raise MlcaskException("Cannot infer schema for MapType without data and column name.")
    if isinstance(data_type.valueType, types.MapType):
        raise MlcaskException("Please construct spark DataFrame with schema using StructType for dictionary/map "
                              "fields, MLflow schema inference only supports scalar, array and struct types.")
    rows = data.select(functions.explode(functions.map_keys(functions.col(column))).alias("k")).distinct().collect()
    value_type = spark_column_type(data_type.valueType)
    return Object([Property(str(row.k), value_type) for row in rows])


def spark_frame_schema(df: Any) -> Schema:
    """The column schema of a Spark DataFrame: one column per field, in order, each required
    (ColSpec's default, as MLflow writes it: a Spark column's nullability is not carried over)."""
    return Schema([ColSpec(spark_column_type(f.dataType, df, f.name), f.name) for f in df.schema.fields])
