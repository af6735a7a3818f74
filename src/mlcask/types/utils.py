"""Names MLflow users import from ``mlflow.types.utils``."""

from __future__ import annotations

from mlcask.types.inference import InvalidDataForSignatureInferenceError

__all__ = ["InvalidDataForSignatureInferenceError"]
