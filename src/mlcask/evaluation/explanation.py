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
    """

    method: str
    is_shap: bool
    feature_names: list[str]
    importance: pd.Series
    rows: np.ndarray
    contributions: np.ndarray | None = None
    base_value: float | None = None
