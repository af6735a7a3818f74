"""Per-group metrics and their disparity over sensitive features (fairlearn's MetricFrame)."""

from __future__ import annotations

from dataclasses import dataclass

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
