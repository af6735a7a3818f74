"""CSV and Parquet scoring input, read as MLflow's server reads it and checked before the model sees it.

A CSV table is read by pandas with the signature's string columns as strings (as MLflow
reads them; numbers are then checked and converted by the signature), and refused when
pandas would quietly change it: an empty body, no data rows, a header that
names a column twice, a row with more or fewer fields than the header (pandas would
pad it with NaN, or turn the first column into an index). A Parquet body is refused
(:class:`DecodedSizeError`) when its metadata says it would decode to more than the
caller's limit, before anything is decoded: a few kilobytes of compressed zeros can
stand for gigabytes.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from mlcask.exceptions import InvalidInputError


class DecodedSizeError(InvalidInputError):
    """A compressed input that would decode to more than the limit."""


# -- CSV -----------------------------------------------------------------------------------------

def csv_dtypes(schema: Any) -> dict[str, Any] | None:
    """The dtypes a CSV is read with: the signature's string columns as strings (``"007"`` stays
    ``"007"``), as MLflow reads them; numbers are read as pandas reads them and then checked and
    converted by the signature, which names the column of a value that does not fit."""
    from mlcask.types.datatype import DataType

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return None
    return {s.name: object for s in schema.inputs if s.type is DataType.string} or None


def _float32(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Numeric columns of the signature's ``float`` (32-bit) columns read as float32, as MLflow reads them."""
    from mlcask.types.datatype import DataType

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return frame
    for spec in schema.inputs:
        if spec.type is DataType.float and spec.name in frame.columns and frame[spec.name].dtype.kind in "iuf":
            frame[spec.name] = frame[spec.name].astype("float32")
    return frame


def _header(lines: Iterable[str], what: str) -> list[str]:
    try:
        header = next(csv.reader(lines), None)
    except csv.Error as exc:
        raise InvalidInputError(f"{what} is not a valid CSV table: {exc} (in the header row).") from None
    if not header:
        raise InvalidInputError(f"{what} is empty: expected a header row naming the columns, then one row per "
                                "line (as pandas.DataFrame.to_csv(index=False) writes).")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen and name:  # pandas names empty ones apart ("Unnamed: 2")
            raise InvalidInputError(f"{what}: the header names column {name!r} twice (fields {seen[name] + 1} and "
                                    f"{i + 1}); each column is given once.")
        seen[name] = i
    return header


def _bad_row(lines: Iterable[str], width: int, what: str, first_row: int = 0) -> InvalidInputError | None:
    """The first data row (from ``first_row``, 0-based) without ``width`` fields, as an error."""
    reader = csv.reader(lines)
    next(reader, None)
    try:
        rows = (fields for fields in reader if fields)
        for number, fields in enumerate(rows):
            if number >= first_row and len(fields) != width:
                return InvalidInputError(f"{what}: row {number + 1} (line {reader.line_num}) has {len(fields)} "
                                         f"fields, but the header has {width}.")
    except csv.Error as exc:
        return InvalidInputError(f"{what} is not a valid CSV table: {exc} (line {reader.line_num}).")
    return None


def _suspect(frame: pd.DataFrame) -> bool:
    """Whether pandas may have changed ragged rows: an implicit index, or NaN-padded last fields."""
    if not isinstance(frame.index, pd.RangeIndex):
        return True
    return len(frame.columns) > 0 and bool(frame.iloc[:, -1].isna().any())


def _read(source: Any, dtypes: dict[str, Any] | None, what: str, **options: Any) -> Any:
    try:
        return pd.read_csv(source, dtype=dtypes, **options)
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"{what} is empty: expected a header row naming the columns, then one row per "
                                "line.") from None
    except pd.errors.ParserError as exc:
        raise InvalidInputError(f"{what} is not a valid CSV table: {str(exc).strip()}") from None


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as a file opened with ``newline=""`` yields them, sliced one at a
    time (a StringIO would copy all of it first)."""
    return (match.group() for match in _LINE.finditer(text))


def parse_csv(body: bytes, schema: Any) -> pd.DataFrame:
    """A CSV body as a DataFrame, reading columns as MLflow does (see :func:`csv_dtypes`)."""
    what = "The CSV body"
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{what} is not valid UTF-8: {exc}.") from None
    width = len(_header(_lines(text), what))
    try:
        frame = _read(io.BytesIO(body), csv_dtypes(schema), what, encoding="utf-8-sig")
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(f"Cannot read {what} as CSV: {exc}") from None
    if _suspect(frame):
        error = _bad_row(_lines(text), width, what)
        if error is not None:
            raise error
    if len(frame) == 0:
        raise InvalidInputError(f"{what} has a header row but no data rows to predict on.")
    return _float32(frame, schema)


def csv_chunks(path: str | os.PathLike, schema: Any, chunk_size: int) -> Iterator[pd.DataFrame]:
    """A CSV file as DataFrames of ``chunk_size`` rows, read and checked as :func:`parse_csv` reads a body."""
    what = f"Input file '{path}'"
    with open(path, encoding="utf-8-sig", newline="") as f:
        width = len(_header(f, what))
    start = 0
    try:
        with _read(path, csv_dtypes(schema), what, chunksize=chunk_size, encoding="utf-8-sig") as reader:
            for frame in reader:
                if _suspect(frame):
                    with open(path, encoding="utf-8-sig", newline="") as f:
                        error = _bad_row(f, width, what, start)
                    if error is not None:
                        raise error
                yield _float32(frame, schema)
                start += len(frame)
    except pd.errors.ParserError as exc:
        raise InvalidInputError(f"{what} is not a valid CSV table near row {start + 1}: {str(exc).strip()}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # UnicodeDecodeError too
        raise InvalidInputError(f"Cannot read {what} as CSV near row {start + 1}: {exc}") from None
    if start == 0:
        raise InvalidInputError(f"{what} has a header row but no data rows to predict on.")


# -- Parquet -------------------------------------------------------------------------------------

# Bytes per value once decoded, by Parquet physical type (byte arrays: the offset or pointer).
_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8, "BYTE_ARRAY": 8}


def decoded_size(metadata: Any) -> int:
    """Bytes a Parquet file's data takes decoded, from its metadata alone (byte arrays: at least)."""
    schema = metadata.schema
    total = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            width = _WIDTH.get(column.physical_type) or max(schema.column(c).length or 0, 1)
            total += max(column.total_uncompressed_size, column.num_values * width)
    return total


def _dictionary_strings(file: Any) -> list[str]:
    """Paths of the string leaves stored with a dictionary: their decoded size is not in the metadata."""
    metadata, paths = file.metadata, set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            if column.physical_type == "BYTE_ARRAY" and column.has_dictionary_page:
                paths.add(column.path_in_schema)
    return sorted(paths)


def _dense(array: Any) -> int:
    """Bytes the strings in ``array`` (a dictionary-encoded leaf, or nested ones) take decoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.DictionaryArray):
        return pc.sum(pc.take(pc.binary_length(array.dictionary), array.indices)).as_py() or 0
    kind = array.type
    if pa.types.is_struct(kind):
        return sum(_dense(array.field(i)) for i in range(kind.num_fields))
    if pa.types.is_map(kind):
        return _dense(array.keys) + _dense(array.items)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _dense(array.flatten())
    return array.nbytes if pa.types.is_binary(kind) or pa.types.is_string(kind) else 0


def _dense_bytes(body: bytes, paths: list[str]) -> int:
    """The decoded size of dictionary-encoded string leaves, computed from the dictionaries and indices."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = sorted({path.split(".", 1)[0] for path in paths})
    table = pq.ParquetFile(pa.BufferReader(body), read_dictionary=paths).read(columns=columns, use_threads=False)
    return sum(_dense(chunk) for name in columns for chunk in table.column(name).chunks)


def parse_parquet(body: bytes, max_decoded_bytes: int) -> pd.DataFrame:
    """A Parquet body as a DataFrame; refused before decoding when it would exceed ``max_decoded_bytes``.

    Raises ImportError without pyarrow, :class:`DecodedSizeError` over the limit and
    :class:`InvalidInputError` for anything that is not a readable Parquet table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(pa.BufferReader(body))
        size = decoded_size(file.metadata)
        if size <= max_decoded_bytes:
            strings = _dictionary_strings(file)
            size += _dense_bytes(body, strings) if strings else 0
        if size > max_decoded_bytes:
            raise DecodedSizeError(
                f"The Parquet body ({len(body):,} bytes) would decode to at least {size:,} bytes, over this "
                f"server's limit of {max_decoded_bytes:,} bytes; send fewer rows per request.")
        frame = file.read(use_threads=False).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"The body is not a readable Parquet table: {exc}") from None
    if len(frame) == 0:
        raise InvalidInputError("The Parquet body holds no rows to predict on.")
    return frame


def parquet_chunks(path: str | os.PathLike, chunk_size: int) -> tuple[Iterator[pd.DataFrame], int]:
    """A Parquet file as DataFrames of up to ``chunk_size`` rows, and its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    what = f"Input file '{path}'"
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(f"Cannot read {what} as Parquet: {exc}") from None

    def chunks() -> Iterator[pd.DataFrame]:
        start = 0
        try:
            for batch in file.iter_batches(batch_size=chunk_size):
                frame = batch.to_pandas()
                yield frame
                start += len(frame)
        except pa.ArrowException as exc:
            raise InvalidInputError(f"Cannot read {what} as Parquet near row {start + 1}: {exc}") from None
        finally:
            file.close()

    return chunks(), file.metadata.num_rows
