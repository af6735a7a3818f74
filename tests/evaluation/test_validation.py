"""MetricThreshold and validate_evaluation_results: MLflow 3's checks and failure messages."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pytest

from mlcask.evaluation.validation import (
    MetricThreshold,
    MetricThresholdClassException,
    ModelValidationFailedException,
    validate_evaluation_results,
)
from mlcask.exceptions import MlcaskException


@dataclass
class Result:  # anything with a .metrics dict, as EvaluationResult
    metrics: dict = field(default_factory=dict)


def failure(thresholds, candidate, baseline=None) -> list[str]:
    with pytest.raises(ModelValidationFailedException) as err:
        validate_evaluation_results(thresholds, Result(candidate), None if baseline is None else Result(baseline))
    assert err.value.error_code == "BAD_REQUEST"
    assert isinstance(err.value, MlcaskException)
    return err.value.message.split(os.linesep)


# --- MetricThreshold --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": "1", "greater_is_better": True}, "`threshold` parameter must be a number."),
    ({"threshold": True, "greater_is_better": True}, "`threshold` parameter must be a number."),
    ({"threshold": np.float64(0.5), "greater_is_better": True}, "`threshold` parameter must be a number."),
    ({"min_absolute_change": 0, "greater_is_better": True},
     "`min_absolute_change` parameter must be a positive number."),
    ({"min_absolute_change": -0.1, "greater_is_better": True},
     "`min_absolute_change` parameter must be a positive number."),
    ({"min_relative_change": 1, "greater_is_better": True},
     "`min_relative_change` parameter must be a floating point number."),
    ({"min_relative_change": 1.5, "greater_is_better": True},
     "`min_relative_change` parameter must be between 0 and 1."),
    ({"threshold": 0.5}, "`greater_is_better` parameter must be defined."),
    ({"threshold": 0.5, "greater_is_better": 1}, "`greater_is_better` parameter must be a boolean."),
    ({"greater_is_better": True}, "no threshold was specified."),
])
def test_metric_threshold_argument_checks(kwargs, message):
    with pytest.raises(MetricThresholdClassException) as err:
        MetricThreshold(**kwargs)
    assert err.value.message == "Could not instantiate MetricThreshold class: " + message
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_metric_threshold_properties_and_str():
    t = MetricThreshold(threshold=0.8, min_absolute_change=0.05, min_relative_change=0.1, greater_is_better=True)
    assert (t.threshold, t.min_absolute_change, t.min_relative_change, t.greater_is_better) == (0.8, 0.05, 0.1, True)
    assert str(t) == ("Threshold: 0.8. Minimum Absolute Change: 0.05. Minimum Relative Change: 0.1. "
                      "Greater value is better.")
    assert str(MetricThreshold(threshold=3, greater_is_better=False)) == "Threshold: 3. Lower value is better."


# --- validation -------------------------------------------------------------------------------

def test_passing_thresholds_raise_nothing(caplog):
    thresholds = {
        "accuracy_score": MetricThreshold(threshold=0.8, min_absolute_change=0.05, greater_is_better=True),
        "log_loss": MetricThreshold(threshold=0.5, min_relative_change=0.1, greater_is_better=False),
    }
    with caplog.at_level(logging.INFO, logger="mlcask.evaluation.validation"):
        validate_evaluation_results(thresholds, Result({"accuracy_score": 0.9, "log_loss": 0.3}),
                                    Result({"accuracy_score": 0.85, "log_loss": 0.34}))
    assert "Model validation passed!" in caplog.text


def test_absolute_threshold_failures_both_directions():
    lines = failure({"accuracy_score": MetricThreshold(threshold=0.9, greater_is_better=True),
                     "mean_squared_error": MetricThreshold(threshold=1, greater_is_better=False)},
                    {"accuracy_score": 0.85, "mean_squared_error": 1.5})
    assert lines == [
        "Metric accuracy_score value threshold check failed: candidate model accuracy_score = 0.85, "
        "accuracy_score threshold = 0.9.",
        "Metric mean_squared_error value threshold check failed: candidate model mean_squared_error = 1.5, "
        "mean_squared_error threshold = 1.",
    ]


def test_equal_to_the_threshold_passes():
    validate_evaluation_results({"m": MetricThreshold(threshold=0.5, greater_is_better=True),
                                 "n": MetricThreshold(threshold=0.5, greater_is_better=False)},
                                Result({"m": 0.5, "n": 0.5}))


def test_absolute_change_against_baseline():
    threshold = {"f1_score": MetricThreshold(min_absolute_change=0.05, greater_is_better=True)}
    validate_evaluation_results(threshold, Result({"f1_score": 0.8}), Result({"f1_score": 0.74}))
    assert failure(threshold, {"f1_score": 0.78}, {"f1_score": 0.74}) == [
        "Metric f1_score minimum absolute change check failed: candidate model f1_score = 0.78, "
        "baseline model f1_score = 0.74, f1_score minimum absolute change threshold = 0.05."]


def test_relative_change_lower_is_better_and_negative_baseline():
    rmse = {"rmse": MetricThreshold(min_relative_change=0.1, greater_is_better=False)}
    validate_evaluation_results(rmse, Result({"rmse": 0.89}), Result({"rmse": 1.0}))
    assert failure(rmse, {"rmse": 0.95}, {"rmse": 1.0}) == [
        "Metric rmse minimum relative change check failed: candidate model rmse = 0.95, "
        "baseline model rmse = 1.0, rmse minimum relative change threshold = 0.1."]
    # r2 below 0: the change is taken on the baseline's magnitude, so improving from -1 to -0.5 passes
    r2 = {"r2_score": MetricThreshold(min_relative_change=0.2, greater_is_better=True)}
    validate_evaluation_results(r2, Result({"r2_score": -0.5}), Result({"r2_score": -1.0}))
    assert len(failure(r2, {"r2_score": -1.1}, {"r2_score": -1.0})) == 1


def test_relative_change_with_zero_baseline_falls_back_to_better_than(caplog):
    t = {"m": MetricThreshold(min_relative_change=0.5, greater_is_better=True)}
    with caplog.at_level(logging.WARNING, logger="mlcask.evaluation.validation"):
        validate_evaluation_results(t, Result({"m": 0.001}), Result({"m": 0}))
    assert "Cannot perform relative model comparison for metric m as baseline metric value is 0." in caplog.text
    assert failure(t, {"m": 0.0}, {"m": 0.0})[0].startswith("Metric m minimum relative change check failed")


def test_missing_candidate_and_missing_baseline_metrics():
    thresholds = {
        "recall_score": MetricThreshold(threshold=0.5, greater_is_better=True),
        "precision_score": MetricThreshold(threshold=0.9, min_absolute_change=0.01, greater_is_better=True),
    }
    # a baseline result without the metric: MLflow 3.17 raises KeyError('precision_score') here (its
    # lookup comes before its own missing-baseline check); mlcask gives the message MLflow means
    lines = failure(thresholds, {"precision_score": 0.8}, {"accuracy_score": 0.7})
    assert lines == [
        "Metric validation failed: metric recall_score was missing from the evaluation result of the "
        "candidate model.",
        "Metric precision_score value threshold check failed: candidate model precision_score = 0.8, "
        "precision_score threshold = 0.9. Model comparison failed: metric precision_score was missing "
        "from the evaluation result of the baseline model.",
    ]
    # no baseline at all: comparisons are reported as missing, thresholds still checked
    assert failure({"m": MetricThreshold(min_absolute_change=1, greater_is_better=True)}, {"m": 1.0}) == [
        "Model comparison failed: metric m was missing from the evaluation result of the baseline model."]


def test_all_checks_of_one_metric_on_one_line():
    t = {"acc": MetricThreshold(threshold=0.9, min_absolute_change=0.1, min_relative_change=0.5,
                                greater_is_better=True)}
    (line,) = failure(t, {"acc": 0.6}, {"acc": 0.55})
    assert line == (
        "Metric acc value threshold check failed: candidate model acc = 0.6, acc threshold = 0.9. "
        "Metric acc minimum absolute change check failed: candidate model acc = 0.6, baseline model "
        "acc = 0.55, acc minimum absolute change threshold = 0.1. "
        "Metric acc minimum relative change check failed: candidate model acc = 0.6, baseline model "
        "acc = 0.55, acc minimum relative change threshold = 0.5.")


def test_numpy_metric_values_and_nan():
    t = {"m": MetricThreshold(threshold=0.5, min_absolute_change=0.1, greater_is_better=True)}
    validate_evaluation_results(t, Result({"m": np.float64(0.7)}), Result({"m": np.int64(0)}))
    assert failure(t, {"m": float("nan")}, {"m": 0.2})[0].startswith(
        "Metric m value threshold check failed: candidate model m = nan")


@pytest.mark.parametrize("thresholds", [
    [("m", MetricThreshold(threshold=1, greater_is_better=True))],
    {1: MetricThreshold(threshold=1, greater_is_better=True)},
    {"m": {"threshold": 1}},
])
def test_thresholds_must_map_strings_to_metric_thresholds(thresholds):
    with pytest.raises(MlcaskException) as err:
        validate_evaluation_results(thresholds, Result({"m": 2}))
    assert err.value.message == ("The validation thresholds argument must be a dictionary that maps "
                                 "strings to MetricThreshold objects.")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
