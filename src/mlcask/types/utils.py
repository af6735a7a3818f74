"""Names MLflow users import from ``mlflow.types.utils``."""

from __future__ import annotations

from mlcask.types.inference import (
    MULTIPLE_TYPES_ERROR_MSG,
    InvalidDataForSignatureInferenceError,
    infer_param_schema,
    infer_schema,
)

__all__ = ["MULTIPLE_TYPES_ERROR_MSG", "InvalidDataForSignatureInferenceError", "_infer_param_schema", "_infer_schema"]

_infer_schema = infer_schema  # MLflow's names for schema and params-schema inference
_infer_param_schema = infer_param_schema
