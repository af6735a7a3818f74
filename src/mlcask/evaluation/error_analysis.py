"""Error analysis: the cohorts (feature conditions) where a model fails most, from a shallow tree fit on its errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
