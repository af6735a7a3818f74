"""The dataset source classes in one place (MLflow's ``mlflow.data.sources``)."""

from __future__ import annotations

from mlcask.data.code_dataset_source import CodeDatasetSource
from mlcask.data.filesystem_dataset_source import (
    FileSystemDatasetSource,
    LocalArtifactDatasetSource,
    S3ArtifactDatasetSource,
    artifact_source_class,
)
from mlcask.data.http_dataset_source import HTTPDatasetSource

__all__ = ["CodeDatasetSource", "FileSystemDatasetSource", "GCSArtifactDatasetSource", "HTTPDatasetSource",
           "LocalArtifactDatasetSource", "S3ArtifactDatasetSource"]

GCSArtifactDatasetSource = artifact_source_class("gs")
