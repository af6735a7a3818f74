"""Error analysis: the cohorts (feature conditions) where a model fails most, from a shallow tree fit on its errors.

As Microsoft's error-analysis tool does, a shallow decision tree learns *where* the errors are:
its input is the evaluation features, its target the model's errors (wrong or right for a
classifier, the absolute error for a regressor). Each leaf is a cohort: the rows meeting the
conditions on the path from the root, e.g. ``["30 < age <= 45.5", "sex == 'F'"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

#: Categories listed in full in a condition; longer sets are cut with "... (k more)".
_SHOWN_CATEGORIES = 8


@dataclass
class Cohort:
    """One leaf of the error tree: the rows meeting every condition.

    ``conditions`` read like ``"age > 45.5"`` or ``"sex == 'F'"``; ``mask`` marks the cohort's rows
    in the evaluation set; ``error_rate`` is the share of wrong predictions (classifier) or the
    mean absolute error (regressor) in the cohort; ``error_share`` its share of all errors.
    """

    id: str
    conditions: list[str]
    mask: np.ndarray
    size: int
    error_rate: float
    error_share: float


class _Missing:
    """The category of missing values (sorts and prints apart from every real value)."""

    def __repr__(self) -> str:
        return "missing"


_MISSING = _Missing()


@dataclass
class _Column:
    name: str
    categories: list[Any] | None  # None: numeric; else the categories in code order
    has_missing: bool


def _fail(message: str) -> MlcaskException:
    return MlcaskException(message, INVALID_PARAMETER_VALUE)


def _categorical(column: pd.Series, errors: np.ndarray) -> tuple[np.ndarray, list[Any]] | None:
    """Codes ordered by the category's mean error (so one threshold splits off the worst set)."""
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, arrays): not a feature the tree can use
        return None
    categories = list(uniques)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(categories), codes)
        categories.append(_MISSING)
    counts = np.maximum(np.bincount(codes, minlength=len(categories)), 1)
    means = np.bincount(codes, weights=errors, minlength=len(categories)) / counts
    order = sorted(range(len(categories)), key=lambda i: (means[i], repr(categories[i])))
    rank = np.empty(len(categories), dtype=np.int64)
    rank[order] = np.arange(len(categories))
    return rank[codes].astype(float), [categories[i] for i in order]


def _encode(X: pd.DataFrame, errors: np.ndarray) -> tuple[np.ndarray, list[_Column]]:
    """The tree's input: numeric columns as they are (NaN kept), others as error-ordered codes."""
    matrix, columns = [], []
    for position, name in enumerate(X.columns):
        column = X.iloc[:, position]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            matrix.append(values)
            columns.append(_Column(str(name), None, bool(np.isnan(values).any())))
        elif (pd.api.types.is_bool_dtype(column) or pd.api.types.is_object_dtype(column)
              or pd.api.types.is_string_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype)):
            encoded = _categorical(column, errors)
            if encoded is not None:
                matrix.append(encoded[0])
                columns.append(_Column(str(name), encoded[1], False))
        # datetimes, timedeltas, complex numbers: not used
    if not columns:
        return np.empty((len(X), 0)), columns
    # float32 in column order: what the tree works on (no copy inside sklearn)
    return np.asfortranarray(np.column_stack(matrix), dtype=np.float32), columns


def _number(value: float) -> str:
    digits = max(6, int(math.log10(abs(value))) + 3) if value else 6
    return f"{value:.{digits}g}"


def _value(category: Any) -> str:
    if isinstance(category, np.generic):
        category = category.item()
    return repr(category)


def _listed(categories: list[Any]) -> str:
    shown = sorted((_value(c) for c in categories), key=lambda text: (text == "missing", text))
    more = len(shown) - _SHOWN_CATEGORIES
    if more > 0:
        return "[" + ", ".join(shown[:_SHOWN_CATEGORIES]) + f", ... ({more} more)]"
    return "[" + ", ".join(shown) + "]"


def _category_condition(name: str, allowed: list[Any], others: list[Any]) -> str:
    if len(allowed) == 1:
        return f"{name} is missing" if allowed[0] is _MISSING else f"{name} == {_value(allowed[0])}"
    if len(others) == 1:
        return f"{name} is not missing" if others[0] is _MISSING else f"{name} != {_value(others[0])}"
    if len(allowed) <= len(others):
        return f"{name} in {_listed(allowed)}"
    return f"{name} not in {_listed(others)}"


def _numeric_condition(column: _Column, low: float, high: float, missing_ok: bool) -> str | None:
    name = column.name
    if low == math.inf:  # no value passes: only the missing ones are here
        return f"{name} is missing"
    if low > -math.inf and high < math.inf:
        bounds = f"{_number(low)} < {name} <= {_number(high)}"
    elif high < math.inf:
        bounds = f"{name} <= {_number(high)}"
    elif low > -math.inf:
        bounds = f"{name} > {_number(low)}"
    else:
        bounds = None
    if not column.has_missing:
        return bounds
    if missing_ok:
        return None if bounds is None else f"({bounds} or {name} is missing)"
    return bounds or f"{name} is not missing"


def _condition(column: _Column, low: float, high: float, missing_ok: bool) -> str | None:
    if column.categories is None:
        return _numeric_condition(column, low, high, missing_ok)
    codes = range(len(column.categories))
    allowed = [column.categories[c] for c in codes if low < c <= high]
    others = [column.categories[c] for c in codes if not low < c <= high]
    return _category_condition(column.name, allowed, others) if others else None


def _leaf_conditions(tree: Any, columns: list[_Column]) -> dict[int, list[str]]:
    """Each leaf's path as conditions, one per feature (bounds merged), in order of first split."""
    out: dict[int, list[str]] = {}
    stack: list[tuple[int, dict[int, tuple[float, float, bool]]]] = [(0, {})]
    while stack:
        node, bounds = stack.pop()
        left, right = tree.children_left[node], tree.children_right[node]
        if left < 0:
            texts = (_condition(columns[f], *state) for f, state in bounds.items())
            out[node] = [text for text in texts if text]
            continue
        feature, threshold = int(tree.feature[node]), float(tree.threshold[node])
        missing_left = bool(tree.missing_go_to_left[node])
        low, high, missing_ok = bounds.get(feature, (-math.inf, math.inf, True))
        stack.append((right, {**bounds, feature: (max(low, threshold), high, missing_ok and not missing_left)}))
        stack.append((left, {**bounds, feature: (low, min(high, threshold), missing_ok and missing_left)}))
    return out


def _check_errors(X: pd.DataFrame, errors: Any, model_type: str) -> np.ndarray:
    if model_type not in ("classifier", "regressor"):
        raise _fail(f"Error analysis needs model_type 'classifier' or 'regressor', got {model_type!r}.")
    values = np.asarray(errors)
    if values.ndim != 1 or len(values) != len(X):
        raise _fail(f"The errors must be one value per row of the features ({len(X)} rows), got shape {values.shape}.")
    try:
        values = values.astype(float)
    except (TypeError, ValueError) as e:
        raise _fail(f"The errors must be numbers or booleans, got dtype {values.dtype}.") from e
    if np.isnan(values).any():
        raise _fail(f"The errors hold {int(np.isnan(values).sum())} NaN values; give one error per row.")
    if model_type == "classifier" and not np.isin(values, (0.0, 1.0)).all():
        raise _fail("A classifier's errors must be booleans (True where the prediction is wrong).")
    if (values < 0).any():
        raise _fail("A regressor's errors must be absolute errors (>= 0); some are negative.")
    return values


def error_cohorts(X: pd.DataFrame, errors: np.ndarray, *, model_type: str, max_depth: int = 3,
                  min_size: int | None = None, top: int = 5) -> list[Cohort]:
    """The cohorts where the model fails most: the leaves of a shallow tree fit on its errors.

    Parameters
    ----------
    X : pandas.DataFrame
        The evaluation features. Numeric columns are used as they are (missing values included:
        the tree sends them down one side, and the conditions say so, e.g.
        ``"age <= 30 or age is missing"``). Bool, string, object and category columns are
        encoded as their categories ordered by mean error (missing values a category of their
        own), so one split sets apart the worst categories; their conditions name the values
        (``"sex == 'F'"``, ``"sex != 'F'"``, ``"city in ['A', 'B']"``). Other columns (dates,
        cells holding lists) are not used.
    errors : numpy.ndarray of shape (n_samples,)
        Classifier: True where the prediction is wrong. Regressor: the absolute error.
    model_type : {"classifier", "regressor"}
        Picks the tree: sklearn's ``DecisionTreeClassifier`` (on the wrong/right flag) or
        ``DecisionTreeRegressor`` (on the absolute error), ``random_state=0``.
    max_depth : int, default 3
        The tree's depth: a cohort has at most this many conditions.
    min_size : int, optional
        The fewest rows in a cohort (the tree's ``min_samples_leaf``); by default
        ``max(20, 1% of the rows)``.
    top : int, default 5
        How many cohorts to return.

    Returns
    -------
    list of Cohort
        The ``top`` leaves by error rate (ties: the larger first), ids ``cohort_1``... in that
        order. A leaf's conditions merge the bounds on one feature (``"30 < age <= 45.5"``);
        a tree that cannot split gives one cohort of every row with no conditions. Empty when
        there is no error at all. ``error_rate`` is the cohort's share of wrong predictions
        (classifier) or mean absolute error (regressor); ``error_share`` its part of all
        wrong predictions (or of the summed absolute error).
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    values = _check_errors(X, errors, model_type)
    total = float(values.sum())
    if total == 0 or len(X) == 0:
        return []
    n = len(X)
    min_size = max(20, math.ceil(n / 100)) if min_size is None else int(min_size)
    if min_size < 1 or max_depth < 1 or top < 1:
        raise _fail(f"min_size, max_depth and top must be at least 1, got {min_size}, {max_depth} and {top}.")
    matrix, columns = _encode(X.reset_index(drop=True), values)
    if not columns:
        matrix = np.zeros((n, 1))
    kind = DecisionTreeClassifier if model_type == "classifier" else DecisionTreeRegressor
    tree = kind(max_depth=max_depth, min_samples_leaf=min_size, random_state=0).fit(matrix, values)
    conditions = _leaf_conditions(tree.tree_, columns) if columns else {0: []}
    leaves = tree.apply(matrix)
    sizes = np.bincount(leaves, minlength=tree.tree_.node_count)
    sums = np.bincount(leaves, weights=values, minlength=tree.tree_.node_count)
    found = [leaf for leaf in conditions if sizes[leaf] >= min(min_size, n)]
    found.sort(key=lambda leaf: (-sums[leaf] / sizes[leaf], -sizes[leaf], leaf))
    return [Cohort(f"cohort_{rank}", conditions[leaf], leaves == leaf, int(sizes[leaf]),
                   float(sums[leaf] / sizes[leaf]), float(sums[leaf] / total))
            for rank, leaf in enumerate(found[:top], start=1)]


def cohort_table(cohorts: list[Cohort]) -> pd.DataFrame:
    """The cohorts as a table for the CSV artifact.

    Columns: ``id``, ``conditions`` (joined with ``" and "``; ``"all rows"`` for a cohort with
    none), ``size`` (rows), ``error_rate`` and ``error_share`` (see :func:`error_cohorts`).
    """
    return pd.DataFrame({
        "id": [c.id for c in cohorts],
        "conditions": [" and ".join(c.conditions) or "all rows" for c in cohorts],
        "size": np.array([c.size for c in cohorts], dtype=np.int64),
        "error_rate": np.array([c.error_rate for c in cohorts], dtype=float),
        "error_share": np.array([c.error_share for c in cohorts], dtype=float),
    })
