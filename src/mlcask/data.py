"""Datasets for ``log_input``: ``from_pandas`` and ``from_numpy``, with MLflow's fields
(name, digest, source, schema, profile)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from mlcask.entities import Dataset as DatasetEntity
from mlcask.entities import DatasetInput, InputTag
from mlcask.exceptions import InvalidArgumentError

_DIGEST_ROWS = 10_000


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset came from: a URI or path (``local``), or the code that built it (``code``)."""

    source_type: str
    details: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.details)


def _source(source: Any) -> DatasetSource:
    if isinstance(source, DatasetSource):
        return source
    if source is None:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
        return DatasetSource("code", {"tags": {"mlflow.source.name": name}})
    return DatasetSource("local", {"uri": str(source)})


@dataclass(frozen=True)
class Dataset:
    """A dataset as logged: the data itself plus what identifies it."""

    name: str
    digest: str
    source: DatasetSource
    schema: str | None
    profile: str | None
    data: Any
    targets: str | None = None

    def to_entity(self) -> DatasetEntity:
        return DatasetEntity(self.name, self.digest, self.source.source_type, self.source.to_json(),
                             self.schema, self.profile)


def _digest(*parts: bytes) -> str:
    h = hashlib.md5(usedforsecurity=False)
    for part in parts:
        h.update(part)
    return h.hexdigest()[:8]


def from_pandas(df: Any, source: Any = None, targets: str | None = None, name: str | None = None,
                digest: str | None = None, predictions: str | None = None) -> Dataset:
    """A dataset over a pandas DataFrame (``targets``: the label column's name)."""
    import pandas as pd

    from mlcask.types import infer_schema

    if not isinstance(df, pd.DataFrame):
        raise InvalidArgumentError(f"from_pandas takes a pandas DataFrame, got {type(df).__name__}.")
    if targets is not None and targets not in df.columns:
        raise InvalidArgumentError(f"targets={targets!r} is not a column of the DataFrame (columns: {list(df.columns)}).")
    head = df.head(_DIGEST_ROWS)
    computed = digest or _digest(pd.util.hash_pandas_object(head, index=False).to_numpy().tobytes(),
                                 repr(df.shape).encode(), repr(list(map(str, df.columns))).encode())
    features = df.drop(columns=[c for c in (targets, predictions) if c]) if (targets or predictions) else df
    schema = json.dumps({"mlflow_colspec": infer_schema(features).to_dict()})
    profile = json.dumps({"num_rows": len(df), "num_elements": int(df.size)})
    return Dataset(name or "dataset", computed, _source(source), schema, profile, df, targets)


def from_numpy(features: Any, source: Any = None, targets: Any = None, name: str | None = None,
               digest: str | None = None) -> Dataset:
    """A dataset over numpy features (and optional targets)."""
    import numpy as np

    if not isinstance(features, np.ndarray):
        raise InvalidArgumentError(f"from_numpy takes a numpy array, got {type(features).__name__}.")
    parts = [np.ascontiguousarray(features[:_DIGEST_ROWS]).tobytes(), repr(features.shape).encode()]
    if targets is not None:
        parts.append(np.ascontiguousarray(np.asarray(targets)[:_DIGEST_ROWS]).tobytes())
    schema = json.dumps({"mlflow_tensorspec": {"features": json.dumps(
        [{"type": "tensor", "tensor-spec": {"dtype": str(features.dtype), "shape": [-1, *features.shape[1:]]}}])}})
    profile = json.dumps({"features_shape": list(features.shape), "features_size": int(features.size),
                          "features_nbytes": int(features.nbytes)})
    return Dataset(name or "dataset", digest or _digest(*parts), _source(source), schema, profile, features)


def dataset_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> DatasetInput:
    """The run input record for ``dataset`` (``context`` e.g. "training", "eval")."""
    if isinstance(dataset, Dataset):
        entity = dataset.to_entity()
    elif isinstance(dataset, DatasetEntity):
        entity = dataset
    else:
        raise InvalidArgumentError(
            f"log_input takes a dataset from mlcask.data.from_pandas/from_numpy, got {type(dataset).__name__}."
        )
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context:
        input_tags.append(InputTag("mlflow.data.context", context))
    return DatasetInput(entity, input_tags)
