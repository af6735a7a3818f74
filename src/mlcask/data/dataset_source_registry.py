"""The dataset source registry: a raw source (a path, a URI, a URL) resolved to its
:class:`~mlcask.data.dataset_source.DatasetSource`, and a stored source read back from its JSON,
as MLflow's ``mlflow.data.dataset_source_registry`` does."""

from __future__ import annotations

import os
import warnings
from typing import Any

from mlcask.data.code_dataset_source import CodeDatasetSource
from mlcask.data.dataset_source import DatasetSource
from mlcask.data.filesystem_dataset_source import LocalArtifactDatasetSource, artifact_source_class
from mlcask.data.http_dataset_source import HTTPDatasetSource
from mlcask.exceptions import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MlcaskException

__all__ = ["get_dataset_source_from_json", "get_registered_sources", "get_source", "register_dataset_source",
           "resolve_dataset_source"]

_registered: list[type[DatasetSource]] = []


def register_dataset_source(source: type[DatasetSource]) -> None:
    """Add a source class, tried before the built-in ones when resolving a raw source."""
    _registered.append(source)


def get_registered_sources() -> list[type[DatasetSource]]:
    """The source classes a raw source may resolve to (registered ones last, as in MLflow)."""
    schemes = ("s3", "r2", "b2", "gs", "wasbs", "ftp", "sftp", "hdfs", "viewfs", "abfss")
    built_in = [LocalArtifactDatasetSource, *(artifact_source_class(s) for s in schemes), HTTPDatasetSource,
                CodeDatasetSource]
    return [*built_in, *_registered]


def resolve_dataset_source(raw_source: Any, candidate_sources: list[type[DatasetSource]] | None = None
                           ) -> DatasetSource:
    """The source for ``raw_source``: the last registered class that can resolve it."""
    if isinstance(raw_source, os.PathLike):
        raw_source = os.fspath(raw_source)
    for source in reversed(get_registered_sources()):
        if candidate_sources and not any(issubclass(source, c) for c in candidate_sources):
            continue
        try:
            if source._can_resolve(raw_source):
                return source._resolve(raw_source)
        except Exception as exc:  # a plug-in's resolver failing must not hide the others
            warnings.warn(f"{source.__name__} failed to resolve source information for '{raw_source}': {exc}",
                          stacklevel=2)
    raise MlcaskException(f"Could not find a source information resolver for the specified dataset source: "
                          f"{raw_source}.", RESOURCE_DOES_NOT_EXIST)


def get_dataset_source_from_json(source_json: str, source_type: str) -> DatasetSource:
    """The source stored as ``source_json`` with ``source_type`` (as on a run's dataset input)."""
    for source in reversed(get_registered_sources()):
        if source._get_source_type() == source_type:
            return source.from_json(source_json)
    raise MlcaskException(f"Could not parse dataset source from JSON due to unrecognized source type: "
                          f"{source_type}.", RESOURCE_DOES_NOT_EXIST)


def get_source(dataset: Any) -> DatasetSource:
    """The source of a dataset (``mlcask.data`` dataset, ``mlcask.entities.Dataset`` or ``DatasetInput``)."""
    from mlcask.data.dataset import Dataset
    from mlcask.entities import Dataset as DatasetEntity
    from mlcask.entities import DatasetInput

    if isinstance(dataset, DatasetInput):
        dataset = dataset.dataset
    if isinstance(dataset, DatasetEntity):
        return get_dataset_source_from_json(dataset.source, dataset.source_type)
    if isinstance(dataset, Dataset):
        return dataset.source
    raise MlcaskException(f"Unrecognized dataset type {type(dataset)}. Expected one of: `mlflow.data.dataset.Dataset`,"
                          " `mlflow.entities.Dataset`, `mlflow.entities.DatasetInput`.", INVALID_PARAMETER_VALUE)


def resolve(source: Any) -> DatasetSource:
    """``source`` as given to ``from_pandas``/``from_numpy``...: a DatasetSource as is, None as the code
    that runs, anything else through :func:`resolve_dataset_source`."""
    from mlcask.data.code_dataset_source import context_tags

    if isinstance(source, DatasetSource):
        return source
    if source is None:
        return CodeDatasetSource(tags=context_tags())
    return resolve_dataset_source(source)
