"""classifier_metrics / classifier_metric_functions / per_class_metrics against scikit-learn
called the way MLflow's evaluator calls it (on the labels themselves)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as sk

from mlcask.evaluation.classifier_metrics import (
    check_probabilities,
    classifier_metric_functions,
    classifier_metrics,
    confusion_matrix,
    per_class_metrics,
)
from mlcask.evaluation.labels import label_space
from mlcask.exceptions import MlcaskException

BINARY_KEYS = ["true_negatives", "false_positives", "false_negatives", "true_positives", "example_count",
               "accuracy_score", "recall_score", "precision_score", "f1_score", "log_loss", "roc_auc",
               "precision_recall_auc"]


def binary_data(n=500, seed=0):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 3)
    y_true = np.where(rng.random(n) < p, "yes", "no")
    y_pred = np.where(p > 0.4, "yes", "no")
    return y_true, y_pred, np.column_stack([1 - p, p]), rng.uniform(0.1, 2.0, n)


def multiclass_data(labels=("ant", "bee", "cat", "dog"), n=600, seed=1):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, len(labels), n)
    logits = rng.normal(size=(n, len(labels)))
    logits[np.arange(n), codes] += 1.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(labels)
    return labels[codes], labels[proba.argmax(axis=1)], proba, rng.uniform(0.1, 2.0, n)


@pytest.mark.parametrize("pos_label", [None, "no"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_metrics_equal_sklearn_on_the_labels(pos_label, weighted):
    y_true, y_pred, proba, w = binary_data()
    w = w if weighted else None
    space = label_space(y_true, y_pred, pos_label=pos_label)
    ours = classifier_metrics(y_true, y_pred, proba, space, sample_weights=w)
    pos = pos_label or "yes"
    col = 1 if pos == "yes" else 0
    tn, fp, fn, tp = sk.confusion_matrix(y_true, y_pred, labels=space.labels).ravel()
    with warnings.catch_warnings():  # MLflow passes the labels positive last; sklearn warns
        warnings.simplefilter("ignore")
        log_loss = sk.log_loss(y_true, proba, labels=space.labels, sample_weight=w)
    expected = {
        "true_negatives": tn, "false_positives": fp, "false_negatives": fn, "true_positives": tp,
        "example_count": len(y_true),
        "accuracy_score": sk.accuracy_score(y_true, y_pred, sample_weight=w),
        "recall_score": sk.recall_score(y_true, y_pred, pos_label=pos, sample_weight=w),
        "precision_score": sk.precision_score(y_true, y_pred, pos_label=pos, sample_weight=w),
        "f1_score": sk.f1_score(y_true, y_pred, pos_label=pos, sample_weight=w),
        "log_loss": log_loss,
        "roc_auc": sk.roc_auc_score(y_true == pos, proba[:, col], sample_weight=w),
        "precision_recall_auc": sk.average_precision_score(y_true, proba[:, col], pos_label=pos, sample_weight=w),
    }
    assert list(ours) == BINARY_KEYS
    assert ours == pytest.approx(expected, rel=1e-12)
    assert all(type(ours[k]) is int for k in BINARY_KEYS[:5])
    assert all(type(ours[k]) is float for k in BINARY_KEYS[5:])


def test_binary_counts_ignore_weights_as_mlflow():
    y_true, y_pred, proba, w = binary_data()
    space = label_space(y_true, y_pred)
    plain = classifier_metrics(y_true, y_pred, proba, space)
    weighted = classifier_metrics(y_true, y_pred, proba, space, sample_weights=w)
    assert [plain[k] for k in BINARY_KEYS[:4]] == [weighted[k] for k in BINARY_KEYS[:4]]
    assert plain["accuracy_score"] != weighted["accuracy_score"]


def test_without_probabilities_there_are_no_probability_metrics():
    y_true, y_pred, _, _ = binary_data()
    ours = classifier_metrics(y_true, y_pred, None, label_space(y_true, y_pred))
    assert list(ours) == BINARY_KEYS[:-3]


@pytest.mark.parametrize("average", ["weighted", "macro", "micro"])
def test_multiclass_metrics_equal_sklearn(average):
    y_true, y_pred, proba, w = multiclass_data()
    space = label_space(y_true, y_pred)
    ours = classifier_metrics(y_true, y_pred, proba, space, average=average, sample_weights=w)
    expected = {
        "example_count": len(y_true),
        "accuracy_score": sk.accuracy_score(y_true, y_pred, sample_weight=w),
        "recall_score": sk.recall_score(y_true, y_pred, average=average, sample_weight=w),
        "precision_score": sk.precision_score(y_true, y_pred, average=average, sample_weight=w),
        "f1_score": sk.f1_score(y_true, y_pred, average=average, sample_weight=w),
        "log_loss": sk.log_loss(y_true, proba, labels=space.labels, sample_weight=w),
    }
    if average != "micro":  # MLflow computes the multiclass roc_auc for macro and weighted only
        expected["roc_auc"] = sk.roc_auc_score(y_true, proba, average=average, multi_class="ovr", sample_weight=w)
    assert list(ours) == list(expected)
    assert ours == pytest.approx(expected, rel=1e-12)


def test_multiclass_average_is_checked():
    y_true, y_pred, proba, _ = multiclass_data()
    with pytest.raises(ValueError, match=r"evaluator_config\['average'\] must be one of .*got 'binary'"):
        classifier_metrics(y_true, y_pred, proba, label_space(y_true, y_pred), average="binary")


def test_probability_columns_must_match_the_classes():
    y_true, y_pred, proba, _ = multiclass_data()
    space = label_space(y_true, y_pred)
    with pytest.raises(MlcaskException, match=r"expected 4 columns \(for \['ant', 'bee', 'cat', 'dog'\].*got 3 columns"):
        classifier_metrics(y_true, y_pred, proba[:, :3], space)


def test_binary_positive_probability_alone_is_accepted():
    y_true, y_pred, proba, _ = binary_data()
    space = label_space(y_true, y_pred, pos_label="no")
    assert check_probabilities(proba[:, 0], space) == pytest.approx(proba)
    assert classifier_metrics(y_true, y_pred, proba[:, 0], space) == pytest.approx(
        classifier_metrics(y_true, y_pred, proba, space), rel=1e-12)


def test_values_outside_the_space_and_length_mismatch():
    y_true, y_pred, proba, _ = binary_data()
    space = label_space(y_true, y_pred)
    bad = y_true.astype(object)
    bad[3] = "maybe"
    with pytest.raises(MlcaskException, match=r"targets hold values that are not among .*: 'maybe'"):
        classifier_metrics(bad, y_pred, proba, space)
    with pytest.raises(MlcaskException, match=r"targets \(500 rows\) and the predictions \(499 rows\)"):
        classifier_metrics(y_true, y_pred[1:], None, space)


def test_metric_functions_are_the_metrics_of_classifier_metrics():
    y_true, y_pred, proba, w = binary_data()
    space = label_space(y_true, y_pred)
    fns = classifier_metric_functions(space, strict=True)
    whole = classifier_metrics(y_true, y_pred, proba, space, sample_weights=w)
    assert list(fns) == list(whole)
    assert {k: fn(y_true, y_pred, y_proba=proba, sample_weight=w) for k, fn in fns.items()} == whole


def test_metric_functions_on_a_single_class_subset_give_nan_for_the_areas():
    y_true, y_pred, proba, w = binary_data()
    space = label_space(y_true, y_pred)
    fns = classifier_metric_functions(space)
    only_yes = y_true == "yes"
    args = (y_true[only_yes], y_pred[only_yes])
    kw = {"y_proba": proba[only_yes], "sample_weight": w[only_yes]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the per-group functions are quiet
        assert math.isnan(fns["roc_auc"](*args, **kw))
        assert math.isnan(fns["precision_recall_auc"](*args, **kw))
        # log loss is defined on one class (the labels are known): it stays a number
        assert fns["log_loss"](*args, **kw) == pytest.approx(
            sk.log_loss(args[0], kw["y_proba"], labels=["no", "yes"], sample_weight=kw["sample_weight"]))
        assert fns["true_negatives"](*args) == 0
    assert math.isnan(fns["roc_auc"](*args))  # no probabilities: NaN


def test_multiclass_subset_missing_a_class():
    y_true, y_pred, proba, _ = multiclass_data()
    space = label_space(y_true, y_pred)
    keep = y_true != "dog"
    assert math.isnan(classifier_metric_functions(space)["roc_auc"](y_true[keep], y_pred[keep], y_proba=proba[keep]))
    strict = classifier_metric_functions(space, strict=True)
    with pytest.raises(ValueError, match="Number of classes in y_true not equal"):  # MLflow's behaviour
        strict["roc_auc"](y_true[keep], y_pred[keep], y_proba=proba[keep])


def test_metric_functions_per_group_through_fairlearn():
    from fairlearn.metrics import MetricFrame

    y_true, y_pred, proba, w = multiclass_data()
    space = label_space(y_true, y_pred)
    fns = classifier_metric_functions(space, average="macro")
    group = np.where(np.arange(len(y_true)) % 3 == 0, "g0", "g1")
    rows = np.empty(len(y_true), dtype=object)
    rows[:] = list(proba)  # MetricFrame splits 1-D sample parameters only
    params = {k: {"y_proba": rows, "sample_weight": w} for k in fns}
    frame = MetricFrame(metrics=fns, y_true=y_true, y_pred=y_pred, sensitive_features=group, sample_params=params)
    g0 = group == "g0"
    expected = classifier_metrics(y_true[g0], y_pred[g0], proba[g0], space, average="macro", sample_weights=w[g0])
    assert frame.by_group.loc["g0"].to_dict() == pytest.approx(expected, rel=1e-12)


def test_per_class_metrics_columns_and_values():
    y_true, y_pred, proba, w = multiclass_data()
    space = label_space(y_true, y_pred)
    table = per_class_metrics(y_true, y_pred, space, y_proba=proba, sample_weights=w)
    assert list(table.columns) == ["positive_class", "true_negatives", "false_positives", "false_negatives",
                                   "true_positives", "example_count", "accuracy_score", "recall_score",
                                   "precision_score", "f1_score", "roc_auc", "precision_recall_auc"]
    assert table["positive_class"].tolist() == ["ant", "bee", "cat", "dog"]
    row = table.iloc[2]
    t, p = (y_true == "cat").astype(int), (y_pred == "cat").astype(int)
    assert row["true_positives"] == int(((t == 1) & (p == 1)).sum())
    assert row["recall_score"] == pytest.approx(sk.recall_score(t, p, sample_weight=w), rel=1e-12)
    assert row["roc_auc"] == pytest.approx(sk.roc_auc_score(t == 1, proba[:, 2], sample_weight=w), rel=1e-12)
    assert row["precision_recall_auc"] == pytest.approx(sk.average_precision_score(t, proba[:, 2], sample_weight=w))
    assert str(table["true_positives"].dtype) == "int64"


def test_per_class_metrics_drop_the_areas_above_the_class_limit_or_without_probabilities():
    y_true, y_pred, proba, _ = multiclass_data()
    space = label_space(y_true, y_pred)
    assert "roc_auc" not in per_class_metrics(y_true, y_pred, space, y_proba=proba, max_classes_for_roc_pr=3)
    assert list(per_class_metrics(y_true, y_pred, space).columns)[-1] == "f1_score"


def test_confusion_matrix_rows_follow_the_space_order():
    y_true = np.array(["a", "a", "b", "b", "b"])
    y_pred = np.array(["a", "b", "b", "b", "a"])
    space = label_space(y_true, y_pred, pos_label="a")  # labels ["b", "a"]
    assert confusion_matrix(y_true, y_pred, space).tolist() == [[2, 1], [1, 1]]
    assert confusion_matrix(y_true, y_pred, space, normalize="true")[0].tolist() == pytest.approx([2 / 3, 1 / 3])
