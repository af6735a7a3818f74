"""What ``evaluate`` returns: :class:`EvaluationResult` (metrics, artifacts, run id) and the
artifact kinds (MLflow's ``mlflow.models.evaluation.base``/``artifacts``).

An artifact holds its URI in the run and, once read, its content; the content of an artifact
that was not read yet is downloaded from the URI on first use. ``EvaluationResult.save`` writes
MLflow's layout (``metrics.json``, ``artifacts_metadata.json``, ``artifacts/``) with MLflow's class
names, so a result saved by mlcask loads in MLflow and the other way round.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import pickle
import tempfile
import urllib.parse
from abc import ABCMeta, abstractmethod
from typing import Any

from mlcask.environment_variables import BooleanEnvironmentVariable
from mlcask.exceptions import MlcaskException

__all__ = [
    "CsvEvaluationArtifact", "EvaluationArtifact", "EvaluationResult", "ImageEvaluationArtifact",
    "JsonEvaluationArtifact", "NumpyEvaluationArtifact", "ParquetEvaluationArtifact", "PickleEvaluationArtifact",
    "TextEvaluationArtifact", "json_default",
]

_logger = logging.getLogger(__name__)

MLFLOW_ALLOW_PICKLE_DESERIALIZATION = BooleanEnvironmentVariable("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", False)
_MLFLOW_ARTIFACTS_MODULE = "mlflow.models.evaluation.artifacts"


def json_default(value: Any) -> Any:
    """``json.dump``'s ``default`` for numpy and pandas values (MLflow's ``NumpyEncoder``)."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class EvaluationArtifact(metaclass=ABCMeta):
    """An artifact of an evaluation: its ``uri`` and its ``content`` (read on first use)."""

    def __init__(self, uri: str, content: Any = None) -> None:
        self._uri = uri
        self._content = content

    @abstractmethod
    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        """Read the content from a local file, keep it and return it."""

    @abstractmethod
    def _save(self, output_artifact_path: str) -> None:
        """Write the content to a local file."""

    def _load(self, local_artifact_path: str | None = None) -> Any:
        """Read the content from ``local_artifact_path``, or download it from the URI first."""
        if local_artifact_path is not None:
            self._content = self._load_content_from_file(local_artifact_path)
            return self._content
        from mlcask.artifacts import download_artifacts

        with tempfile.TemporaryDirectory() as folder:
            path = download_artifacts(artifact_uri=self._uri, dst_path=folder)
            if os.path.isdir(path):
                path = os.path.join(path, os.listdir(path)[0])
            self._content = self._load_content_from_file(path)
        return self._content

    @property
    def content(self) -> Any:
        """The artifact's content (a DataFrame, a PIL image, a dict, ...)."""
        if self._content is None:
            self._load()
        return self._content

    @property
    def uri(self) -> str:
        """The artifact's URI."""
        return self._uri

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(uri='{self.uri}')"


class ImageEvaluationArtifact(EvaluationArtifact):
    """A PNG or JPEG image; the content is a ``PIL.Image.Image``."""

    def _save(self, output_artifact_path: str) -> None:
        self.content.save(output_artifact_path)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        from PIL.Image import open as open_image

        self._content = open_image(local_artifact_path)
        self._content.load()
        return self._content


class CsvEvaluationArtifact(EvaluationArtifact):
    """A CSV table; the content is a pandas DataFrame."""

    def _save(self, output_artifact_path: str) -> None:
        self.content.to_csv(output_artifact_path, index=False)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        import pandas as pd

        self._content = pd.read_csv(local_artifact_path)
        return self._content


class ParquetEvaluationArtifact(EvaluationArtifact):
    """A Parquet table; the content is a pandas DataFrame."""

    def _save(self, output_artifact_path: str) -> None:
        self.content.to_parquet(output_artifact_path, compression="brotli")

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        import pandas as pd

        self._content = pd.read_parquet(local_artifact_path)
        return self._content


class NumpyEvaluationArtifact(EvaluationArtifact):
    """A ``.npy`` array (never pickled)."""

    def _save(self, output_artifact_path: str) -> None:
        import numpy as np

        np.save(output_artifact_path, self.content, allow_pickle=False)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        import numpy as np

        self._content = np.load(local_artifact_path, allow_pickle=False)
        return self._content


class JsonEvaluationArtifact(EvaluationArtifact):
    """A JSON document."""

    def _save(self, output_artifact_path: str) -> None:
        with open(output_artifact_path, "w") as f:
            json.dump(self.content, f, default=json_default)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        with open(local_artifact_path) as f:
            self._content = json.load(f)
        return self._content


class TextEvaluationArtifact(EvaluationArtifact):
    """A text file (the Responsible-AI report is one)."""

    def _save(self, output_artifact_path: str) -> None:
        with open(output_artifact_path, "w") as f:
            f.write(self.content)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        with open(local_artifact_path) as f:
            self._content = f.read()
        return self._content


class PickleEvaluationArtifact(EvaluationArtifact):
    """A pickled object; reading one back needs ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` (as in MLflow)."""

    def _save(self, output_artifact_path: str) -> None:
        with open(output_artifact_path, "wb") as f:
            pickle.dump(self.content, f)

    def _load_content_from_file(self, local_artifact_path: str) -> Any:
        if not MLFLOW_ALLOW_PICKLE_DESERIALIZATION.get():
            raise MlcaskException(
                "Deserializing evaluation artifacts using pickle is disallowed. Set environment variable "
                "'MLFLOW_ALLOW_PICKLE_DESERIALIZATION' to 'true' to allow deserializing evaluation artifacts "
                "using pickle.")
        with open(local_artifact_path, "rb") as f:
            self._content = pickle.load(f)  # noqa: S301 - allowed explicitly above
        return self._content


_KINDS: dict[str, type[EvaluationArtifact]] = {cls.__name__: cls for cls in (
    ImageEvaluationArtifact, CsvEvaluationArtifact, ParquetEvaluationArtifact, NumpyEvaluationArtifact,
    JsonEvaluationArtifact, TextEvaluationArtifact, PickleEvaluationArtifact)}


def _class_name(artifact: EvaluationArtifact) -> str:
    name = type(artifact).__name__
    if _KINDS.get(name) is type(artifact):
        return f"{_MLFLOW_ARTIFACTS_MODULE}.{name}"  # MLflow's name: MLflow can load the saved result
    return f"{type(artifact).__module__}.{type(artifact).__qualname__}"


def _artifact_class(class_name: str) -> type[EvaluationArtifact]:
    module, _, name = class_name.rpartition(".")
    if module in (_MLFLOW_ARTIFACTS_MODULE, __name__) and name in _KINDS:
        return _KINDS[name]
    raise MlcaskException(
        f"Unknown evaluation artifact class {class_name!r} in artifacts_metadata.json: expected one of "
        f"{sorted(_KINDS)} (from {_MLFLOW_ARTIFACTS_MODULE} or {__name__}).")


def _file_name(uri: str) -> str:
    return pathlib.Path(urllib.parse.urlparse(uri).path).name


class EvaluationResult:
    """The outcome of :func:`mlcask.evaluate`: scalar ``metrics``, ``artifacts`` (plots, tables, the
    report) and the ``run_id`` they were logged to."""

    def __init__(self, metrics: dict[str, Any], artifacts: dict[str, EvaluationArtifact],
                 run_id: str | None = None) -> None:
        self._metrics = metrics
        self._artifacts = artifacts
        if run_id is None:
            from mlcask.tracking import fluent

            active = fluent.active_run()
            run_id = active.info.run_id if active is not None else None
        self._run_id = run_id

    @classmethod
    def load(cls, path: str | os.PathLike) -> EvaluationResult:
        """Load a result written by :meth:`save` (or by MLflow's ``EvaluationResult.save``)."""
        with open(os.path.join(path, "metrics.json")) as fp:
            metrics = json.load(fp)
        with open(os.path.join(path, "artifacts_metadata.json")) as fp:
            metadata = json.load(fp)
        artifacts = {}
        for name, meta in metadata.items():
            artifact = _artifact_class(meta["class_name"])(uri=meta["uri"])
            artifact._load(os.path.join(path, "artifacts", _file_name(meta["uri"])))
            artifacts[name] = artifact
        return EvaluationResult(metrics=metrics, artifacts=artifacts)

    def save(self, path: str | os.PathLike) -> None:
        """Write the metrics, the artifacts' metadata and their files under ``path`` (MLflow's layout)."""
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "metrics.json"), "w") as fp:
            json.dump(self.metrics, fp, default=json_default)
        metadata = {name: {"uri": a.uri, "class_name": _class_name(a)} for name, a in self.artifacts.items()}
        with open(os.path.join(path, "artifacts_metadata.json"), "w") as fp:
            json.dump(metadata, fp)
        folder = os.path.join(path, "artifacts")
        os.makedirs(folder, exist_ok=True)
        for artifact in self.artifacts.values():
            artifact._save(os.path.join(folder, _file_name(artifact.uri)))

    @property
    def metrics(self) -> dict[str, Any]:
        """Metric name -> scalar value."""
        return self._metrics

    @property
    def artifacts(self) -> dict[str, EvaluationArtifact]:
        """Artifact name (``roc_curve_plot``, ``per_class_metrics``, ...) -> artifact."""
        return self._artifacts

    @property
    def run_id(self) -> str | None:
        """The run the results were logged to."""
        return self._run_id

    @property
    def tables(self) -> dict[str, Any]:
        """Artifact name -> DataFrame, for the artifacts that are tables logged with ``log_table``
        (``eval_results_table``)."""
        tables: dict[str, Any] = {}
        if self._run_id is None:
            _logger.warning("Cannot load eval_results_table because run_id is not specified.")
            return tables
        from mlcask.tracking.fluent_artifacts import load_table

        for name, artifact in self._artifacts.items():
            try:
                tables[name] = load_table(_file_name(artifact.uri), run_ids=[self._run_id])
            except Exception:  # noqa: BLE001 - not a table (as MLflow: only tables are returned)
                _logger.debug("artifact %s is not a table", name)
        return tables
