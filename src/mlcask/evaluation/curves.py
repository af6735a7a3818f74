"""The data behind the classifier plots: ROC, precision-recall, lift and calibration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.labels import LabelSpace


@dataclass
class Curve:
    """One curve: its points, its legend label and its area (AUC or average precision)."""

    x: np.ndarray
    y: np.ndarray
    label: str
    auc: float


def roc_curves(y_true: Any, y_proba: np.ndarray, space: LabelSpace, *, sample_weights: Any = None) -> list[Curve]:
    """One ROC curve (binary) or one per class (multiclass, one-vs-rest)."""
    raise NotImplementedError


def pr_curves(y_true: Any, y_proba: np.ndarray, space: LabelSpace, *, sample_weights: Any = None) -> list[Curve]:
    """One precision-recall curve (binary) or one per class; ``auc`` is the average precision."""
    raise NotImplementedError


def calibration_bins(y_true: Any, prob_pos: np.ndarray, space: LabelSpace, *, n_bins: int = 10,
                     strategy: str = "uniform") -> pd.DataFrame:
    """Columns bin_low, bin_high, mean_predicted, fraction_positive, count (non-empty bins)."""
    raise NotImplementedError


def lift_curve(y_true: Any, prob_pos: np.ndarray, space: LabelSpace) -> Curve:
    """The lift of the positive class against the fraction of rows taken by score."""
    raise NotImplementedError
