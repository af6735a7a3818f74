"""``PolarsDataset`` and ``from_polars``: a dataset over a polars DataFrame (polars >= 1.0), with
MLflow's digest (the sum of the row hashes), schema and profile. Importing this module imports polars."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

import polars as pl

from mlcask.data.dataset_source import DatasetSource
from mlcask.data.dataset_source_registry import resolve
from mlcask.data.frame_dataset import FrameDataset
from mlcask.data.pyfunc_dataset_mixin import PyFuncInputsOutputs
from mlcask.exceptions import InvalidArgumentError
from mlcask.types import Array, ColSpec, DataType, Object, Property, Schema

__all__ = ["PolarsDataset", "from_polars", "infer_schema"]

_logger = logging.getLogger(__name__)

if int(pl.__version__.split(".")[0]) < 1:
    raise ImportError(f"mlcask.data.polars_dataset requires polars>=1.0.0, found {pl.__version__}")

_EXACT = {pl.Binary: DataType.binary, pl.Boolean: DataType.boolean, pl.Datetime: DataType.datetime,
          pl.Float32: DataType.float, pl.Float64: DataType.double, pl.Int8: DataType.integer,
          pl.Int16: DataType.integer, pl.Int32: DataType.integer, pl.Int64: DataType.long,
          pl.String: DataType.string}
# Not the same type, close enough (MLflow maps them so, with a warning).
_CLOSE = {pl.Categorical: DataType.string, pl.Enum: DataType.string, pl.Date: DataType.datetime,
          pl.UInt8: DataType.integer, pl.UInt16: DataType.integer, pl.UInt32: DataType.long}


def _dtype(dtype: Any, column: str) -> Any:
    cls = dtype if isinstance(dtype, type) else type(dtype)
    if cls in _EXACT:
        return _EXACT[cls]
    if cls in _CLOSE:
        logging.warning("Data type of Column '%s' contains dtype=%s which will be mapped to %s. This is not an "
                        "exact match but is close enough", column, dtype, _CLOSE[cls])
        return _CLOSE[cls]
    if isinstance(dtype, (pl.Array, pl.List)):
        inner = getattr(dtype, "inner", None)
        if inner is None:
            raise InvalidArgumentError(f"Column '{column}': a list of unknown type has no schema.")
        return Array(_dtype(inner, f"{column}.[]"))
    if isinstance(dtype, pl.Struct):
        return Object([Property(f.name, _dtype(f.dtype, f"{column}.{f.name}")) for f in dtype.fields])
    raise InvalidArgumentError(f"Column '{column}': polars type {dtype} has no MLflow schema type.")


def infer_schema(df: Any) -> Schema:
    """The schema of a polars DataFrame: one column per column, required when it holds a value."""
    return Schema([ColSpec(_dtype(df[c].dtype, c), c, df[c].count() > 0) for c in df.columns])


class PolarsDataset(FrameDataset):
    """A polars DataFrame as a dataset; ``targets`` and ``predictions`` name columns of it."""

    _schema_when_none = "null"  # MLflow writes the JSON null for a polars frame without schema

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        if not isinstance(df, pl.DataFrame):
            raise InvalidArgumentError(f"from_polars takes a polars DataFrame, got {type(df).__name__}.")
        super().__init__(df, source=source, targets=targets, name=name, digest=digest, predictions=predictions)

    def _missing_column_message(self, role: str, column: str) -> str:
        return f"DataFrame does not contain specified {role} column: '{column}'"

    def _compute_digest(self) -> str:
        return str(self._df.hash_rows().sum())

    @property
    def profile(self) -> dict[str, int]:
        return {"num_rows": self._df.height, "num_elements": self._df.height * self._df.width}

    @cached_property
    def schema(self) -> Schema | None:
        try:
            return infer_schema(self._df)
        except Exception as exc:  # the dataset is still logged, without schema
            _logger.warning("Failed to infer schema for PolarsDataset. Exception: %s", exc)
            return None

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        """As pandas frames (what pyfunc models take): inputs without the targets column, and that column."""
        if self._targets:
            return PyFuncInputsOutputs([self._df.drop(self._targets).to_pandas()],
                                       [self._df.select(self._targets).to_series().to_pandas()])
        return PyFuncInputsOutputs([self._df.to_pandas()])


def from_polars(df: Any, source: str | DatasetSource | None = None, targets: str | None = None,
                name: str | None = None, digest: str | None = None, predictions: str | None = None) -> PolarsDataset:
    """A dataset over a polars DataFrame (arguments as :func:`mlcask.data.from_pandas`)."""
    return PolarsDataset(df=df, source=resolve(source), targets=targets, name=name, digest=digest,
                         predictions=predictions)
