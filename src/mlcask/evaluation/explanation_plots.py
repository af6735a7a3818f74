"""PNG charts of an explanation (MLflow's artifact names), drawn with matplotlib's object API."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlcask.evaluation.explanation import Explanation


def write_explanation_plots(out_dir: Path, explanation: Explanation, X: pd.DataFrame, *,
                            prefix: str = "") -> dict[str, Path]:
    """Write the explanation's charts into ``out_dir``; return {artifact name: PNG path}."""
    raise NotImplementedError("write_explanation_plots: being written (issue 15, helper C)")


def importance_table(explanation: Explanation) -> pd.DataFrame:
    """The global importance as a table: columns feature, importance, method."""
    raise NotImplementedError("importance_table: being written (issue 15, helper C)")
