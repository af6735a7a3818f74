"""Error analysis: the cohorts (feature conditions) where a model fails most, from a shallow tree fit on its errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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


def error_cohorts(X: pd.DataFrame, errors: np.ndarray, *, model_type: str, max_depth: int = 3,
                  min_size: int | None = None, top: int = 5) -> list[Cohort]:
    """The ``top`` cohorts by error rate, the leaves of a shallow tree fit on ``errors``."""
    raise NotImplementedError


def cohort_table(cohorts: list[Cohort]) -> pd.DataFrame:
    """The cohorts as a table (id, conditions, size, error_rate, error_share) for the CSV artifact."""
    raise NotImplementedError
