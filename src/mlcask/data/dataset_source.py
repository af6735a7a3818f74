"""``DatasetSource``: where a dataset came from, as MLflow records it (a source type and a JSON document)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DatasetSource"]


class DatasetSource:
    """Base class of dataset sources (MLflow's ``mlflow.data.dataset_source.DatasetSource``).

    A subclass names its type (:meth:`_get_source_type`), says which raw sources it can
    resolve (:meth:`_can_resolve`, :meth:`_resolve`) and converts itself to and from a
    JSON-serialisable dict (:meth:`to_dict`, :meth:`from_dict`).
    """

    @staticmethod
    def _get_source_type() -> str:
        raise NotImplementedError

    @property
    def source_type(self) -> str:
        """The source type recorded with the dataset (``local``, ``s3``, ``http``, ``code``...)."""
        return self._get_source_type()

    def load(self, **kwargs: Any) -> Any:
        """Load the source's data (a local path, for file-like sources)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be loaded.")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        """The source as the JSON string stored with the dataset."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        raise NotImplementedError

    @classmethod
    def from_json(cls, source_json: str) -> DatasetSource:
        """The source described by ``source_json`` (the output of :meth:`to_json`)."""
        return cls.from_dict(json.loads(source_json))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.to_json()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"
