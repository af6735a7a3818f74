"""``FrameDataset``: what the pandas and polars datasets share: a data frame whose ``targets`` and
``predictions`` name columns of it, and the ``schema``/``profile`` fields of its stored record."""

from __future__ import annotations

import json
from typing import Any

from mlcask.data.dataset import Dataset
from mlcask.data.dataset_source import DatasetSource
from mlcask.data.pyfunc_dataset_mixin import PyFuncConvertibleDatasetMixin
from mlcask.exceptions import InvalidArgumentError

__all__ = ["FrameDataset"]


class FrameDataset(Dataset, PyFuncConvertibleDatasetMixin):
    """A data frame as a dataset; subclasses check the frame's type, and give the digest, schema,
    profile and the message for a missing column (MLflow words it per library)."""

    #: What the record's ``schema`` field holds when the frame has no schema (MLflow: None for
    #: pandas, the JSON ``"null"`` for polars).
    _schema_when_none: str | None = None

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        for role, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidArgumentError(self._missing_column_message(role, column))
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source=source, name=name, digest=digest)

    def _missing_column_message(self, role: str, column: str) -> str:
        raise NotImplementedError

    @property
    def df(self) -> Any:
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    def to_dict(self) -> dict[str, str]:
        fields = super().to_dict()
        schema = self.schema
        fields["schema"] = json.dumps({"mlflow_colspec": schema.to_dict()}) if schema else self._schema_when_none
        fields["profile"] = json.dumps(self.profile)
        return fields
