"""Dataset sources named by a URI of a filesystem or object store: ``LocalArtifactDatasetSource``
(plain paths and ``file:``, source type ``local``), ``S3ArtifactDatasetSource`` and the other schemes
MLflow has artifact repositories for (the source type is the scheme)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from mlcask.data.dataset_source import DatasetSource
from mlcask.exceptions import InvalidArgumentError

__all__ = ["FileSystemDatasetSource", "LocalArtifactDatasetSource", "S3ArtifactDatasetSource",
           "artifact_source_class"]


class FileSystemDatasetSource(DatasetSource):
    """A dataset source identified by a URI; :meth:`load` downloads it and returns the local path."""

    def __init__(self, uri: str) -> None:
        self._uri = uri

    @property
    def uri(self) -> str:
        """The URI (or local path) of the dataset."""
        return self._uri

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self._uri}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> FileSystemDatasetSource:
        uri = source_dict.get("uri")
        if uri is None:
            raise InvalidArgumentError(f'Failed to parse {cls.__name__}. Missing expected key: "uri"')
        return cls(uri=uri)

    @classmethod
    def _resolve(cls, raw_source: Any) -> FileSystemDatasetSource:
        return cls(str(raw_source))

    def load(self, dst_path: str | None = None) -> str:  # type: ignore[override]
        """The local path of the dataset's file(s): downloaded (through the artifact repositories) to
        ``dst_path``, or to a new temporary folder for None; a local file with no ``dst_path`` is itself."""
        from mlcask.artifacts import download_artifacts

        return download_artifacts(artifact_uri=self._uri, dst_path=dst_path)


def _scheme(raw_source: Any) -> str | None:
    if isinstance(raw_source, Path):
        return ""
    if not isinstance(raw_source, str):
        return None
    scheme = urllib.parse.urlparse(raw_source).scheme.lower()
    return "" if len(scheme) == 1 else scheme  # a Windows drive letter is a local path


class LocalArtifactDatasetSource(FileSystemDatasetSource):
    """A dataset in a local file or folder (a path or ``file:`` URI)."""

    @staticmethod
    def _get_source_type() -> str:
        return "local"

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return _scheme(raw_source) in ("", "file")


# MLflow's artifact repository schemes (besides local ones), with the class names it gives their sources.
_SCHEMES = {"s3": "S3", "r2": "R2", "b2": "B2", "gs": "GCS", "wasbs": "AzureBlob", "ftp": "FTP", "sftp": "SFTP",
            "hdfs": "Hdfs", "viewfs": "Hdfs", "abfss": "AzureDataLake"}
_CLASSES: dict[str, type[FileSystemDatasetSource]] = {"": LocalArtifactDatasetSource,
                                                      "file": LocalArtifactDatasetSource}


def artifact_source_class(scheme: str) -> type[FileSystemDatasetSource] | None:
    """The source class for URIs of ``scheme`` (``s3``, ``gs``, ...), or None if MLflow has none."""
    scheme = scheme.lower()
    if scheme not in _CLASSES and scheme in _SCHEMES:
        def source_type() -> str:
            return scheme

        def can_resolve(raw_source: Any) -> bool:
            return _scheme(raw_source) == scheme

        name = f"{_SCHEMES[scheme]}ArtifactDatasetSource"
        _CLASSES[scheme] = type(name, (FileSystemDatasetSource,), {
            "__doc__": f"A dataset at a URI of scheme '{scheme}'.", "__module__": __name__,
            "_get_source_type": staticmethod(source_type), "_can_resolve": staticmethod(can_resolve)})
    return _CLASSES.get(scheme)


S3ArtifactDatasetSource = artifact_source_class("s3")
