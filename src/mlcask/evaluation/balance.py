"""Data balance of the sensitive features and the target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlcask.evaluation.labels import LabelSpace


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


def data_balance(sensitive: pd.DataFrame, y_true: Any, *, model_type: str,
                 space: LabelSpace | None) -> DataBalance:
    """The balance of the sensitive features and the target in the evaluation set."""
    raise NotImplementedError
