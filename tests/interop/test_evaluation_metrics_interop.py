"""The default evaluators' metric values and curves agree with real MLflow 3.17 (1e-9 relative).

One child process of the pinned MLflow venv computes, on fixed arrays: ``mlflow.evaluate``
with ``model=None`` and a predictions column (the whole label-inference and metric flow, no
probabilities), and MLflow's evaluator internals for what needs probabilities (the classifier
evaluator's label rules and built-in metrics, its per-class table and curves, the lift gains).
mlcask's functions must give the same keys, the same value kinds (int / float) and the same
values.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench.mlflow_env import run_in_mlflow
from mlcask.evaluation.classifier_metrics import classifier_metrics, per_class_metrics
from mlcask.evaluation.curves import gain_lift, pr_curves, roc_curves
from mlcask.evaluation.labels import label_space
from mlcask.evaluation.regressor_metrics import regressor_metrics

pytestmark = pytest.mark.interop

# Runs in both interpreters: builds the same arrays from fixed seeds (numpy only).
CASES_SRC = r'''
import numpy as np


def _binary(seed, n=400, labels=(0, 1)):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 3)  # rounded: ties in the scores, as real models have
    truth = rng.random(n) < p
    y_true = np.where(truth, labels[1], labels[0])
    y_pred = np.where(p > 0.45, labels[1], labels[0])
    return y_true, y_pred, np.column_stack([1 - p, p]), rng.uniform(0.2, 3.0, n)


def _multiclass(seed, labels, n=600):
    rng = np.random.default_rng(seed)
    k = len(labels)
    codes = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), codes] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(labels)
    return labels[codes], labels[proba.argmax(axis=1)], proba, rng.uniform(0.2, 3.0, n)


def classifier_cases():
    cases = []
    yt, yp, pr, w = _binary(1)
    cases.append(("binary", yt, yp, pr, {}))
    cases.append(("binary_pos0", yt, yp, pr, {"pos_label": 0}))
    cases.append(("binary_weights", yt, yp, pr, {"sample_weights": w}))
    cases.append(("binary_pos0_weights", yt, yp, pr, {"pos_label": 0, "sample_weights": w}))
    cases.append(("binary_label_list", yt, yp, pr, {"label_list": [1, 0]}))
    yt, yp, pr, w = _binary(2, labels=("no", "yes"))
    cases.append(("binary_str", yt, yp, pr, {}))
    cases.append(("binary_str_pos_no_weights", yt, yp, pr, {"pos_label": "no", "sample_weights": w}))
    yt, yp, pr, w = _multiclass(3, [0, 1, 2, 3])
    for average in ("weighted", "macro", "micro"):
        cases.append((f"multi_{average}", yt, yp, pr, {"average": average}))
    cases.append(("multi_weights", yt, yp, pr, {"sample_weights": w}))
    cases.append(("multi_macro_weights", yt, yp, pr, {"average": "macro", "sample_weights": w}))
    yt, yp, pr, w = _multiclass(4, ["bird", "cat", "dog"])
    cases.append(("multi_str", yt, yp, pr, {}))
    cases.append(("multi_str_weights", yt, yp, pr, {"average": "macro", "sample_weights": w}))
    return cases


def regressor_cases():
    rng = np.random.default_rng(5)
    y = rng.normal(3.0, 2.0, 500)
    pred = y + rng.normal(0, 0.7, 500)
    w = rng.uniform(0.2, 3.0, 500)
    ints = rng.integers(1, 50, 500)
    return [
        ("reg", y, pred, {}),
        ("reg_weights", y, pred, {"sample_weights": w}),
        ("reg_int_targets", ints, ints + rng.normal(0, 2, 500), {}),
        ("reg_int_targets_weights", ints, ints * 1.1, {"sample_weights": w}),
    ]
'''

MLFLOW_CHILD = CASES_SRC + r'''
import json
import warnings

import pandas as pd

import mlflow
from mlflow.models.evaluation.evaluators.classifier import (
    ClassifierEvaluator,
    _gen_classifier_curve,
    _get_classifier_per_class_metrics_collection_df,
)
from mlflow.models.evaluation.evaluators.regressor import _get_regressor_metrics
from mlflow.models.evaluation.lift_curve import _cumulative_gain_curve

warnings.simplefilter("ignore")


def kinds(metrics):
    out = {}
    for key, value in metrics.items():
        kind = "int" if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else "float"
        out[key] = [kind, float(value)]
    return out


def builtin(y_true, y_pred, proba, config):
    ev = ClassifierEvaluator.__new__(ClassifierEvaluator)
    ev.y_true, ev.y_pred, ev.y_probs = y_true, y_pred, proba
    ev.label_list = config.get("label_list")
    ev.pos_label = config.get("pos_label")
    ev.sample_weights = config.get("sample_weights")
    ev.evaluator_config = config
    ev.metrics_values = {}
    ev._validate_label_list()
    ev._compute_builtin_metrics(None)
    metrics = {k: v.aggregate_results[k] for k, v in ev.metrics_values.items()}
    out = {"metrics": kinds(metrics), "labels": [str(v) for v in ev.label_list]}
    if len(ev.label_list) == 2:
        out["roc"] = [ev.roc_curve.plot_fn_args["data_series"][0][1].tolist(),
                      ev.roc_curve.plot_fn_args["data_series"][0][2].tolist()]
        out["pr"] = [ev.pr_curve.plot_fn_args["data_series"][0][1].tolist(),
                     ev.pr_curve.plot_fn_args["data_series"][0][2].tolist()]
        share, gains = _cumulative_gain_curve(y_true, proba[:, ev.pos_index], ev.pos_label)
        out["lift"] = (gains[1:] / share[1:]).tolist()
    else:
        table = _get_classifier_per_class_metrics_collection_df(
            y=y_true, y_pred=y_pred, labels=ev.label_list, sample_weights=ev.sample_weights)
        for kind, column in (("roc", "roc_auc"), ("pr", "precision_recall_auc")):
            curve = _gen_classifier_curve(False, y_true, proba, ev.label_list, ev.pos_label, kind,
                                          ev.sample_weights)
            table[column] = curve.auc
            out[f"{kind}_labels"] = [series[0] for series in curve.plot_fn_args["data_series"]]
        table["positive_class"] = table["positive_class"].astype(str)
        out["per_class"] = {"columns": list(table.columns), "rows": table.values.tolist(),
                            "dtypes": [str(t) for t in table.dtypes]}
    return out


def via_evaluate(y_true, y_pred, config, model_type):
    frame = pd.DataFrame({"y": y_true, "pred": y_pred, "x": np.arange(len(y_true))})
    with mlflow.start_run():
        result = mlflow.evaluate(model=None, data=frame, targets="y", predictions="pred",
                                 model_type=model_type, evaluator_config=config)
    return kinds(result.metrics)


out = {"classifier": {}, "regressor": {}, "evaluate": {}}
for name, yt, yp, pr, config in classifier_cases():
    out["classifier"][name] = builtin(yt, yp, pr, config)
for name, yt, yp, pr, config in classifier_cases()[::3]:
    out["evaluate"][name] = via_evaluate(yt, yp, config, "classifier")
for name, y, pred, config in regressor_cases():
    out["regressor"][name] = kinds(_get_regressor_metrics(y, pred, config.get("sample_weights")))
    out["evaluate"][name] = via_evaluate(y, pred, config, "regressor")
try:
    via_evaluate(np.zeros(10, int), np.zeros(10, int), {}, "classifier")
except Exception as e:
    out["one_label_error"] = [type(e).__name__, str(e)]
print("RESULT" + json.dumps(out))
'''

ns: dict = {}
exec(CASES_SRC, ns)  # noqa: S102 - the fixed case builders shared with the MLflow child
CLASSIFIER_CASES = {name: case for name, *case in ns["classifier_cases"]()}
REGRESSOR_CASES = {name: case for name, *case in ns["regressor_cases"]()}


@pytest.fixture(scope="module")
def mlflow_values(tmp_path_factory):
    stdout = run_in_mlflow(MLFLOW_CHILD, cwd=tmp_path_factory.mktemp("mlflow-eval"))
    return json.loads(stdout.split("RESULT", 1)[1])


def _kinds(metrics: dict) -> dict:
    return {key: ["int" if isinstance(v, int | np.integer) and not isinstance(v, bool) else "float", float(v)]
            for key, v in metrics.items()}


def assert_same_metrics(ours: dict, theirs: dict) -> None:
    ours = _kinds(ours)
    assert list(ours) == list(theirs)  # same keys, same order
    for key, (kind, value) in theirs.items():
        assert ours[key][0] == kind, key
        assert ours[key][1] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), key


def _space(y_true, y_pred, config):
    return label_space(y_true, y_pred, label_list=config.get("label_list"), pos_label=config.get("pos_label"))


@pytest.mark.parametrize("name", list(CLASSIFIER_CASES))
def test_classifier_metrics_match_mlflow(mlflow_values, name):
    y_true, y_pred, proba, config = CLASSIFIER_CASES[name]
    theirs = mlflow_values["classifier"][name]
    assert {"log_loss", "roc_auc"} <= set(theirs["metrics"]) or name == "multi_micro"
    space = _space(y_true, y_pred, config)
    assert [str(v) for v in space.labels] == theirs["labels"]
    ours = classifier_metrics(y_true, y_pred, proba, space, average=config.get("average", "weighted"),
                              sample_weights=config.get("sample_weights"))
    assert_same_metrics(ours, theirs["metrics"])


@pytest.mark.parametrize("name", [n for n in CLASSIFIER_CASES if n.startswith("binary")])
def test_binary_curve_points_match_mlflow(mlflow_values, name):
    y_true, y_pred, proba, config = CLASSIFIER_CASES[name]
    theirs = mlflow_values["classifier"][name]
    space = _space(y_true, y_pred, config)
    weights = config.get("sample_weights")
    [roc] = roc_curves(y_true, proba, space, sample_weights=weights)
    [pr] = pr_curves(y_true, proba, space, sample_weights=weights)
    np.testing.assert_allclose(roc.x, theirs["roc"][0], rtol=1e-9)
    np.testing.assert_allclose(roc.y, theirs["roc"][1], rtol=1e-9)
    np.testing.assert_allclose(pr.x, theirs["pr"][0], rtol=1e-9)
    np.testing.assert_allclose(pr.y, theirs["pr"][1], rtol=1e-9)
    _, lift = gain_lift(np.asarray(y_true) == space.pos_label, proba[:, space.pos_index])
    np.testing.assert_allclose(lift, theirs["lift"], rtol=1e-9)


@pytest.mark.parametrize("name", [n for n in CLASSIFIER_CASES if n.startswith("multi")])
def test_per_class_metrics_match_mlflow(mlflow_values, name):
    y_true, y_pred, proba, config = CLASSIFIER_CASES[name]
    theirs = mlflow_values["classifier"][name]
    space = _space(y_true, y_pred, config)
    table = per_class_metrics(y_true, y_pred, space, y_proba=proba, sample_weights=config.get("sample_weights"))
    expected = pd.DataFrame(theirs["per_class"]["rows"], columns=theirs["per_class"]["columns"])
    assert list(table.columns) == list(expected.columns)
    assert [str(t) for t in table.dtypes[1:]] == theirs["per_class"]["dtypes"][1:]
    assert table["positive_class"].astype(str).tolist() == expected["positive_class"].tolist()
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(float), expected.iloc[:, 1:].to_numpy(float), rtol=1e-9)
    weights = config.get("sample_weights")
    assert [c.label for c in roc_curves(y_true, proba, space, sample_weights=weights)] == theirs["roc_labels"]
    assert [c.label for c in pr_curves(y_true, proba, space, sample_weights=weights)] == theirs["pr_labels"]


@pytest.mark.parametrize("name", list(REGRESSOR_CASES))
def test_regressor_metrics_match_mlflow(mlflow_values, name):
    y, pred, config = REGRESSOR_CASES[name]
    ours = regressor_metrics(y, pred, sample_weights=config.get("sample_weights"))
    assert_same_metrics(ours, mlflow_values["regressor"][name])


def test_metrics_match_mlflow_evaluate_with_a_predictions_column(mlflow_values):
    results = mlflow_values["evaluate"]
    assert len(results) == len(list(CLASSIFIER_CASES)[::3]) + len(REGRESSOR_CASES)
    for name, theirs in results.items():
        if name in REGRESSOR_CASES:
            y, pred, config = REGRESSOR_CASES[name]
            ours = regressor_metrics(y, pred, sample_weights=config.get("sample_weights"))
        else:
            y_true, y_pred, _, config = CLASSIFIER_CASES[name]
            ours = classifier_metrics(y_true, y_pred, None, _space(y_true, y_pred, config),
                                      average=config.get("average", "weighted"),
                                      sample_weights=config.get("sample_weights"))
        # evaluate() orders its metrics its own way: compare as sets of keys, then values
        assert sorted(_kinds(ours)) == sorted(theirs), name
        assert_same_metrics(ours, {key: theirs[key] for key in ours})


def test_single_label_error_matches_mlflow(mlflow_values):
    from mlcask.exceptions import MlcaskException

    kind, message = mlflow_values["one_label_error"]
    assert kind == "MlflowException"
    with pytest.raises(MlcaskException) as caught:
        label_space(np.zeros(10, int), np.zeros(10, int))
    assert str(caught.value).startswith(message)
