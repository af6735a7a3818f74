"""Data balance of the sensitive features and the target.

How the evaluation set is spread over the groups of each sensitive feature (and over their
combinations), and how the *target* (the true labels, not the model's predictions) is spread
within each group: a model cannot be judged fairly on groups it barely sees, and a metric's
disparity between groups often starts as a difference in their base rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.fairness import group_label
from mlcask.evaluation.labels import LabelSpace
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

#: How the names of crossed features (and of their value combinations) are joined.
CROSSED_SEP = " & "


@dataclass
class DataBalance:
    """How the evaluation set is spread.

    ``features`` maps each sensitive feature to a table of its values (``count``, ``share`` and the
    target's rate or mean in each); ``target`` is the target's distribution (class counts and
    shares for a classifier, a summary for a regressor); ``crossed`` is the table over all
    sensitive features together when there are several.
    """

    features: dict[str, pd.DataFrame]
    target: pd.DataFrame
    crossed: pd.DataFrame | None = None
    measures: dict[str, float] = field(default_factory=dict)


def _fail(message: str) -> MlcaskException:
    return MlcaskException(message, INVALID_PARAMETER_VALUE)


def _target_columns(y_true: np.ndarray, model_type: str, space: LabelSpace | None) -> pd.DataFrame:
    """Per row, what the tables average per group: the positive flag, one flag per class, or the target."""
    if model_type == "regressor":
        try:
            return pd.DataFrame({"target_mean": y_true.astype(float)})
        except (TypeError, ValueError) as e:
            raise _fail(f"A regressor's targets must be numbers, got dtype {y_true.dtype}.") from e
    labels = np.unique(y_true) if space is None else space.labels
    if len(labels) == 2:
        positive = labels[-1] if space is None else space.pos_label
        return pd.DataFrame({"positive_rate": (y_true == positive).astype(float)})
    return pd.DataFrame({f"share_{group_label(label)}": (y_true == label).astype(float) for label in labels})


def _value_table(keys: pd.DataFrame, targets: pd.DataFrame, n: int) -> pd.DataFrame:
    grouped = pd.concat([keys, targets], axis=1).groupby(list(keys.columns), sort=True, observed=True,
                                                         dropna=False)
    table = grouped[list(targets.columns)].mean()
    table.insert(0, "share", grouped.size().to_numpy() / n)
    table.insert(0, "count", grouped.size().to_numpy().astype(np.int64))
    if keys.shape[1] > 1:
        table.index = pd.Index([CROSSED_SEP.join(group_label(v) for v in key) for key in table.index],
                               name=CROSSED_SEP.join(str(c) for c in keys.columns), dtype=object)
    else:
        table.index.name = str(keys.columns[0])
    return table


def _target_table(y_true: np.ndarray, model_type: str, space: LabelSpace | None) -> pd.DataFrame:
    if model_type == "regressor":
        summary = pd.Series(y_true.astype(float)).describe()
        summary = summary.rename({"25%": "q25", "50%": "median", "75%": "q75"})
        return summary.to_frame("target").T.rename_axis("target")
    labels = np.unique(y_true) if space is None else space.labels
    counts = np.array([(y_true == label).sum() for label in labels], dtype=np.int64)
    return pd.DataFrame({"count": counts, "share": counts / max(len(y_true), 1)},
                        index=pd.Index(list(labels), name="class"))


def _ratio(low: float, high: float) -> float:
    return float(low / high) if high else float("nan")


def _measures(name: str, table: pd.DataFrame, rate_columns: list[str]) -> dict[str, float]:
    shares = table["share"]
    measures = {f"{name}/min_max_share_ratio": _ratio(shares.min(), shares.max())}
    for column in rate_columns:
        values = table[column]
        measures[f"{name}/{column}_difference"] = float(values.max() - values.min())
        if column == "positive_rate":
            measures[f"{name}/{column}_ratio"] = _ratio(values.min(), values.max())
    return measures


def data_balance(sensitive: pd.DataFrame, y_true: Any, *, model_type: str,
                 space: LabelSpace | None) -> DataBalance:
    """How the evaluation set is spread over the sensitive features and the target.

    Parameters
    ----------
    sensitive : pandas.DataFrame
        The sensitive features, from :func:`mlcask.evaluation.fairness.sensitive_frame`
        (missing values already a group ``"(missing)"``).
    y_true : array-like of shape (n_samples,)
        The targets (the true labels, never the predictions).
    model_type : {"classifier", "regressor"}
    space : LabelSpace, optional
        The classes (and the positive one) of a classifier; without it, the sorted distinct
        targets, the greatest positive.

    Returns
    -------
    DataBalance
        ``features[name]``: one row per value of the feature (sorted), with ``count`` (rows),
        ``share`` (of all rows), then ``positive_rate`` (binary: share of the group's rows
        whose target is the positive class), ``share_<class>`` per class (multiclass) or
        ``target_mean`` (regressor). ``target``: per class ``count`` and ``share``, or for a
        regressor one row (index ``"target"``) with columns ``count, mean, std, min, q25, median,
        q75, max``.
        ``crossed``: the same table over every combination of the sensitive features present
        in the data (index ``"F & a"``, named ``"sex & race"``), when there are several.
        ``measures``, per feature name (and the crossed name), keys ``<name>/...``:
        ``min_max_share_ratio`` (the smallest group's share over the largest's: 1 is even),
        ``positive_rate_difference`` and ``positive_rate_ratio`` (binary: the largest minus
        the smallest group positive rate of the *targets*, and smallest over largest: the
        demographic parity difference and ratio, fairlearn's definitions, computed on the
        labels instead of the predictions), ``share_<class>_difference`` (multiclass: per
        class, largest minus smallest group share of that class), ``target_mean_difference``
        (regressor: largest minus smallest group mean); plus ``target/min_max_class_share_ratio``
        (classifier: the rarest class's count over the commonest's).
    """
    if model_type not in ("classifier", "regressor"):
        raise _fail(f"Data balance needs model_type 'classifier' or 'regressor', got {model_type!r}.")
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) != len(sensitive):
        raise _fail(f"The targets must be one value per row of the sensitive features ({len(sensitive)} rows), "
                    f"got shape {y_true.shape}.")
    sensitive = sensitive.reset_index(drop=True)
    targets = _target_columns(y_true, model_type, space)
    rates = list(targets.columns)
    n = len(sensitive)
    features = {str(name): _value_table(sensitive[[name]], targets, n) for name in sensitive.columns}
    measures: dict[str, float] = {}
    for name, table in features.items():
        measures.update(_measures(name, table, rates))
    crossed = None
    if sensitive.shape[1] > 1:
        crossed = _value_table(sensitive, targets, n)
        measures.update(_measures(str(crossed.index.name), crossed, rates))
    target = _target_table(y_true, model_type, space)
    if model_type == "classifier":
        measures["target/min_max_class_share_ratio"] = _ratio(target["count"].min(), target["count"].max())
    return DataBalance(features, target, crossed, measures)
