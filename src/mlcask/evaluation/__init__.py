"""Model evaluation: MLflow's ``evaluate`` (metrics, plots, explanations) and a Responsible-AI report.

``import mlcask.evaluation`` is cheap: the names below load their modules (and scikit-learn,
matplotlib, fairlearn, shap where needed) on first use.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    "evaluate": "mlcask.evaluation.evaluator",
    "list_evaluators": "mlcask.evaluation.evaluator",
    "EvaluationResult": "mlcask.evaluation.result",
    "EvaluationArtifact": "mlcask.evaluation.result",
    "make_metric": "mlcask.evaluation.metric",
    "MetricValue": "mlcask.evaluation.metric",
    "EvaluationMetric": "mlcask.evaluation.metric",
    "MetricThreshold": "mlcask.evaluation.validation",
    "validate_evaluation_results": "mlcask.evaluation.validation",
    "ModelValidationFailedException": "mlcask.evaluation.validation",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, __all__)
