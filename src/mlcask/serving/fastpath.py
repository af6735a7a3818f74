"""The scoring hot path: plain numeric JSON bodies read straight into a float array.

For a model whose input signature is required ``double`` columns (what
``infer_signature`` gives for a table of floats), the usual body is a few numbers per
row. The general path builds a DataFrame from the JSON, checks it against the schema
and hands it on; :class:`NumericRows` reads the decoded JSON straight into a 2-D
float64 array in the signature's column order, and :func:`as_frame` makes the
DataFrame the general path would have made of it (same columns, values and dtypes)
only once per predict call, for all the requests a batch merges.

It takes a body only when the general path would accept it and give exactly that
array: the forms ``dataframe_split`` (``columns`` exactly the signature's, in its
order, and ``data``; no ``index``), ``dataframe_records``, ``instances``/``inputs``
(records, rows of exactly the signature's width, or an object of exactly its columns)
and Azure ML's ``input_data`` of these, without ``params``; every value a JSON number
(integers widen to floats, as the general path widens them) that is finite and, if any
is an integer, all within 2**53. Anything else, and every error, is left to the
general path, which decides and words it; so responses are byte-identical between the
two paths. The array even has the memory layout of the general path's frame (row-major
for ``dataframe_split``, column-major for the other forms), which a model computing
with BLAS can round by: a request predicted alone gets the very same bits. (Requests
merged into one predict get what the merge gives, on either path.)
"""

from __future__ import annotations

import asyncio
import itertools
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from mlcask.serving.codec import AZURE_KEY, azure_form
from mlcask.serving.scoring import (
    prediction_errors,
    run_model,
)
from mlcask.serving.state import ServedModel

_NUMBERS = frozenset((int, float))
_EXACT = float(2**53)  # the integers a double holds exactly (the general path refuses to round others)
_SPLIT_KEYS = frozenset(("columns", "data"))


class NumericRows:
    """Reads plain numeric scoring payloads for a signature of required double columns."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.width = len(names)
        self.columns = pd.Index(names, dtype=object)
        self._get = itemgetter(*names) if len(names) > 1 else (lambda record: (record[names[0]],))
        self._names = frozenset(names)

    @classmethod
    def for_schema(cls, schema: Any) -> NumericRows | None:
        """The reader for ``schema``, or None when the signature is not all required double columns."""
        from mlcask.types.datatype import DataType

        if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
            return None
        specs = list(schema.inputs)
        names = [spec.name for spec in specs]
        if not specs or any(spec.type is not DataType.double or not spec.required for spec in specs):
            return None
        if not all(type(name) is str for name in names) or len(set(names)) != len(names):
            return None
        return cls(names)

    def read(self, payload: Any) -> np.ndarray | None:
        """``payload`` (decoded JSON) as a float64 array of rows in the signature's order, or None."""
        if type(payload) is not dict or len(payload) != 1:
            return None  # params, several keys, or not an object: the general path
        ((key, value),) = payload.items()
        if key == AZURE_KEY:
            key = azure_form(value)
        if key == "dataframe_split":
            return self._split(value)
        if key == "dataframe_records":
            return self._records(value)
        if key in ("instances", "inputs"):
            return self._instances(value)
        return None

    # -- the forms -------------------------------------------------------------------------

    def _split(self, value: Any) -> np.ndarray | None:
        if type(value) is not dict or value.keys() != _SPLIT_KEYS:
            return None
        rows = value["data"]
        if value["columns"] != self.names:  # other orders and extra columns: the general path (it
            return None                     # passes the model a strided frame, which BLAS adds up otherwise)
        width = self.width
        if type(rows) is not list or not all(type(row) is list and len(row) == width for row in rows):
            return None
        return _numbers(rows)  # row-major, as the general path's frame

    def _records(self, records: Any) -> np.ndarray | None:
        if type(records) is not list or not all(type(record) is dict for record in records):
            return None
        try:
            rows = [self._get(record) for record in records]
        except KeyError:
            return None  # a missing column
        return _column_major(_numbers(rows))

    def _instances(self, value: Any) -> np.ndarray | None:
        if type(value) is dict:
            return self._columns(value)
        if type(value) is not list or not value:
            return None
        if type(value[0]) is dict:
            return self._records(value)
        width = self.width
        if not all(type(row) is list and len(row) == width for row in value):
            return None  # rows are matched to the columns by position only at the signature's width
        return _column_major(_numbers(value))

    def _columns(self, value: dict[str, Any]) -> np.ndarray | None:
        if value.keys() != self._names:
            return None  # extra keys must still make a table for the general path: let it decide
        columns = [value[name] for name in self.names]
        if not all(type(column) is list for column in columns) or len({len(c) for c in columns}) != 1:
            return None
        array = _numbers(columns)
        return None if array is None else array.T  # column-major, as the general path's frame


def _column_major(array: np.ndarray | None) -> np.ndarray | None:
    """``array`` laid out by column, as the general path's frame built from records or rows is: a model
    adding up a row with BLAS (a linear model) can round differently in the other layout."""
    return None if array is None else np.asfortranarray(array)


def _numbers(rows: list[Any]) -> np.ndarray | None:
    """Rows (lists or tuples of equal length) of JSON numbers as a 2-D float64 array, or None."""
    if not rows:
        return None
    kinds = set(map(type, itertools.chain.from_iterable(rows)))
    if not kinds <= _NUMBERS:
        return None  # bools, nulls, strings, nested values: the general path decides
    array = np.array(rows, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] == 0:
        return None
    if int in kinds:
        if not np.abs(array).max() < _EXACT:  # also False for NaN (2**53 + 1 reads as 2**53: refused too)
            return None
    elif not np.isfinite(array).all():
        return None
    return array


def as_frame(rows: np.ndarray, reader: NumericRows) -> pd.DataFrame:
    """The DataFrame the general path checks ``rows`` into: the signature's columns, float64, a RangeIndex."""
    return pd.DataFrame(rows, columns=reader.columns, copy=False)


async def _within(future: asyncio.Future, timeout: float) -> Any:
    """``future``'s result, or TimeoutError after ``timeout`` s (then the batcher leaves the request out).

    A timer on the future itself: ``asyncio.timeout`` costs several times more, on every request.
    """
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        return await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def predict_rows(served: ServedModel, reader: NumericRows, rows: np.ndarray) -> Any:
    """Predict on ``rows`` (merged with other requests when batching), with the general path's
    timeout and error mapping (:func:`mlcask.serving.scoring.prediction_errors`)."""
    with prediction_errors(served):
        batcher = served.batcher
        if batcher is not None and len(rows) < batcher.max_batch_size:
            return await _within(batcher.submit(rows), served.timeout)
        async with asyncio.timeout(served.timeout):
            if batcher is None:
                return await asyncio.to_thread(run_model, served.model, as_frame(rows, reader), None)
            return await batcher.predict_alone(rows)
