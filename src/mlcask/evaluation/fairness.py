"""Per-group metrics and their disparity over sensitive features (fairlearn's MetricFrame)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


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


MetricFn = Callable[..., float]


def sensitive_frame(data: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The sensitive columns of ``data``, checked (absent column, fewer than two groups)."""
    raise NotImplementedError


def group_metrics(metric_fns: dict[str, MetricFn], y_true: Any, y_pred: Any, sensitive: pd.DataFrame, *,
                  y_proba: np.ndarray | None = None, sample_weights: Any = None) -> list[GroupMetrics]:
    """One :class:`GroupMetrics` per sensitive feature (and one for their intersection)."""
    raise NotImplementedError


def fairness_metric_keys(groups: list[GroupMetrics]) -> dict[str, float]:
    """The per-group and disparity metric keys to log, sanitized to MLflow's key rule."""
    raise NotImplementedError


def fairness_table(groups: list[GroupMetrics]) -> pd.DataFrame:
    """The long table artifact: one row per (feature, group), plus the disparity rows."""
    raise NotImplementedError
