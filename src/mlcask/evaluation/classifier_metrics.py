"""MLflow's default classifier metrics, one function per metric key.

Every metric is defined once, in ``_metric_table``, on *codes*: each label replaced by its
position among the sorted labels (the column order of ``predict_proba``). scikit-learn computes
the same values on codes as on the labels themselves (counts and sums do not depend on what a
class is called) and is several times faster on integers than on strings. The public functions
take labels; :func:`classifier_metrics` encodes once and calls the same table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.labels import LabelSpace
from mlcask.exceptions import InvalidArgumentError, MlcaskException

MetricFn = Callable[..., float]
_CodeFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"], Any]

MULTICLASS_AVERAGES = ("micro", "macro", "weighted")
PROBA_METRICS = ("log_loss", "roc_auc", "precision_recall_auc")


class _Encoder:
    """Labels -> their index among the sorted labels (the probability columns' order)."""

    def __init__(self, space: LabelSpace) -> None:
        self.index = pd.Index(space.sorted_labels)
        self.labels = space.sorted_labels

    def __call__(self, values: Any, name: str) -> np.ndarray:
        array = np.asarray(values)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        codes = self.index.get_indexer(array)
        if codes.size and codes.min() < 0:
            unknown = pd.unique(array[codes < 0])[:10]
            raise MlcaskException(
                f"The {name} hold values that are not among the evaluation's labels "
                f"{self.labels.tolist()}: {', '.join(repr(v) for v in unknown.tolist())}.",
                "INVALID_PARAMETER_VALUE",
            )
        return codes


def check_probabilities(y_proba: Any, space: LabelSpace) -> np.ndarray:
    """``y_proba`` as an array with one column per class (sorted label order).

    A 1-D array is taken, for a binary problem, as the positive class's probability; a 1-D
    array of objects, as one probability row per item (fairlearn's ``MetricFrame`` splits only
    1-D sample parameters: pass ``list(y_proba)`` through it).
    """
    proba = np.asarray(y_proba)
    if proba.ndim == 1 and proba.dtype == object and proba.size and np.ndim(proba[0]) == 1:
        proba = np.vstack(proba.tolist())
    if proba.ndim == 1 and space.is_binary:
        proba = np.column_stack([1 - proba, proba] if space.pos_index == 1 else [proba, 1 - proba])
    if proba.ndim != 2 or proba.shape[1] != space.n_classes:
        given = f"{proba.shape[1]} columns" if proba.ndim == 2 else f"an array of shape {proba.shape}"
        raise MlcaskException(
            f"The predicted probabilities must have one column per class: expected "
            f"{space.n_classes} columns (for {space.sorted_labels.tolist()}, in that order), "
            f"got {given}.",
            "INVALID_PARAMETER_VALUE",
        )
    return proba


def _check_average(space: LabelSpace, average: str) -> str:
    if space.is_binary:
        return "binary"
    if average not in MULTICLASS_AVERAGES:
        raise InvalidArgumentError(
            f"evaluator_config['average'] must be one of {list(MULTICLASS_AVERAGES)} for a "
            f"multiclass evaluation; got {average!r}."
        )
    return average


def _binary_counts(pos: int) -> dict[str, _CodeFn]:
    # Unweighted counts of the 2x2 confusion matrix, as MLflow's (it never weights them).
    def count(cell: int) -> _CodeFn:
        def fn(t, p, proba, w):
            cells = 2 * (t == pos) + (p == pos)
            return int(np.count_nonzero(cells == cell))
        return fn

    return {"true_negatives": count(0), "false_positives": count(1),
            "false_negatives": count(2), "true_positives": count(3)}


def _label_metrics(average: str, pos: int | None) -> dict[str, _CodeFn]:
    from sklearn import metrics as sk

    def scorer(score: Callable) -> _CodeFn:
        return lambda t, p, proba, w: float(score(t, p, average=average, pos_label=pos, sample_weight=w))

    return {
        "example_count": lambda t, p, proba, w: len(t),
        "accuracy_score": lambda t, p, proba, w: float(sk.accuracy_score(t, p, sample_weight=w)),
        "recall_score": scorer(sk.recall_score),
        "precision_score": scorer(sk.precision_score),
        "f1_score": scorer(sk.f1_score),
    }


def _single_class(t: np.ndarray) -> bool:
    return t.size == 0 or bool(np.all(t == t[0]))


def _proba_metrics(space: LabelSpace, average: str, strict: bool) -> dict[str, _CodeFn]:
    from sklearn import metrics as sk

    k = space.n_classes
    labels = list(range(k))

    def log_loss(t, p, proba, w):
        if t.size == 0:
            return math.nan
        return float(sk.log_loss(t, proba, labels=labels, sample_weight=w))

    if not space.is_binary:
        if average not in ("macro", "weighted"):  # MLflow: no multiclass roc_auc for micro
            return {"log_loss": log_loss}

        def multiclass_roc_auc(t, p, proba, w):
            if not strict and np.unique(t).size != k:
                return math.nan
            return float(sk.roc_auc_score(t, proba, sample_weight=w, average=average, multi_class="ovr"))

        return {"log_loss": log_loss, "roc_auc": multiclass_roc_auc}

    pos = space.pos_index

    def roc_auc(t, p, proba, w):
        if not strict and _single_class(t):
            return math.nan
        return float(sk.roc_auc_score(t == pos, proba[:, pos], sample_weight=w))

    def precision_recall_auc(t, p, proba, w):
        if not strict and _single_class(t):
            return math.nan
        return float(sk.average_precision_score(t, proba[:, pos], pos_label=pos, sample_weight=w))

    return {"log_loss": log_loss, "roc_auc": roc_auc, "precision_recall_auc": precision_recall_auc}


def _metric_table(space: LabelSpace, average: str, strict: bool) -> dict[str, _CodeFn]:
    """Every default metric on codes, in MLflow's key order."""
    average = _check_average(space, average)
    table: dict[str, _CodeFn] = {}
    if space.is_binary:
        table.update(_binary_counts(space.pos_index))
        table.update(_label_metrics("binary", space.pos_index))
    else:
        table.update(_label_metrics(average, None))
    table.update(_proba_metrics(space, average, strict))
    return table


def _public(fn: _CodeFn, encode: _Encoder, space: LabelSpace, needs_proba: bool, strict: bool) -> MetricFn:
    def metric(y_true: Any, y_pred: Any, *, y_proba: Any = None, sample_weight: Any = None) -> float:
        t = encode(y_true, "targets")
        p = encode(y_pred, "predictions")
        proba = None if y_proba is None else check_probabilities(y_proba, space)
        if needs_proba and proba is None:
            return math.nan
        w = None if sample_weight is None else np.asarray(sample_weight)
        if strict:
            return fn(t, p, proba, w)
        with warnings.catch_warnings():  # a small group may lack a class: that is expected
            warnings.simplefilter("ignore")
            return fn(t, p, proba, w)

    return metric


def classifier_metric_functions(space: LabelSpace, *, average: str = "weighted",
                                strict: bool = False) -> dict[str, MetricFn]:
    """One function per default classifier metric key (MLflow's names and definitions).

    Parameters
    ----------
    space : LabelSpace
        The evaluation's classes (:func:`mlcask.evaluation.labels.label_space`).
    average : {"weighted", "macro", "micro"}
        The multiclass averaging (``evaluator_config["average"]``); binary problems use
        ``"binary"`` with the positive label, as MLflow.
    strict : bool
        ``False`` (for per-group use): on a subset holding a single class, ``roc_auc`` and
        ``precision_recall_auc`` are NaN, and scikit-learn's warnings are silenced. ``True``:
        exactly MLflow's behaviour on the whole data.

    Returns
    -------
    dict
        key -> ``fn(y_true, y_pred, *, y_proba=None, sample_weight=None)``. The functions of
        ``log_loss``, ``roc_auc`` and ``precision_recall_auc`` return NaN without ``y_proba``.
    """
    encode = _Encoder(space)
    return {key: _public(fn, encode, space, key in PROBA_METRICS, strict)
            for key, fn in _metric_table(space, average, strict).items()}


def classifier_metrics(y_true: Any, y_pred: Any, y_proba: np.ndarray | None, space: LabelSpace, *,
                       average: str = "weighted", sample_weights: Any = None) -> dict[str, float]:
    """MLflow's default classifier metrics: the same keys, values and value types.

    Binary problems: the four confusion counts (unweighted, ``int``), ``example_count``,
    accuracy, recall, precision and F1 for the positive label, and with probabilities
    ``log_loss``, ``roc_auc`` and ``precision_recall_auc`` (average precision). Multiclass:
    the averaged scores (``average``) and with probabilities ``log_loss`` and, for the macro
    and weighted averages, the one-vs-rest ``roc_auc``.
    """
    encode = _Encoder(space)
    t = encode(y_true, "targets")
    p = encode(y_pred, "predictions")
    if len(t) != len(p):
        raise MlcaskException(
            f"The targets ({len(t)} rows) and the predictions ({len(p)} rows) differ in length.",
            "INVALID_PARAMETER_VALUE",
        )
    proba = None if y_proba is None else check_probabilities(y_proba, space)
    w = None if sample_weights is None else np.asarray(sample_weights)
    return {key: fn(t, p, proba, w) for key, fn in _metric_table(space, average, True).items()
            if proba is not None or key not in PROBA_METRICS}


def confusion_matrix(y_true: Any, y_pred: Any, space: LabelSpace, *, sample_weights: Any = None,
                     normalize: str | None = None) -> np.ndarray:
    """The confusion matrix, rows = true class, columns = predicted, in ``space.labels`` order.

    ``normalize="true"`` divides each row by its total, as MLflow's plotted matrix.
    """
    from sklearn import metrics as sk

    encode = _Encoder(space)
    order = encode(space.labels, "labels")
    return sk.confusion_matrix(encode(y_true, "targets"), encode(y_pred, "predictions"),
                               labels=order, sample_weight=sample_weights, normalize=normalize)


def per_class_metrics(y_true: Any, y_pred: Any, space: LabelSpace, *, y_proba: np.ndarray | None = None,
                      sample_weights: Any = None, max_classes_for_roc_pr: int = 10) -> pd.DataFrame:
    """MLflow's ``per_class_metrics.csv`` (logged for multiclass problems).

    One row per class (sorted) with ``positive_class`` and that class's one-vs-rest binary
    metrics, in MLflow's column order; with probabilities and at most ``max_classes_for_roc_pr``
    classes, also ``roc_auc`` and ``precision_recall_auc``.
    """
    encode = _Encoder(space)
    t = encode(y_true, "targets")
    p = encode(y_pred, "predictions")
    proba = None if y_proba is None else check_probabilities(y_proba, space)
    w = None if sample_weights is None else np.asarray(sample_weights)
    binary = LabelSpace(np.array([0, 1]), 1, 1)
    label_fns = {**_binary_counts(1), **_label_metrics("binary", 1)}
    with_curves = proba is not None and space.n_classes <= max_classes_for_roc_pr
    curve_fns = _proba_metrics(binary, "binary", True) if with_curves else {}
    rows = []
    for i, label in enumerate(space.sorted_labels):
        t_bin, p_bin = (t == i).astype(int), (p == i).astype(int)
        row: dict[str, Any] = {"positive_class": label}
        row.update({key: fn(t_bin, p_bin, None, w) for key, fn in label_fns.items()})
        if with_curves:
            scores = np.column_stack([1 - proba[:, i], proba[:, i]])
            for key in ("roc_auc", "precision_recall_auc"):
                row[key] = curve_fns[key](t_bin, p_bin, scores, w)
        rows.append(row)
    return pd.DataFrame(rows)
