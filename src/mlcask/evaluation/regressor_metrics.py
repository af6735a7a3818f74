"""MLflow's default regressor metrics, one function per metric key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MetricFn = Callable[..., float]


def regressor_metric_functions() -> dict[str, MetricFn]:
    """One ``fn(y_true, y_pred, *, y_proba=None, sample_weight=None)`` per default metric key."""
    raise NotImplementedError


def regressor_metrics(y_true: Any, y_pred: Any, *, sample_weights: Any = None) -> dict[str, float]:
    """MLflow's default regressor metrics (keys and values)."""
    raise NotImplementedError
