"""``Dataset``: the base of the datasets ``log_input`` records (MLflow's ``mlflow.data.dataset.Dataset``),
and :func:`dataset_input`, the run input record of one."""

from __future__ import annotations

import json
import sys
from typing import Any

from mlcask.data.dataset_source import DatasetSource
from mlcask.entities import Dataset as DatasetEntity
from mlcask.entities import DatasetInput, InputTag
from mlcask.exceptions import InvalidArgumentError

__all__ = ["Dataset", "dataset_input", "is_polars_dataframe"]


class Dataset:
    """A dataset: its data, a ``name`` (default ``"dataset"``), a ``digest`` (computed from the data
    unless given), its ``source``, and the ``schema`` and ``profile`` subclasses compute."""

    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None) -> None:
        self._name = name
        self._source = source
        self._digest = digest or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self._name if self._name is not None else "dataset"

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source(self) -> DatasetSource:
        return self._source

    @property
    def profile(self) -> Any | None:
        """Summary statistics of the data (a JSON-serialisable dict), or None."""
        return None

    @property
    def schema(self) -> Any | None:
        """The data's schema, or None."""
        return None

    def _get_source_type(self) -> str:
        return self._source._get_source_type()

    def to_dict(self) -> dict[str, str]:
        """The dataset as stored: name, digest, source (JSON), source_type, and the subclass's
        schema and profile (JSON strings)."""
        return {"name": self.name, "digest": self.digest, "source": self._source.to_json(),
                "source_type": self._source._get_source_type()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self) -> DatasetEntity:
        fields = self.to_dict()
        return DatasetEntity(name=fields["name"], digest=fields["digest"], source_type=fields["source_type"],
                             source=fields["source"], schema=fields.get("schema"), profile=fields.get("profile"))

    to_entity = _to_mlflow_entity


def dataset_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> DatasetInput:
    """The run input record for ``dataset`` (``context`` e.g. "training", "eval"): the given tags,
    then ``mlflow.data.context``."""
    if isinstance(dataset, Dataset):
        entity = dataset._to_mlflow_entity()
    elif isinstance(dataset, DatasetEntity):
        entity = dataset
    else:
        raise InvalidArgumentError(
            f"log_input takes a dataset from mlcask.data (from_pandas, from_numpy, from_polars...) or an "
            f"mlcask.entities.Dataset, got {type(dataset).__name__}."
        )
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context:
        input_tags.append(InputTag("mlflow.data.context", context))
    return DatasetInput(entity, input_tags)


def is_polars_dataframe(data: Any) -> bool:
    """Whether ``data`` is a polars DataFrame (never imports polars: a frame exists only if it is loaded)."""
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(data, polars.DataFrame)
