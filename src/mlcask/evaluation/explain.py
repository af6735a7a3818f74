"""Feature attributions for ``evaluate``: the model's own fast contributions, SHAP, or permutation importance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.explanation import Explanation
from mlcask.evaluation.labels import LabelSpace


def explain(model: Any, X: pd.DataFrame, *, model_type: str, y_true: np.ndarray, space: LabelSpace | None,
            config: dict, predict: Callable[[pd.DataFrame], np.ndarray] | None = None) -> Explanation | None:
    """Explain ``model`` on a sample of ``X`` (signature committed early; body follows)."""
    raise NotImplementedError("explain: being written (issue 15, helper C)")


def cohort_importance(explanation: Explanation, mask: np.ndarray) -> pd.Series:
    """Feature importance within a cohort: the explained rows of ``X`` where ``mask`` is True."""
    raise NotImplementedError("cohort_importance: being written (issue 15, helper C)")
