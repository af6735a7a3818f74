"""MLflow's default regressor metrics, one function per metric key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

MetricFn = Callable[..., float]


def _sum_on_target(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> float:
    y = np.asarray(y_true)
    if sample_weight is not None:
        total = (y * np.asarray(sample_weight)).sum()
    elif y.size == 0:
        total = 0
    else:
        # MLflow adds the targets one after the other (Python's sum), not pairwise as
        # ndarray.sum does; a cumulative sum adds in that same order, at numpy's speed.
        total = np.cumsum(y)[-1]
    return total.item() if isinstance(total, np.generic) else total


def _mean_on_target(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> float:
    return _sum_on_target(y_true, y_pred, sample_weight=sample_weight) / len(y_true)


def _numeric(values: np.ndarray, name: str) -> np.ndarray:
    from mlcask.exceptions import MlcaskException

    if values.dtype.kind in "biuf":
        return values
    try:
        if values.dtype.kind != "O":
            raise ValueError(values.dtype)
        return values.astype(float)
    except (TypeError, ValueError) as e:
        raise MlcaskException(
            f"A regressor evaluation needs numeric {name}; got values of type {values.dtype} "
            f"(for example {values[:3].tolist()}). Is model_type 'classifier' meant?",
            "INVALID_PARAMETER_VALUE",
        ) from e


def regressor_metric_functions() -> dict[str, MetricFn]:
    """One function per default regressor metric key (MLflow's names, order and definitions).

    Returns
    -------
    dict
        key -> ``fn(y_true, y_pred, *, y_proba=None, sample_weight=None)`` (``y_proba`` is
        ignored). ``max_error`` ignores the weights, as MLflow's.
    """
    from sklearn import metrics as sk

    def weighted(score: Callable) -> MetricFn:
        def fn(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> float:
            return float(score(y_true, y_pred, sample_weight=sample_weight))
        return fn

    def max_error(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> float:
        return float(sk.max_error(y_true, y_pred))

    def example_count(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> int:
        return len(y_true)

    return {
        "example_count": example_count,
        "mean_absolute_error": weighted(sk.mean_absolute_error),
        "mean_squared_error": weighted(sk.mean_squared_error),
        "root_mean_squared_error": weighted(sk.root_mean_squared_error),
        "sum_on_target": _sum_on_target,
        "mean_on_target": _mean_on_target,
        "r2_score": weighted(sk.r2_score),
        "max_error": max_error,
        "mean_absolute_percentage_error": weighted(sk.mean_absolute_percentage_error),
    }


def regressor_metrics(y_true: Any, y_pred: Any, *, sample_weights: Any = None) -> dict[str, float]:
    """MLflow's default regressor metrics: the same keys, values and value types.

    ``sum_on_target`` is the (weighted) sum of the targets and keeps their type (an ``int``
    for integer targets), ``mean_on_target`` that sum over the row count; the others are
    scikit-learn's, weighted by ``sample_weights`` except ``max_error``.
    """
    from mlcask.exceptions import MlcaskException

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if len(y_true) != len(y_pred):
        raise MlcaskException(
            f"The targets ({len(y_true)} rows) and the predictions ({len(y_pred)} rows) differ in length.",
            "INVALID_PARAMETER_VALUE",
        )
    y_true, y_pred = (_numeric(values, name) for name, values in (("targets", y_true), ("predictions", y_pred)))
    return {key: fn(y_true, y_pred, sample_weight=sample_weights)
            for key, fn in regressor_metric_functions().items()}
