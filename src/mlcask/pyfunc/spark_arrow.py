"""The Arrow side of spark_udf's fast path: with pyspark >= 4.2 and a primitive result type the
UDF is an iterator ``arrow_udf``, and the batch's Arrow columns become the model's DataFrame
here in one ``Table.to_pandas()`` (one consolidated block for same-typed columns), instead of
pyspark's column-by-column conversion to Series and a second DataFrame build.

The DataFrame holds what pyspark's pandas UDFs would give the model: numbers, booleans and
strings as pandas columns (integers with nulls as floats), arrays as numpy arrays, one struct
argument as a DataFrame of its fields, a struct among several arguments as one dict per row,
maps as dicts, timestamps in the session's time zone without a zone, dates as ``date``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def arrow_udf_available() -> bool:
    """Whether pyspark has iterator Arrow UDFs that coerce their result (pyspark >= 4.2)."""
    try:
        import pyspark
        from pyspark.sql.functions import arrow_udf  # noqa: F401
    except ImportError:
        return False
    major, minor = (int(part) for part in pyspark.__version__.split(".")[:2])
    return (major, minor) >= (4, 2)


def _plain(arrow_type: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type)
            or pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def arrow_frame(columns: tuple[Any, ...], names: list[str], timezone: str) -> pd.DataFrame:
    """One DataFrame of the batch's Arrow ``columns`` named ``names`` (same length)."""
    import pyarrow as pa

    if all(_plain(column.type) for column in columns):
        return pa.Table.from_arrays(list(columns), names=names).to_pandas()
    return pd.DataFrame({name: column_values(column, timezone) for name, column in zip(names, columns)},
                        copy=False)


def struct_frame(column: Any, timezone: str) -> pd.DataFrame:
    """One struct argument: a DataFrame of its fields (what pandas UDFs get for it)."""
    import pyarrow as pa

    table = pa.Table.from_struct_array(column)
    return arrow_frame(tuple(table.columns), table.column_names, timezone)


def column_values(column: Any, timezone: str) -> pd.Series:
    """One Arrow column as pandas UDFs see it."""
    import pyarrow as pa

    kind = column.type
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_struct(kind):
        return pd.Series(column.to_pylist(), dtype=object)  # one dict per row
    if pa.types.is_map(kind):
        return pd.Series([None if value is None else dict(value) for value in column.to_pylist()], dtype=object)
    values = column.to_pandas()
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        values = values.dt.tz_convert(timezone).dt.tz_localize(None)
    return values


def arrow_values(values: pd.Series) -> Any:
    """The udf's result for one batch as an Arrow array (Spark casts it to the result type)."""
    import pyarrow as pa

    return pa.array(values.to_numpy(), from_pandas=True)

