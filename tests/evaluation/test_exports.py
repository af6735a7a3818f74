"""MLflow's import paths of evaluate and its companions reach the one mlcask implementation."""

from __future__ import annotations

import subprocess
import sys

import mlcask
from mlcask import evaluation


def test_mlflow_paths_are_the_evaluation_packages_objects():
    from mlcask.metrics import MetricValue, mae, make_metric
    from mlcask.metrics.base import MetricValue as BaseMetricValue
    from mlcask.models import EvaluationResult, MetricThreshold, list_evaluators
    from mlcask.models import evaluate as models_evaluate
    from mlcask.models.evaluation import ModelValidationFailedException

    assert mlcask.evaluate is models_evaluate is evaluation.evaluate
    assert mlcask.validate_evaluation_results is evaluation.validate_evaluation_results
    assert MetricThreshold is evaluation.MetricThreshold and EvaluationResult is evaluation.EvaluationResult
    assert make_metric is evaluation.make_metric and MetricValue is BaseMetricValue is evaluation.MetricValue
    assert ModelValidationFailedException is evaluation.ModelValidationFailedException
    assert list_evaluators() == ["default", "classifier", "regressor", "shap"]
    assert mae().name == "mean_absolute_error" and mae().greater_is_better is False


def test_the_names_load_nothing_heavy_until_used():
    code = ("import sys, mlcask, mlcask.models, mlcask.metrics, mlcask.models.evaluation; "
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'fairlearn', 'shap') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
