"""``PandasDataset`` and ``from_pandas``: a dataset over a pandas DataFrame, with MLflow's digest,
schema (``{"mlflow_colspec": [...]}`` of the whole frame) and profile (rows, elements)."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from mlcask.data.dataset_source import DatasetSource
from mlcask.data.dataset_source_registry import resolve
from mlcask.data.digest_utils import compute_pandas_digest
from mlcask.data.frame_dataset import FrameDataset
from mlcask.data.pyfunc_dataset_mixin import PyFuncInputsOutputs
from mlcask.exceptions import InvalidArgumentError
from mlcask.types import Schema

__all__ = ["PandasDataset", "from_pandas"]

_logger = logging.getLogger(__name__)


class PandasDataset(FrameDataset):
    """A pandas DataFrame as a dataset; ``targets`` and ``predictions`` name columns of it."""

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise InvalidArgumentError(f"from_pandas takes a pandas DataFrame, got {type(df).__name__}.")
        super().__init__(df, source=source, targets=targets, name=name, digest=digest, predictions=predictions)

    def _missing_column_message(self, role: str, column: str) -> str:
        return f"The specified pandas DataFrame does not contain the specified {role} column '{column}'."

    def _compute_digest(self) -> str:
        return compute_pandas_digest(self._df)

    @property
    def profile(self) -> dict[str, int]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> Schema | None:
        """The inferred schema of the whole frame (targets included), or None when it has none."""
        from mlcask.types import infer_schema

        try:
            return infer_schema(self._df)
        except Exception as exc:  # an unsupported column type: the dataset is still logged, without schema
            _logger.debug("Failed to infer schema for Pandas dataset. Exception: %s", exc)
            return None

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        """The frame without its targets column as inputs, that column as outputs."""
        if self._targets:
            return PyFuncInputsOutputs(self._df.drop(columns=[self._targets]), self._df[self._targets])
        return PyFuncInputsOutputs(self._df)


def from_pandas(df: Any, source: str | DatasetSource | None = None, targets: str | None = None,
                name: str | None = None, digest: str | None = None, predictions: str | None = None) -> PandasDataset:
    """A dataset over a pandas DataFrame.

    Parameters
    ----------
    df
        The data.
    source
        Where it came from: a path or URI (``s3://...``, ``https://...``), a
        :class:`~mlcask.data.dataset_source.DatasetSource`, or None for the code that runs now.
    targets, predictions
        Names of the label and prediction columns, if any.
    name, digest
        The dataset's name (default ``"dataset"``) and digest (default: computed from the data).
    """
    return PandasDataset(df=df, source=resolve(source), targets=targets, name=name, digest=digest,
                         predictions=predictions)
