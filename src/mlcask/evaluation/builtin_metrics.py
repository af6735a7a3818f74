"""MLflow's ready-made extra metrics for classic models (``mlflow.metrics.mae()``, ``rmse()``, ...).

Each factory returns an :class:`~mlcask.evaluation.metric.EvaluationMetric` with MLflow's name
and direction; its function computes the value with scikit-learn (imported when it runs) and
returns None when there are no targets. ``sample_weight``, ``pos_label`` and ``average`` are
filled from ``evaluator_config`` entries of those names, as any metric parameter.
"""

from __future__ import annotations

from mlcask.evaluation.metric import EvaluationMetric, MetricValue, make_metric


def _has_targets(targets) -> bool:
    return targets is not None and len(targets) != 0


def _mae_eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import mean_absolute_error

        value = mean_absolute_error(targets, predictions, sample_weight=sample_weight)
        return MetricValue(aggregate_results={"mean_absolute_error": value})


def _mse_eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import mean_squared_error

        value = mean_squared_error(targets, predictions, sample_weight=sample_weight)
        return MetricValue(aggregate_results={"mean_squared_error": value})


def _rmse_eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import root_mean_squared_error

        value = root_mean_squared_error(targets, predictions, sample_weight=sample_weight)
        return MetricValue(aggregate_results={"root_mean_squared_error": value})


def _r2_score_eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import r2_score as sk_r2_score

        value = sk_r2_score(targets, predictions, sample_weight=sample_weight)
        return MetricValue(aggregate_results={"r2_score": value})


def _max_error_eval_fn(predictions, targets=None, metrics=None):
    if _has_targets(targets):
        from sklearn.metrics import max_error as sk_max_error

        return MetricValue(aggregate_results={"max_error": sk_max_error(targets, predictions)})


def _mape_eval_fn(predictions, targets=None, metrics=None, sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import mean_absolute_percentage_error

        value = mean_absolute_percentage_error(targets, predictions, sample_weight=sample_weight)
        return MetricValue(aggregate_results={"mean_absolute_percentage_error": value})


def _recall_eval_fn(predictions, targets=None, metrics=None, pos_label=1, average="binary",
                    sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import recall_score as sk_recall

        value = sk_recall(targets, predictions, pos_label=pos_label, average=average,
                          sample_weight=sample_weight)
        return MetricValue(aggregate_results={"recall_score": value})


def _precision_eval_fn(predictions, targets=None, metrics=None, pos_label=1, average="binary",
                       sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import precision_score as sk_precision

        value = sk_precision(targets, predictions, pos_label=pos_label, average=average,
                             sample_weight=sample_weight)
        return MetricValue(aggregate_results={"precision_score": value})


def _f1_score_eval_fn(predictions, targets=None, metrics=None, pos_label=1, average="binary",
                      sample_weight=None):
    if _has_targets(targets):
        from sklearn.metrics import f1_score as sk_f1

        value = sk_f1(targets, predictions, pos_label=pos_label, average=average,
                      sample_weight=sample_weight)
        return MetricValue(aggregate_results={"f1_score": value})


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
