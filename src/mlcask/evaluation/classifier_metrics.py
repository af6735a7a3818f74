"""MLflow's default classifier metrics, one function per metric key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.labels import LabelSpace

MetricFn = Callable[..., float]


def classifier_metric_functions(space: LabelSpace, *, average: str = "weighted",
                                strict: bool = False) -> dict[str, MetricFn]:
    """One ``fn(y_true, y_pred, *, y_proba=None, sample_weight=None)`` per default metric key."""
    raise NotImplementedError


def classifier_metrics(y_true: Any, y_pred: Any, y_proba: np.ndarray | None, space: LabelSpace, *,
                       average: str = "weighted", sample_weights: Any = None) -> dict[str, float]:
    """MLflow's default classifier metrics (keys and values)."""
    raise NotImplementedError


def per_class_metrics(y_true: Any, y_pred: Any, space: LabelSpace, *, y_proba: np.ndarray | None = None,
                      sample_weights: Any = None, max_classes_for_roc_pr: int = 10) -> pd.DataFrame:
    """MLflow's ``per_class_metrics.csv`` of a multiclass evaluation."""
    raise NotImplementedError
