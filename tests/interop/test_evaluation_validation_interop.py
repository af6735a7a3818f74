"""Model validation and extra metrics agree with real MLflow: same pass/fail, same message lines,
same extra-metric keys and values, same missing-parameter error (one MLflow child for all)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from bench.mlflow_env import run_in_mlflow

pytestmark = pytest.mark.interop

T = {"greater_is_better": True}
L = {"greater_is_better": False}
# name -> (thresholds as MetricThreshold kwargs, candidate metrics, baseline metrics or None)
VALIDATION_CASES = {
    "pass_all": ({"acc": {"threshold": 0.8, "min_absolute_change": 0.05, **T},
                  "loss": {"threshold": 0.5, "min_relative_change": 0.1, **L}},
                 {"acc": 0.9, "loss": 0.3}, {"acc": 0.85, "loss": 0.34}),
    "threshold_fail_both_ways": ({"acc": {"threshold": 0.9, **T}, "mse": {"threshold": 1, **L}},
                                 {"acc": 0.85, "mse": 1.5}, None),
    "equal_threshold": ({"acc": {"threshold": 0.5, **T}, "mse": {"threshold": 0.5, **L}},
                        {"acc": 0.5, "mse": 0.5}, None),
    "absolute_fail": ({"f1": {"min_absolute_change": 0.05, **T}}, {"f1": 0.78}, {"f1": 0.74}),
    "absolute_lower_pass": ({"mae": {"min_absolute_change": 0.1, **L}}, {"mae": 0.3}, {"mae": 0.45}),
    "relative_lower_fail": ({"rmse": {"min_relative_change": 0.1, **L}}, {"rmse": 0.95}, {"rmse": 1.0}),
    "relative_negative_baseline_pass": ({"r2": {"min_relative_change": 0.2, **T}}, {"r2": -0.5}, {"r2": -1.0}),
    "relative_negative_baseline_fail": ({"r2": {"min_relative_change": 0.2, **T}}, {"r2": -1.1}, {"r2": -1.0}),
    "relative_zero_baseline": ({"m": {"min_relative_change": 0.5, **T}}, {"m": 0.0}, {"m": 0.0}),
    "relative_zero_baseline_pass": ({"m": {"min_relative_change": 0.5, **T}}, {"m": 0.001}, {"m": 0}),
    "missing_candidate_and_baseline": ({"recall": {"threshold": 0.5, **T},
                                        "precision": {"threshold": 0.9, "min_absolute_change": 0.01, **T}},
                                       {"precision": 0.8}, {"recall": 0.7, "precision": 0.9}),
    "no_baseline_for_comparison": ({"m": {"min_absolute_change": 1, **T}}, {"m": 1.0}, None),
    "all_checks_one_metric": ({"acc": {"threshold": 0.9, "min_absolute_change": 0.1, "min_relative_change": 0.5,
                                       **T}}, {"acc": 0.6}, {"acc": 0.55}),
}
BAD_THRESHOLDS = [
    {"threshold": "1", **T}, {"threshold": True, **T}, {"min_absolute_change": 0, **T},
    {"min_relative_change": 1, **T}, {"min_relative_change": 1.5, **T}, {"threshold": 0.5},
    {"threshold": 0.5, "greater_is_better": 1}, {**T},
]

# The extra metrics, the same source in both interpreters (make_metric and MetricValue given).
METRICS_SRC = r'''
import numpy as np


def build_metrics(make_metric, MetricValue):
    def double_error(predictions, targets):
        return float(np.mean(np.abs(predictions - targets))) * 2

    def derived(predictions, double_error, r2_score):
        return double_error.aggregate_results["double_error"] + r2_score.aggregate_results["r2_score"]

    def weighted(predictions, targets, weight_col, power):
        return float(np.sum(np.abs(predictions - targets) ** power * weight_col) / np.sum(weight_col))

    def per_row(predictions, targets):
        return MetricValue(scores=[float(v) for v in np.abs(predictions - targets)])

    def legacy(eval_df, builtin_metrics):
        return builtin_metrics["mean_absolute_error"] + len(eval_df)

    def nothing(predictions):
        return None

    return [make_metric(eval_fn=derived, greater_is_better=True),
            make_metric(eval_fn=double_error, greater_is_better=False),
            make_metric(eval_fn=weighted, greater_is_better=False, version="v2"),
            make_metric(eval_fn=per_row, greater_is_better=False),
            make_metric(eval_fn=legacy, greater_is_better=True),
            make_metric(eval_fn=nothing, greater_is_better=True)]


def needs_missing(predictions, nowhere, elsewhere=None, other=None):
    return 1.0


def data_frame(pd):
    rng = np.random.default_rng(3)
    x = rng.normal(size=120)
    return pd.DataFrame({"x": x, "w": rng.uniform(1.0, 2.0, size=120),
                         "y": 2 * x + rng.normal(size=120) * 0.3, "pred": 2 * x})
'''

CONFIG = {"col_mapping": {"weight_col": "w"}, "power": 2, "metric_prefix": "p_"}

CHILD = r'''
import json, logging, os, sys, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import pandas as pd
import mlflow
from mlflow.metrics import MetricValue
from mlflow.models import EvaluationResult, MetricThreshold, make_metric
from mlflow.models.evaluation.validation import validate_evaluation_results

spec = json.loads(sys.argv[1] if len(sys.argv) > 1 else open("spec.json").read())
out = {"validation": {}, "bad": []}
for name, (thresholds, candidate, baseline) in spec["validation"].items():
    try:
        validate_evaluation_results({k: MetricThreshold(**v) for k, v in thresholds.items()},
                                    EvaluationResult(candidate, {}),
                                    None if baseline is None else EvaluationResult(baseline, {}))
        out["validation"][name] = None
    except Exception as e:
        out["validation"][name] = [type(e).__name__, e.error_code, e.message]
for kwargs in spec["bad"]:
    try:
        MetricThreshold(**kwargs)
        out["bad"].append(None)
    except Exception as e:
        out["bad"].append([type(e).__name__, e.error_code, e.message])

exec(spec["metrics_src"])
df = data_frame(pd)
with mlflow.start_run():
    result = mlflow.evaluate(data=df, predictions="pred", targets="y", model_type="regressor",
                             extra_metrics=build_metrics(make_metric, MetricValue),
                             evaluator_config=spec["config"])
out["metrics"] = {k: float(v) for k, v in result.metrics.items()}
try:
    with mlflow.start_run():
        mlflow.evaluate(data=df, predictions="pred", targets="y", model_type="regressor",
                        extra_metrics=[make_metric(eval_fn=needs_missing, greater_is_better=True)])
except Exception as e:
    out["missing"] = [type(e).__name__, e.error_code, e.message]
print("RESULT:" + json.dumps(out))
'''


@pytest.fixture(scope="module")
def mlflow_out(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("mlflow_validation")
    spec = {"validation": VALIDATION_CASES, "bad": BAD_THRESHOLDS, "metrics_src": METRICS_SRC, "config": CONFIG}
    (cwd / "spec.json").write_text(json.dumps(spec))
    stdout = run_in_mlflow(CHILD, cwd=cwd)
    line = next(line for line in stdout.splitlines() if line.startswith("RESULT:"))
    return json.loads(line[len("RESULT:"):])


def _mlcask_validation(thresholds, candidate, baseline):
    from mlcask.evaluation.validation import MetricThreshold, validate_evaluation_results

    class Result:
        def __init__(self, metrics):
            self.metrics = metrics

    try:
        validate_evaluation_results({k: MetricThreshold(**v) for k, v in thresholds.items()}, Result(candidate),
                                    None if baseline is None else Result(baseline))
    except Exception as e:
        return [type(e).__name__, e.error_code, e.message]
    return None


@pytest.mark.parametrize("case", sorted(VALIDATION_CASES))
def test_validation_same_outcome_and_message_lines(mlflow_out, case):
    ours = _mlcask_validation(*VALIDATION_CASES[case])
    theirs = mlflow_out["validation"][case]
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours[:2] == theirs[:2] == ["ModelValidationFailedException", "BAD_REQUEST"]
        assert ours[2].split(os.linesep) == theirs[2].split(os.linesep)


def test_metric_threshold_argument_errors_as_mlflow(mlflow_out):
    from mlcask.evaluation.validation import MetricThreshold

    ours = []
    for kwargs in BAD_THRESHOLDS:
        try:
            MetricThreshold(**kwargs)
            ours.append(None)
        except Exception as e:
            ours.append([type(e).__name__, e.error_code, e.message])
    assert ours == mlflow_out["bad"]


def _mlcask_extra_metrics(metrics_src):
    from mlcask.evaluation.metric import MetricValue, aggregate_metric_values, evaluate_extra_metrics, make_metric

    namespace: dict = {}
    exec(metrics_src, namespace)
    df = namespace["data_frame"](pd)
    y, pred = df["y"].to_numpy(), df["pred"]
    builtin = {"mean_absolute_error": sk.mean_absolute_error(y, pred), "r2_score": sk.r2_score(y, pred)}

    def run(metrics, config):
        return evaluate_extra_metrics(metrics, predictions=pred, targets=y, input_df=df[["x", "w"]],
                                      other_outputs=None, builtin_metrics=builtin,
                                      col_mapping=config.get("col_mapping", {}), evaluator_config=config,
                                      predictions_name="pred", targets_name="y")

    values = run(namespace["build_metrics"](make_metric, MetricValue), CONFIG)
    flat = aggregate_metric_values(values, prefix=CONFIG["metric_prefix"])
    try:
        run([make_metric(eval_fn=namespace["needs_missing"], greater_is_better=True)], {})
        missing = None
    except Exception as e:
        missing = [type(e).__name__, e.error_code, e.message]
    return flat, missing


def test_extra_metrics_same_keys_and_values(mlflow_out):
    ours, _ = _mlcask_extra_metrics(METRICS_SRC)
    builtin_keys = {"p_example_count", "p_mean_absolute_error", "p_mean_squared_error", "p_root_mean_squared_error",
                    "p_sum_on_target", "p_mean_on_target", "p_r2_score", "p_max_error",
                    "p_mean_absolute_percentage_error"}
    theirs = {k: v for k, v in mlflow_out["metrics"].items() if k not in builtin_keys}
    assert list(ours) == list(theirs)  # same keys, same order (dependency order)
    assert np.allclose([ours[k] for k in theirs], list(theirs.values()), rtol=1e-12, atol=0)


def test_missing_parameter_error_same_text(mlflow_out):
    _, ours = _mlcask_extra_metrics(METRICS_SRC)
    assert ours is not None
    assert ours[1:] == mlflow_out["missing"][1:]
