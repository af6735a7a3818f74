"""MLflow's ready-made extra metrics for classic models (``mlflow.metrics.mae()``, ``rmse()``, ...).

Each factory returns an :class:`~mlcask.evaluation.metric.EvaluationMetric` with MLflow's name
and direction; its function computes the value (the regressor ones through the default
evaluator's own definitions, scikit-learn imported when it runs) and returns None when there are
no targets. ``sample_weight``, ``pos_label`` and ``average`` are
filled from ``evaluator_config`` entries of those names, as any metric parameter.
"""

from __future__ import annotations

from mlcask.evaluation.metric import EvaluationMetric, MetricValue, make_metric


def _has_targets(targets) -> bool:
    return targets is not None and len(targets) != 0


def _regression(key: str, *, weighted: bool = True):
    """The eval_fn of the default regressor metric ``key``: its one definition
    (:func:`~mlcask.evaluation.regressor_metrics.regressor_metric_functions`), with MLflow's
    parameters (``sample_weight`` from ``evaluator_config``; ``max_error`` takes none)."""
    def value(predictions, targets, sample_weight=None):
        if _has_targets(targets):
            from mlcask.evaluation.regressor_metrics import regressor_metric_functions

            score = regressor_metric_functions()[key](targets, predictions, sample_weight=sample_weight)
            return MetricValue(aggregate_results={key: score})
        return None

    if weighted:
        def eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
            return value(predictions, targets, sample_weight)
    else:
        def eval_fn(predictions, targets=None, metrics=None):
            return value(predictions, targets)
    eval_fn.__name__ = eval_fn.__qualname__ = f"_{key}_eval_fn"
    return eval_fn


_mae_eval_fn = _regression("mean_absolute_error")
_mse_eval_fn = _regression("mean_squared_error")
_rmse_eval_fn = _regression("root_mean_squared_error")
_r2_score_eval_fn = _regression("r2_score")
_max_error_eval_fn = _regression("max_error", weighted=False)
_mape_eval_fn = _regression("mean_absolute_percentage_error")


def _classification(key: str):
    """The eval_fn of scikit-learn's ``key`` (``recall_score``, ``precision_score``, ``f1_score``)
    with MLflow's parameters: ``pos_label``, ``average`` and ``sample_weight`` from ``evaluator_config``."""
    def eval_fn(predictions, targets=None, metrics=None, pos_label=1, average="binary", sample_weight=None):
        if _has_targets(targets):
            from sklearn import metrics as sk

            value = getattr(sk, key)(targets, predictions, pos_label=pos_label, average=average,
                                     sample_weight=sample_weight)
            return MetricValue(aggregate_results={key: value})
        return None

    eval_fn.__name__ = eval_fn.__qualname__ = f"_{key}_eval_fn"
    return eval_fn


_recall_eval_fn = _classification("recall_score")
_precision_eval_fn = _classification("precision_score")
_f1_score_eval_fn = _classification("f1_score")


def mae() -> EvaluationMetric:
    """The mean absolute error (``mean_absolute_error``, lower is better)."""
    return make_metric(eval_fn=_mae_eval_fn, greater_is_better=False, name="mean_absolute_error")


def mse() -> EvaluationMetric:
    """The mean squared error (``mean_squared_error``, lower is better)."""
    return make_metric(eval_fn=_mse_eval_fn, greater_is_better=False, name="mean_squared_error")


def rmse() -> EvaluationMetric:
    """The root mean squared error (``root_mean_squared_error``, lower is better)."""
    return make_metric(eval_fn=_rmse_eval_fn, greater_is_better=False, name="root_mean_squared_error")


def r2_score() -> EvaluationMetric:
    """The coefficient of determination (``r2_score``, greater is better)."""
    return make_metric(eval_fn=_r2_score_eval_fn, greater_is_better=True, name="r2_score")


def max_error() -> EvaluationMetric:
    """The largest absolute residual (``max_error``, lower is better)."""
    return make_metric(eval_fn=_max_error_eval_fn, greater_is_better=False, name="max_error")


def mape() -> EvaluationMetric:
    """The mean absolute percentage error (``mean_absolute_percentage_error``, lower is better)."""
    return make_metric(eval_fn=_mape_eval_fn, greater_is_better=False,
                       name="mean_absolute_percentage_error")


def recall_score() -> EvaluationMetric:
    """Recall (``recall_score``; ``pos_label`` 1 and ``average`` "binary" unless configured)."""
    return make_metric(eval_fn=_recall_eval_fn, greater_is_better=True, name="recall_score")


def precision_score() -> EvaluationMetric:
    """Precision (``precision_score``; ``pos_label`` 1 and ``average`` "binary" unless configured)."""
    return make_metric(eval_fn=_precision_eval_fn, greater_is_better=True, name="precision_score")


def f1_score() -> EvaluationMetric:
    """F1 (``f1_score``; ``pos_label`` 1 and ``average`` "binary" unless configured)."""
    return make_metric(eval_fn=_f1_score_eval_fn, greater_is_better=True, name="f1_score")
