"""What an explainer found: global feature importance and, where available, per-row contributions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Explanation:
    """Feature attributions of one model on one evaluation set.

    ``method`` names how they were computed (``"xgboost_pred_contribs"``, ``"lightgbm_pred_contrib"``,
    ``"shap_tree"``, ``"shap_<algorithm>"``, ``"permutation"``); ``is_shap`` says the contributions
    are SHAP values. ``importance`` is one number per feature (mean absolute contribution, or the
    drop in score for permutation importance), sorted high to low. ``rows`` are the positions in
    the evaluation set of the rows explained (a sample), and ``contributions`` (``len(rows)`` x
    features, for the positive class or the single output) is None when the method gives none.

    ``output`` says in words what the numbers are about (e.g. ``"log-odds of class 1"``,
    ``"margin of each row's predicted class"``, ``"drop in accuracy_score"``). ``base_values``
    holds, per explained row, the value its contributions start from (``base_value`` is their
    common value when they are all equal): a row's contributions plus its base value give the
    model's output for that row. For permutation importance, ``row_effects`` (``len(rows)`` x
    features) is each row's share of the score drop (its mean over the rows is ``importance``),
    so that importance within any subset of the rows is known without running the model again,
    and ``importance_std`` the spread of the drop over the repeats.
    """

    method: str
    is_shap: bool
    feature_names: list[str]
    importance: pd.Series
    rows: np.ndarray
    contributions: np.ndarray | None = None
    base_value: float | None = None
    output: str = ""
    base_values: np.ndarray | None = None
    row_effects: np.ndarray | None = None
    importance_std: pd.Series | None = None


def importance_series(values: np.ndarray, names: list[str]) -> pd.Series:
    """One importance per feature as a Series named ``importance``, indexed by feature, high to low."""
    series = pd.Series(np.asarray(values, dtype=float), index=pd.Index(names, dtype=object), name="importance")
    return series.sort_values(ascending=False, kind="stable")
