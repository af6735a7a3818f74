"""``mlflow.metrics``: custom metrics for ``evaluate`` (``make_metric``, ``MetricValue``) and the
built-in ones for classic models (``mae()``, ``rmse()``, ...), from :mod:`mlcask.evaluation`."""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    "make_metric": "mlcask.evaluation.metric",
    "EvaluationMetric": "mlcask.evaluation.metric",
    "MetricValue": "mlcask.evaluation.metric",
    **{name: "mlcask.evaluation.builtin_metrics" for name in (
        "mae", "mse", "rmse", "r2_score", "max_error", "mape", "recall_score", "precision_score", "f1_score")},
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
