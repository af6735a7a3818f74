"""Model validation: MLflow 3's ``MetricThreshold`` and ``validate_evaluation_results``.

The candidate's metrics are checked against absolute thresholds and, when a baseline result is
given, against the baseline's metrics (a minimum absolute or relative improvement). Every failed
check is reported at once, one line per metric, in MLflow's words.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Protocol

from mlcask.exceptions import BAD_REQUEST, INVALID_PARAMETER_VALUE, MlcaskException

_logger = logging.getLogger(__name__)


class _HasMetrics(Protocol):
    @property
    def metrics(self) -> Mapping[str, Any]: ...


class MetricThresholdClassException(MlcaskException):
    """A :class:`MetricThreshold` was given arguments it cannot use."""

    def __init__(self, _message: str) -> None:
        super().__init__("Could not instantiate MetricThreshold class: " + _message,
                         error_code=INVALID_PARAMETER_VALUE)


class ModelValidationFailedException(MlcaskException):
    """The candidate model failed at least one metric threshold (error code ``BAD_REQUEST``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=BAD_REQUEST)


class MetricThreshold:
    """The checks a metric must pass in :func:`validate_evaluation_results`.

    Parameters
    ----------
    threshold : int or float, optional
        The value the metric must reach: ``>= threshold`` when greater is better, else ``<=``.
    min_absolute_change : int or float, optional
        A positive number: the candidate must beat the baseline by at least this much.
    min_relative_change : float, optional
        Between 0 and 1: the candidate must beat the baseline by at least this fraction of the
        baseline's magnitude. With a baseline of 0, the candidate must merely be better (by 1e-10).
    greater_is_better : bool
        Required: whether a greater value of the metric is better.

    Raises
    ------
    MetricThresholdClassException
        (an ``MlcaskException``) when an argument has the wrong type or range, or no check is given.
    """

    def __init__(self, threshold: float | None = None, min_absolute_change: float | None = None,
                 min_relative_change: float | None = None, greater_is_better: bool | None = None) -> None:
        # exact types, as MLflow: a bool or a numpy scalar is not accepted as a number here
        if threshold is not None and type(threshold) not in {int, float}:
            raise MetricThresholdClassException("`threshold` parameter must be a number.")
        if min_absolute_change is not None and (
                type(min_absolute_change) not in {int, float} or min_absolute_change <= 0):
            raise MetricThresholdClassException("`min_absolute_change` parameter must be a positive number.")
        if min_relative_change is not None:
            if not isinstance(min_relative_change, float):
                raise MetricThresholdClassException(
                    "`min_relative_change` parameter must be a floating point number.")
            if not 0 <= min_relative_change <= 1:
                raise MetricThresholdClassException("`min_relative_change` parameter must be between 0 and 1.")
        if greater_is_better is None:
            raise MetricThresholdClassException("`greater_is_better` parameter must be defined.")
        if not isinstance(greater_is_better, bool):
            raise MetricThresholdClassException("`greater_is_better` parameter must be a boolean.")
        if threshold is None and min_absolute_change is None and min_relative_change is None:
            raise MetricThresholdClassException("no threshold was specified.")
        self._threshold = threshold
        self._min_absolute_change = min_absolute_change
        self._min_relative_change = min_relative_change
        self._greater_is_better = greater_is_better

    @property
    def threshold(self) -> float | None:
        """The value threshold."""
        return self._threshold

    @property
    def min_absolute_change(self) -> float | None:
        """The minimum absolute improvement over the baseline."""
        return self._min_absolute_change

    @property
    def min_relative_change(self) -> float | None:
        """The minimum relative improvement over the baseline."""
        return self._min_relative_change

    @property
    def greater_is_better(self) -> bool:
        """Whether a greater value is better."""
        return self._greater_is_better

    def __str__(self) -> str:
        parts = []
        if self._threshold is not None:
            parts.append(f"Threshold: {self._threshold}.")
        if self._min_absolute_change is not None:
            parts.append(f"Minimum Absolute Change: {self._min_absolute_change}.")
        if self._min_relative_change is not None:
            parts.append(f"Minimum Relative Change: {self._min_relative_change}.")
        parts.append("Greater value is better." if self._greater_is_better else "Lower value is better.")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (f"MetricThreshold(threshold={self._threshold!r}, "
                f"min_absolute_change={self._min_absolute_change!r}, "
                f"min_relative_change={self._min_relative_change!r}, "
                f"greater_is_better={self._greater_is_better!r})")


def validate_evaluation_results(validation_thresholds: dict[str, MetricThreshold],
                                candidate_result: _HasMetrics,
                                baseline_result: _HasMetrics | None = None) -> None:
    """Check a candidate model's evaluation result against thresholds and a baseline's result.

    Parameters
    ----------
    validation_thresholds : dict of str to MetricThreshold
        Metric key (as in ``result.metrics``) to the checks it must pass.
    candidate_result : EvaluationResult
        What ``evaluate`` returned for the candidate model (anything with a ``metrics`` dict).
    baseline_result : EvaluationResult, optional
        What ``evaluate`` returned for the baseline model; needed by ``min_absolute_change`` and
        ``min_relative_change``.

    Raises
    ------
    MlcaskException
        When ``validation_thresholds`` is not a dict of str to MetricThreshold.
    ModelValidationFailedException
        When any check fails: one line per failing metric, in MLflow's words.
    """
    if type(validation_thresholds) is not dict or not all(
            type(k) is str and isinstance(v, MetricThreshold) for k, v in validation_thresholds.items()):
        raise MlcaskException("The validation thresholds argument must be a dictionary that maps strings "
                              "to MetricThreshold objects.", error_code=INVALID_PARAMETER_VALUE)
    _logger.info("Validating candidate model metrics against baseline")
    baseline = baseline_result.metrics if baseline_result else {}
    failures = [message for name, threshold in validation_thresholds.items()
                if (message := _check_metric(name, threshold, candidate_result.metrics, baseline))]
    if failures:
        raise ModelValidationFailedException(os.linesep.join(failures))
    _logger.info("Model validation passed!")


def _check_metric(name: str, threshold: MetricThreshold, candidate: Mapping[str, Any],
                  baseline: Mapping[str, Any]) -> str | None:
    """The failure line for one metric, or None when it passes."""
    if name not in candidate:
        return (f"Metric validation failed: metric {name} was missing from the evaluation result "
                "of the candidate model.")
    value = candidate[name]
    base = baseline.get(name)  # MLflow 3.17 raises KeyError here for a baseline without the metric
    better = threshold.greater_is_better
    failed = []
    if threshold.threshold is not None and not _at_least_as_good(value, threshold.threshold, better):
        failed.append(f"Metric {name} value threshold check failed: candidate model {name} = {value}, "
                      f"{name} threshold = {threshold.threshold}.")
    if (threshold.min_relative_change or threshold.min_absolute_change) and name not in baseline:
        failed.append(f"Model comparison failed: metric {name} was missing from the evaluation result "
                      "of the baseline model.")
        return " ".join(failed)
    compared = f"candidate model {name} = {value}, baseline model {name} = {base}"
    change = threshold.min_absolute_change
    if change is not None and not _at_least_as_good(value, base + change if better else base - change, better):
        failed.append(f"Metric {name} minimum absolute change check failed: {compared}, "
                      f"{name} minimum absolute change threshold = {change}.")
    if threshold.min_relative_change is not None and not _relative_change_ok(name, value, base, threshold):
        failed.append(f"Metric {name} minimum relative change check failed: {compared}, "
                      f"{name} minimum relative change threshold = {threshold.min_relative_change}.")
    return " ".join(failed) or None


def _at_least_as_good(value: Any, bound: Any, greater_is_better: bool) -> bool:
    # float comparison is exact, as MLflow's Decimal(float) one; NaN fails rather than raising
    return float(value) >= float(bound) if greater_is_better else float(value) <= float(bound)


def _relative_change_ok(name: str, value: Any, base: Any, threshold: MetricThreshold) -> bool:
    better = threshold.greater_is_better
    if base == 0:
        _logger.warning(
            f"Cannot perform relative model comparison for metric {name} as baseline metric value is 0. "
            "Falling back to simple comparison: verifying that candidate metric value is better than "
            "the baseline metric value.")
        return _at_least_as_good(value, base + 1e-10 if better else base - 1e-10, better)
    change = (value - base) / abs(base) if better else (base - value) / abs(base)
    return not change < threshold.min_relative_change
