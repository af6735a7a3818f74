"""The PNG plots MLflow's default classifier evaluator logs, drawn fast with matplotlib's Agg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlcask.evaluation.labels import LabelSpace


def write_classifier_plots(out_dir: Path, *, y_true: Any, y_pred: Any, y_proba: np.ndarray | None,
                           space: LabelSpace, config: dict, prefix: str = "",
                           sample_weights: Any = None) -> dict[str, Path]:
    """Artifact name (MLflow's) -> the PNG written, ``out_dir / f"{prefix}{name}.png"``."""
    raise NotImplementedError
