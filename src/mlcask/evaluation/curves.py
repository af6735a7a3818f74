"""The data behind the classifier plots: ROC, precision-recall, lift and calibration.

The areas are MLflow's (the ``roc_auc`` / ``precision_recall_auc`` metrics for a binary problem,
the ``per_class_metrics.csv`` columns for a multiclass one); the points are scikit-learn's curve
points, in full (thin them for drawing with :func:`thin_points`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.labels import LabelSpace
from mlcask.exceptions import MlcaskException


@dataclass
class Curve:
    """One curve: its points, its legend label (MLflow's) and its area.

    ``auc`` is the ROC AUC of a ROC curve, the average precision of a precision-recall
    curve, and NaN for a lift curve.
    """

    x: np.ndarray
    y: np.ndarray
    label: str
    auc: float


def _codes_and_scores(y_true: Any, y_proba: np.ndarray, space: LabelSpace,
                      sample_weights: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    from mlcask.evaluation.classifier_metrics import check_probabilities

    codes = pd.Index(space.sorted_labels).get_indexer(np.asarray(y_true))
    if codes.size and codes.min() < 0:
        unknown = pd.unique(np.asarray(y_true)[codes < 0])[:10].tolist()
        raise MlcaskException(
            f"The targets hold values that are not among the evaluation's labels "
            f"{space.sorted_labels.tolist()}: {unknown}.",
            "INVALID_PARAMETER_VALUE",
        )
    weights = None if sample_weights is None else np.asarray(sample_weights)
    return codes, check_probabilities(y_proba, space), weights


def _one_vs_rest(codes: np.ndarray, proba: np.ndarray, space: LabelSpace):
    """(legend prefix, 0/1 targets, positive score) per class; one item for a binary problem."""
    if space.is_binary:
        pos = space.pos_index
        return [("", (codes == pos).astype(int), proba[:, pos])]
    return [(f"label={label},", (codes == i).astype(int), proba[:, i])
            for i, label in enumerate(space.sorted_labels)]


def roc_curves(y_true: Any, y_proba: np.ndarray, space: LabelSpace, *, sample_weights: Any = None) -> list[Curve]:
    """One ROC curve (binary) or one per class (multiclass, one-vs-rest), as MLflow's plot.

    ``x`` is the false positive rate, ``y`` the true positive rate; the legend label is
    ``"AUC=0.912"`` (binary) or ``"label=<class>,AUC=0.912"``.
    """
    from sklearn import metrics as sk

    codes, proba, weights = _codes_and_scores(y_true, y_proba, space, sample_weights)
    curves = []
    for prefix, target, score in _one_vs_rest(codes, proba, space):
        fpr, tpr, _ = sk.roc_curve(target, score, pos_label=1, sample_weight=weights)
        auc = float(sk.roc_auc_score(target == 1, score, sample_weight=weights))
        curves.append(Curve(fpr, tpr, f"{prefix}AUC={auc:.3f}", auc))
    return curves


def pr_curves(y_true: Any, y_proba: np.ndarray, space: LabelSpace, *, sample_weights: Any = None) -> list[Curve]:
    """One precision-recall curve (binary) or one per class; ``auc`` is the average precision.

    ``x`` is the recall, ``y`` the precision; the legend label is ``"AP=0.873"`` (binary) or
    ``"label=<class>,AP=0.873"``.
    """
    from sklearn import metrics as sk

    codes, proba, weights = _codes_and_scores(y_true, y_proba, space, sample_weights)
    curves = []
    for prefix, target, score in _one_vs_rest(codes, proba, space):
        precision, recall, _ = sk.precision_recall_curve(target, score, pos_label=1, sample_weight=weights)
        ap = float(sk.average_precision_score(target, score, pos_label=1, sample_weight=weights))
        curves.append(Curve(recall, precision, f"{prefix}AP={ap:.3f}", ap))
    return curves


def calibration_bins(y_true: Any, prob_pos: np.ndarray, space: LabelSpace, *, n_bins: int = 10,
                     strategy: str = "uniform", label: Any = None) -> pd.DataFrame:
    """The reliability diagram's bins for one class (default: the positive one).

    Columns ``bin_low``, ``bin_high``, ``mean_predicted``, ``fraction_positive``, ``count``;
    one row per non-empty bin. ``mean_predicted`` and ``fraction_positive`` are scikit-learn's
    ``calibration_curve`` (same bins, same values).
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise MlcaskException(f"calibration n_bins must be a positive int; got {n_bins!r}.",
                              "INVALID_PARAMETER_VALUE")
    prob = np.asarray(prob_pos, dtype=float)
    if prob.ndim != 1 or prob.size != len(y_true):
        raise MlcaskException(
            f"calibration_bins takes one probability per row ({len(y_true)} rows); got an array "
            f"of shape {prob.shape}.", "INVALID_PARAMETER_VALUE")
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise MlcaskException("The probabilities for calibration must lie in [0, 1]; got values "
                              f"from {prob.min()} to {prob.max()}.", "INVALID_PARAMETER_VALUE")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.percentile(prob, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        raise MlcaskException(f"calibration strategy must be 'uniform' or 'quantile'; got {strategy!r}.",
                              "INVALID_PARAMETER_VALUE")
    positive = np.asarray(y_true) == (space.pos_label if label is None else label)
    ids = np.searchsorted(edges[1:-1], prob)
    total = np.bincount(ids, minlength=n_bins)
    sums = np.bincount(ids, weights=prob, minlength=n_bins)
    hits = np.bincount(ids, weights=positive, minlength=n_bins)
    keep = total != 0
    return pd.DataFrame({
        "bin_low": edges[:-1][keep],
        "bin_high": edges[1:][keep],
        "mean_predicted": sums[keep] / total[keep],
        "fraction_positive": hits[keep] / total[keep],
        "count": total[keep],
    })


def gain_lift(is_positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of rows taken (highest scores first) and the lift there (MLflow's lift points)."""
    order = np.argsort(score)[::-1]
    gains = np.cumsum(is_positive[order]) / float(np.sum(is_positive))
    share = np.arange(1, len(order) + 1) / float(len(order))
    return share, gains / share


def lift_curve(y_true: Any, prob_pos: np.ndarray, space: LabelSpace) -> Curve:
    """The lift of the positive class against the fraction of rows taken by score.

    The points are MLflow's lift plot's positive-class line (label ``"Class <pos> (positive)"``);
    ``auc`` is NaN.
    """
    y = np.asarray(y_true)
    classes = np.unique(y)
    if len(classes) != 2:
        raise MlcaskException(
            f"Cannot calculate Lift Curve for data with {len(classes)} category/ies "
            f"({classes.tolist()[:10]}); it needs both classes among the targets.",
            "INVALID_PARAMETER_VALUE",
        )
    share, lift = gain_lift(y == space.pos_label, np.asarray(prob_pos))
    return Curve(share, lift, f"Class {space.pos_label} (positive)", float("nan"))


def thin_points(x: np.ndarray, y: np.ndarray, resolution: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``4 * resolution`` of a curve's points, drawn the same at plot scale.

    Keeps, of each run of points falling in one cell of a ``resolution`` x ``resolution`` grid
    over the curve's extent, the first and the last (so steps keep their corners), and always
    the curve's ends. Only for drawing: areas come from the full curve.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size <= 4 * resolution:
        return x, y

    def cells(v: np.ndarray) -> np.ndarray:
        finite = np.isfinite(v)
        lo, hi = (v[finite].min(), v[finite].max()) if finite.any() else (0.0, 1.0)
        span = hi - lo or 1.0
        return np.where(finite, np.floor((v - lo) / span * resolution), -1)

    cell = cells(x) * (resolution + 2) + cells(y)
    change = np.flatnonzero(np.diff(cell) != 0)
    keep = np.unique(np.concatenate([[0, x.size - 1], change, change + 1]))
    return x[keep], y[keep]
