"""Per-group metrics and their disparity over sensitive features (fairlearn's MetricFrame).

A *group* is one value of a sensitive feature (``sex == 'F'``), or one combination of values
of several sensitive features (their *intersection*, feature name ``"sex & race"``). Every
metric is computed on each group's rows by the very function that computes it on the whole
set; the disparity of a metric is fairlearn's: ``MetricFrame.difference()`` (largest minus
smallest group value) and ``MetricFrame.ratio()`` (smallest over largest), both with
``method="between_groups"``.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

MetricFn = Callable[..., float]

_logger = logging.getLogger(__name__)

#: The label of the rows whose sensitive value is missing (they form a group of their own).
MISSING_GROUP = "(missing)"
#: A numeric sensitive feature with more distinct values than this must be binned first.
MAX_NUMERIC_GROUPS = 20
#: At most this many groups per sensitive feature (a column of ids is not a sensitive feature).
MAX_GROUPS = 100
#: The metrics (by key) that read class probabilities; computed per group only when given.
PROBA_METRICS = frozenset({"log_loss", "roc_auc", "precision_recall_auc"})
#: Metrics that count or sum rows: shown per group, but with no disparity (their difference
#: between groups mostly says how big the groups are, which ``count`` and the data balance say).
COUNT_METRICS = frozenset({"example_count", "true_negatives", "false_positives", "false_negatives",
                           "true_positives", "sum_on_target"})
#: How the names of an intersection's features (and of its groups) are joined.
INTERSECTION_SEP = " & "


@dataclass
class GroupMetrics:
    """Every metric on each group of one sensitive feature (or of an intersection of several).

    ``by_group`` has one row per group (index: the group's value) and one column per metric,
    plus ``count``; ``difference`` and ``ratio`` hold, per metric, the between-groups difference
    and ratio as fairlearn's ``MetricFrame.difference()`` / ``.ratio()`` define them.
    """

    feature: str
    by_group: pd.DataFrame
    difference: pd.Series
    ratio: pd.Series


def _fail(message: str) -> MlcaskException:
    return MlcaskException(message, INVALID_PARAMETER_VALUE)


def group_label(value: Any) -> str:
    """A group's value as text: whole floats without ``.0`` (a column read as float names ``1``, not ``1.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sensitive_column(data: pd.DataFrame, name: Any) -> pd.Series:
    column = data[name]
    if isinstance(column, pd.DataFrame):
        raise _fail(f"Sensitive feature {name!r} names {column.shape[1]} columns of the evaluation data; "
                    "column names must be unique.")
    missing = column.isna().to_numpy()
    distinct = int(column.nunique(dropna=True))
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric and distinct > MAX_NUMERIC_GROUPS:
        raise _fail(f"Sensitive feature {name!r} is numeric with {distinct} distinct values; per-group metrics "
                    f"need at most {MAX_NUMERIC_GROUPS} groups. Bin it first, e.g. "
                    f"data['{name}_band'] = pd.cut(data['{name}'], bins=4) or pd.qcut(data['{name}'], 4), "
                    "and name the binned column.")
    if distinct > MAX_GROUPS:
        raise _fail(f"Sensitive feature {name!r} has {distinct} distinct values; per-group metrics need at most "
                    f"{MAX_GROUPS} groups. Group its values first (e.g. rare values into 'other').")
    if distinct + bool(missing.any()) < 2:
        only = MISSING_GROUP if distinct == 0 else repr(column[~missing].iloc[0])
        raise _fail(f"Sensitive feature {name!r} has a single group ({only}) in the evaluation data; "
                    "per-group metrics and their disparity need at least two groups.")
    if not missing.any():
        return column.reset_index(drop=True)
    labels = np.array([group_label(v) for v in column.to_numpy(dtype=object)], dtype=object)
    labels[missing] = MISSING_GROUP
    return pd.Series(labels, name=name, dtype=object)


def sensitive_frame(data: pd.DataFrame, names: Sequence[str] | str) -> pd.DataFrame:
    """The sensitive columns of ``data``, checked and ready for :func:`group_metrics`.

    Parameters
    ----------
    data : pandas.DataFrame
        The evaluation data.
    names : sequence of str
        The sensitive feature columns (``evaluator_config["sensitive_features"]``); a single
        name is taken as a list of one.

    Returns
    -------
    pandas.DataFrame
        One column per name, in the given order, with a fresh ``RangeIndex`` (rows line up with
        the targets and predictions by position). Missing values (None, NaN, NA) form a group
        of their own, labelled ``"(missing)"``; the column then holds the values as strings
        (``1.0`` as ``"1"``). Other columns keep their values and dtype.

    Raises
    ------
    MlcaskException
        No name given, a name given twice, a name that is not a column (the message lists the
        columns there are), a column with a single group (naming its value), a numeric column
        with more than 20 distinct values (bin it first, e.g. with ``pd.cut``), or any column
        with more than 100.
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise _fail("'sensitive_features' is empty: name at least one column of the evaluation data.")
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise _fail(f"'sensitive_features' names {', '.join(repr(n) for n in repeated)} more than once.")
    absent = [n for n in names if n not in data.columns]
    if absent:
        raise _fail(f"Sensitive feature {absent[0]!r} is not a column of the evaluation data; its columns are "
                    f"{[str(c) for c in data.columns]}.")
    return pd.DataFrame({name: _sensitive_column(data, name) for name in names})


def _as_rows(value: Any, n: int, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.shape[:1] != (n,):
        raise _fail(f"The {what} have {array.shape[0] if array.ndim else 1} rows; the sensitive features have {n}.")
    return array


def _safe_value(name: str, fn: MetricFn, failures: dict[str, str], *args: Any, **kwargs: Any) -> float:
    # A metric may be undefined on a group (roc_auc with a single class in it): NaN, not an error.
    try:
        return float(fn(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - any failure of a metric on a group means "undefined there"
        failures.setdefault(name, f"{type(e).__name__}: {e}")
        return math.nan


def _group_values(metric_fns: dict[str, MetricFn], failures: dict[str, str], rows: np.ndarray, y_true: np.ndarray,
                  y_pred: np.ndarray, y_proba: np.ndarray | None, weights: np.ndarray | None) -> dict[str, float]:
    kwargs: dict[str, Any] = {"sample_weight": None if weights is None else weights[rows]}
    if y_proba is not None:
        kwargs["y_proba"] = y_proba[rows]
    return {name: _safe_value(name, fn, failures, y_true[rows], y_pred[rows], **kwargs)
            for name, fn in metric_fns.items()}


def _disparity(table: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """fairlearn's between-groups difference and ratio of each column of ``table`` (one row per group)."""
    from fairlearn.metrics import MetricFrame

    if table.shape[1] == 0:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    values = table.to_numpy(dtype=float)

    def lookup(column: int) -> Callable[[np.ndarray, np.ndarray], float]:
        # Each group of this frame is one row: its code, which picks the group's value.
        return lambda codes, _: values[int(codes[0]), column]

    codes = np.arange(len(table))
    frame = MetricFrame(metrics={name: lookup(i) for i, name in enumerate(table.columns)},
                        y_true=codes, y_pred=codes, sensitive_features=labels)
    return (frame.difference(method="between_groups").reindex(table.columns),
            frame.ratio(method="between_groups").reindex(table.columns))


def _one_feature(columns: list[Any], metric_fns: dict[str, MetricFn], sensitive: pd.DataFrame,
                 arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]) -> GroupMetrics:
    grouped = sensitive.groupby(columns, sort=True, observed=True, dropna=False)
    indices = grouped.indices
    keys = list(grouped.size().index)
    rows = [indices[key] for key in keys]
    failures: dict[str, str] = {}
    table = pd.DataFrame([_group_values(metric_fns, failures, r, *arrays) for r in rows], columns=list(metric_fns))
    for name, reason in failures.items():
        failed = int(table[name].isna().sum())
        _logger.info("Metric %r is undefined on %d of the %d groups of %s (left NaN): %s", name, failed,
                     len(rows), " & ".join(str(c) for c in columns), reason)
    labels = pd.DataFrame([key if isinstance(key, tuple) else (key,) for key in keys], columns=columns)
    difference, ratio = _disparity(table[[c for c in table.columns if c not in COUNT_METRICS]], labels)
    if len(columns) == 1:
        index = pd.Index([key[0] if isinstance(key, tuple) else key for key in keys], name=str(columns[0]))
    else:
        index = pd.Index([INTERSECTION_SEP.join(group_label(v) for v in key) for key in keys],
                         name=INTERSECTION_SEP.join(str(c) for c in columns), dtype=object)
    table.index = index
    table.insert(0, "count", np.array([len(r) for r in rows], dtype=np.int64))
    return GroupMetrics(str(index.name), table, difference, ratio)


def group_metrics(metric_fns: dict[str, MetricFn], y_true: Any, y_pred: Any, sensitive: pd.DataFrame, *,
                  y_proba: np.ndarray | None = None, sample_weights: Any = None) -> list[GroupMetrics]:
    """Every metric on each group of each sensitive feature, and the disparity between groups.

    Parameters
    ----------
    metric_fns : dict of str to callable
        ``fn(y_true, y_pred, *, y_proba=None, sample_weight=None) -> float`` by metric key (the
        default metric functions of the evaluation). Those of :data:`PROBA_METRICS` (or with a
        true ``needs_proba`` attribute) are computed only when ``y_proba`` is given.
    y_true, y_pred : array-like of shape (n_samples,)
        Targets and predictions, in the row order of ``sensitive``.
    sensitive : pandas.DataFrame
        The sensitive features, from :func:`sensitive_frame`.
    y_proba : numpy.ndarray, optional
        What the probability metrics take as ``y_proba`` (the positive class's column for a
        binary problem, the full matrix for a multiclass one); sliced by rows per group.
    sample_weights : array-like of shape (n_samples,), optional
        Sliced per group and passed as ``sample_weight``.

    Returns
    -------
    list of GroupMetrics
        One per sensitive feature, in order, then one for their intersection (feature name
        ``"sex & race"``, groups ``"F & a"``; combinations absent from the data are left out)
        when there are several. ``by_group`` holds ``count`` (rows in the group) and one column
        per metric; a metric that fails on a group (e.g. ``roc_auc`` on a group holding one
        class) is NaN there. ``difference`` / ``ratio`` are fairlearn's
        ``MetricFrame.difference()`` / ``.ratio()`` with ``method="between_groups"``: the
        largest group value minus the smallest, and the smallest over the largest, NaN groups
        ignored; they leave out the metrics of :data:`COUNT_METRICS` (``example_count``, the
        confusion-matrix counts, ``sum_on_target``), whose disparity is the groups' sizes.

    Notes
    -----
    fairlearn's ``MetricFrame`` turns every argument of every metric call into an array
    element by element (about a second per feature at 20,000 rows and a dozen metrics), so
    the rows are grouped here (pandas ``groupby``, as ``MetricFrame`` groups them) and each
    metric is called on each group's rows; the by-group values then go through a
    ``MetricFrame`` of one row per group, whose ``difference()`` and ``ratio()`` give the
    disparities.
    """
    n = len(sensitive)
    arrays = (_as_rows(y_true, n, "targets"), _as_rows(y_pred, n, "predictions"),
              None if y_proba is None else _as_rows(y_proba, n, "class probabilities"),
              None if sample_weights is None else _as_rows(sample_weights, n, "sample weights").astype(float))
    if y_proba is None:
        metric_fns = {name: fn for name, fn in metric_fns.items()
                      if name not in PROBA_METRICS and not getattr(fn, "needs_proba", False)}
    sensitive = sensitive.reset_index(drop=True)
    columns = list(sensitive.columns)
    sets = [[c] for c in columns] + ([columns] if len(columns) > 1 else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's undefined-metric warnings, once per group
        return [_one_feature(cols, metric_fns, sensitive, arrays) for cols in sets]


_KEY_BAD = re.compile(r"[^\w.\- ]")  # MLflow's key characters, less '/' (the key's separator) and ':'
_MAX_KEY_PART = 100  # a key holds at most 250 characters


def _key_part(value: Any) -> str:
    text = _KEY_BAD.sub("_", group_label(value).replace("&", "and")).strip()[:_MAX_KEY_PART]
    return "_" if not text or set(text) == {"."} else text


def _unique_parts(values: Sequence[Any]) -> list[str]:
    """Key-safe names for ``values``; the later of two that sanitize alike get ``_2``, ``_3``..."""
    taken: set[str] = set()
    parts = []
    for value in values:
        part = base = _key_part(value)
        counter = 1
        while part in taken:
            counter += 1
            part = f"{base}_{counter}"
        taken.add(part)
        parts.append(part)
    return parts


def fairness_metric_keys(groups: list[GroupMetrics]) -> dict[str, float]:
    """The metrics to log for the per-group values and the disparities.

    Keys are ``{metric}/{feature}/{group}`` (each group's value, ``count`` included),
    ``{metric}_difference/{feature}`` and ``{metric}_ratio/{feature}``. Feature and group names
    are made valid metric-key parts: ``&`` becomes ``and`` (``"sex & race"`` ->
    ``"sex and race"``), any character other than letters, digits, ``_ - .`` and space becomes
    ``_``, an empty name or one of dots becomes ``_``, a name is cut at 100 characters (keys
    hold at most 250); two names that end up alike keep the
    first as is and number the next (``a_b``, ``a_b_2``), in the groups' order. NaN values (a
    metric undefined on a group, a ratio with a zero largest value) are left out: the table
    artifact shows them as empty.
    """
    keys: dict[str, float] = {}
    for features, group in zip(_unique_parts([g.feature for g in groups]), groups, strict=True):
        table = group.by_group
        for group_part, (_, row) in zip(_unique_parts(list(table.index)), table.iterrows(), strict=True):
            for metric, value in row.items():
                keys[f"{metric}/{features}/{group_part}"] = float(value)
        for metric in group.difference.index:
            keys[f"{metric}_difference/{features}"] = float(group.difference[metric])
            keys[f"{metric}_ratio/{features}"] = float(group.ratio[metric])
    return {key: value for key, value in keys.items() if not math.isnan(value)}


def fairness_table(groups: list[GroupMetrics]) -> pd.DataFrame:
    """The per-group metrics and disparities as one long table (the CSV artifact).

    Columns: ``sensitive_feature`` (the feature, or ``"sex & race"`` for an intersection),
    ``row`` (``"group"``, ``"difference"`` or ``"ratio"``), ``group`` (the group's value as
    text, ``"(missing)"`` for missing values; empty on the disparity rows), ``count`` (rows in
    the group; empty on the disparity rows), then one column per metric. Each feature's groups
    come first, then its two disparity rows (fairlearn's between-groups difference and ratio of
    each metric). Undefined values are empty (NaN).
    """
    frames = []
    for group in groups:
        table = group.by_group
        rows = table.reset_index(drop=True)
        rows.insert(0, "group", [group_label(v) for v in table.index])
        rows.insert(0, "row", "group")
        disparity = pd.DataFrame([group.difference, group.ratio])
        disparity.insert(0, "group", None)
        disparity.insert(0, "row", ["difference", "ratio"])
        both = pd.concat([rows, disparity], ignore_index=True)
        both.insert(0, "sensitive_feature", group.feature)
        frames.append(both)
    if not frames:
        return pd.DataFrame(columns=["sensitive_feature", "row", "group", "count"])
    table = pd.concat(frames, ignore_index=True)
    for column in ["count", *COUNT_METRICS.intersection(table.columns)]:
        values = table[column]
        if ((values % 1 == 0) | values.isna()).all():  # whole numbers written without ".0"
            table[column] = values.astype("Int64")
    return table
