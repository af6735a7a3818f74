"""The MLflow model format: MLmodel metadata, signatures, input examples, environments."""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    "Model": "mlcask.models.model",
    "ModelInfo": "mlcask.models.model",
    "ModelSignature": "mlcask.models.signature",
    "infer_signature": "mlcask.models.signature",
    "set_signature": "mlcask.models.metadata",
    "sign_model": "mlcask.models.metadata",
    "verify_model": "mlcask.models.integrity",
    "validate_serving_input": "mlcask.models.serving_input",
    "convert_input_example_to_serving_input": "mlcask.models.serving_input",
    "infer_pip_requirements": "mlcask.models.environment",
    "set_model": "mlcask.models.from_code",
    "ModelConfig": "mlcask.models.from_code",
    "validate_schema": "mlcask.models.enforcement",
    "get_model_info": "mlcask.models.model",
    "update_model_requirements": "mlcask.models.requirements_update",
    # mlflow.models.evaluate and its companions: the evaluation layer sits above models (it loads
    # and scores models, logs into runs), so these are looked up by name on first use, as
    # Model.log reaches tracking (logging_hook), and models imports nothing of it.
    **{name: "mlcask.evaluation" for name in (
        "evaluate", "EvaluationArtifact", "EvaluationMetric", "EvaluationResult", "list_evaluators", "make_metric",
        "MetricThreshold")},
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
