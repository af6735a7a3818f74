"""``MetaDataset``: a dataset known only by its source (and optionally its schema), no data."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlcask.data.dataset import Dataset
from mlcask.data.dataset_source import DatasetSource
from mlcask.types import Schema

__all__ = ["MetaDataset"]


class MetaDataset(Dataset):
    """A dataset described by its source, name and schema; the digest hashes those."""

    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None,
                 schema: Schema | None = None) -> None:
        self._schema = schema
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        config = {"name": self.name, "source": self.source.to_json(), "source_type": self.source._get_source_type(),
                  "schema": self._schema.to_dict() if self._schema else ""}
        return hashlib.sha256(json.dumps(config).encode("utf-8")).hexdigest()[:8]

    @property
    def schema(self) -> Any | None:
        return self._schema

    def to_dict(self) -> dict[str, str]:
        fields = super().to_dict()
        if self._schema:
            fields["schema"] = json.dumps({"mlflow_colspec": self._schema.to_dict()})
        return fields
