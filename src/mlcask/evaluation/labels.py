"""The label space of a classifier evaluation: its classes, the positive one and where it sits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabelSpace:
    """The classes a classifier evaluation scores against.

    ``labels`` is sorted, with the positive label last for a binary problem (MLflow's order);
    ``pos_index`` is the column of ``predict_proba``'s output that holds the positive class.
    """

    labels: np.ndarray
    pos_label: object | None
    pos_index: int

    @property
    def is_binary(self) -> bool:
        return len(self.labels) == 2
