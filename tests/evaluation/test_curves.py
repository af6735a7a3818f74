"""The curve data: ROC / precision-recall points and areas, calibration bins, lift, thinning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.calibration import calibration_curve

from mlcask.evaluation.classifier_metrics import classifier_metrics, per_class_metrics
from mlcask.evaluation.curves import calibration_bins, lift_curve, pr_curves, roc_curves, thin_points
from mlcask.evaluation.labels import label_space
from mlcask.exceptions import MlcaskException


def binary(n=800, seed=0):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 3)
    y_true = np.where(rng.random(n) < p, "spam", "ham")
    return y_true, np.where(p > 0.5, "spam", "ham"), np.column_stack([1 - p, p]), rng.uniform(0.1, 2, n)


def multiclass(n=600, seed=1):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), codes] += 1.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["x", "y", "z"])
    return labels[codes], labels[proba.argmax(axis=1)], proba


@pytest.mark.parametrize("pos_label", [None, "ham"])
def test_binary_roc_and_pr_are_sklearns_and_match_the_metrics(pos_label):
    y_true, y_pred, proba, w = binary()
    space = label_space(y_true, y_pred, pos_label=pos_label)
    col = space.pos_index
    [roc] = roc_curves(y_true, proba, space, sample_weights=w)
    [pr] = pr_curves(y_true, proba, space, sample_weights=w)
    fpr, tpr, _ = sk.roc_curve(y_true, proba[:, col], pos_label=space.pos_label, sample_weight=w)
    precision, recall, _ = sk.precision_recall_curve(y_true, proba[:, col], pos_label=space.pos_label, sample_weight=w)
    np.testing.assert_array_equal(roc.x, fpr)
    np.testing.assert_array_equal(roc.y, tpr)
    np.testing.assert_array_equal(pr.x, recall)
    np.testing.assert_array_equal(pr.y, precision)
    metrics = classifier_metrics(y_true, y_pred, proba, space, sample_weights=w)
    assert roc.auc == metrics["roc_auc"] and pr.auc == metrics["precision_recall_auc"]
    assert roc.label == f"AUC={roc.auc:.3f}" and pr.label == f"AP={pr.auc:.3f}"


def test_multiclass_curves_one_per_class_with_the_per_class_areas():
    y_true, y_pred, proba = multiclass()
    space = label_space(y_true, y_pred)
    rocs, prs = roc_curves(y_true, proba, space), pr_curves(y_true, proba, space)
    table = per_class_metrics(y_true, y_pred, space, y_proba=proba)
    assert [c.auc for c in rocs] == table["roc_auc"].tolist()
    assert [c.auc for c in prs] == table["precision_recall_auc"].tolist()
    assert [c.label.split(",")[0] for c in rocs] == ["label=x", "label=y", "label=z"]
    assert prs[1].label == f"label=y,AP={prs[1].auc:.3f}"


def test_curves_refuse_unknown_targets_and_wrong_columns():
    y_true, y_pred, proba, _ = binary()
    space = label_space(y_true, y_pred)
    with pytest.raises(MlcaskException, match=r"not among the evaluation's labels .*'eggs'"):
        roc_curves(np.array(["eggs"] + list(y_true[1:]), dtype=object), proba, space)
    with pytest.raises(MlcaskException, match="expected 2 columns"):
        pr_curves(y_true, np.column_stack([proba, proba]), space)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_bins_are_sklearns_calibration_curve(strategy):
    y_true, y_pred, proba, _ = binary()
    space = label_space(y_true, y_pred)
    bins = calibration_bins(y_true, proba[:, 1], space, n_bins=7, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y_true, proba[:, 1], pos_label="spam", n_bins=7, strategy=strategy)
    assert list(bins.columns) == ["bin_low", "bin_high", "mean_predicted", "fraction_positive", "count"]
    np.testing.assert_allclose(bins["mean_predicted"], prob_pred, rtol=1e-12)
    np.testing.assert_allclose(bins["fraction_positive"], prob_true, rtol=1e-12)
    assert bins["count"].sum() == len(y_true)
    assert ((bins["mean_predicted"] >= bins["bin_low"]) & (bins["mean_predicted"] <= bins["bin_high"])).all()


def test_calibration_bins_skip_empty_bins_and_take_another_class():
    y = np.array(["a", "b", "b", "a"])
    space = label_space(y, y)
    bins = calibration_bins(y, np.array([0.05, 0.95, 0.92, 0.15]), space, n_bins=10, label="a")
    assert bins["bin_low"].tolist() == pytest.approx([0.0, 0.1, 0.9])
    assert bins["count"].tolist() == [1, 1, 2]
    assert bins["fraction_positive"].tolist() == [1.0, 1.0, 0.0]


def test_calibration_bins_errors():
    y_true, y_pred, proba, _ = binary(50)
    space = label_space(y_true, y_pred)
    with pytest.raises(MlcaskException, match="n_bins must be a positive int; got 2.5"):
        calibration_bins(y_true, proba[:, 1], space, n_bins=2.5)
    with pytest.raises(MlcaskException, match="'uniform' or 'quantile'; got 'log'"):
        calibration_bins(y_true, proba[:, 1], space, strategy="log")
    with pytest.raises(MlcaskException, match=r"must lie in \[0, 1\]"):
        calibration_bins(y_true, proba[:, 1] * 3, space)
    with pytest.raises(MlcaskException, match=r"one probability per row \(50 rows\); got .* shape \(50, 2\)"):
        calibration_bins(y_true, proba, space)


def test_lift_curve():
    y_true, y_pred, proba, _ = binary()
    space = label_space(y_true, y_pred)
    lift = lift_curve(y_true, proba[:, 1], space)
    assert lift.label == "Class spam (positive)" and math.isnan(lift.auc)
    assert lift.x[-1] == 1.0 and lift.y[-1] == pytest.approx(1.0)
    top = np.argsort(proba[:, 1])[::-1][:80]
    rate = np.mean(y_true == "spam")
    assert lift.y[79] == pytest.approx(np.mean(y_true[top] == "spam") / rate)
    assert lift.y[79] > 1.5  # an informative score lifts its top decile
    with pytest.raises(MlcaskException, match="Cannot calculate Lift Curve for data with 1 category"):
        lift_curve(np.array(["spam"] * 5), np.full(5, 0.5), space)


def test_thin_points_keeps_the_drawn_shape():
    rng = np.random.default_rng(3)
    x = np.sort(rng.random(20000))
    y = np.cumsum(rng.random(20000))
    y /= y[-1]
    tx, ty = thin_points(x, y, resolution=500)
    assert len(tx) <= 4 * 501 + 2 and len(tx) < len(x) / 8
    assert (tx[0], ty[0], tx[-1], ty[-1]) == (x[0], y[0], x[-1], y[-1])
    # every original point lies within one grid cell of the thinned (monotone) curve
    assert np.max(np.abs(np.interp(x, tx, ty) - y)) <= 1 / 500 + 1e-12
    short = np.linspace(0, 1, 50)
    assert thin_points(short, short)[0] is not None and len(thin_points(short, short)[0]) == 50
