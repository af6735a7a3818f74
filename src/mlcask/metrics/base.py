"""``mlflow.metrics.base``: :class:`MetricValue` and the aggregations of per-row scores."""

from __future__ import annotations

from mlcask.evaluation.metric import MetricValue, standard_aggregations

__all__ = ["MetricValue", "standard_aggregations"]
