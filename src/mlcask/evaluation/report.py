"""The Responsible-AI report: one self-contained, offline HTML page of an evaluation.

``render_report`` turns a :class:`ReportData` (filled by ``evaluate``) into a single HTML
document: inline CSS, inline SVG charts (:mod:`mlcask.evaluation.svg_charts`), no script, no
external URL, no web font. It displays fully under the web UI's html-preview policy
``sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'``
and opens offline from a file. Every string that comes from the data (feature names, group
values, conditions, the model URI) is HTML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from mlcask.version import __version__

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlcask.evaluation.balance import DataBalance
    from mlcask.evaluation.curves import Curve
    from mlcask.evaluation.error_analysis import Cohort
    from mlcask.evaluation.explanation import Explanation
    from mlcask.evaluation.fairness import GroupMetrics
    from mlcask.evaluation.labels import LabelSpace

REPORT_ARTIFACT = "responsible_ai_report.html"
"""The report's artifact file name (``evaluate`` puts the metric prefix in front)."""

REPORT_TAG = "mlcask.evaluation.report"
"""The run tag (artifact path) and logged-model tag (``runs:/<run_id>/<path>``) naming the report."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ReportData:
    """Everything the report shows; sections whose data is missing are left out.

    ``confusion`` holds counts, rows the true class and columns the predicted one, in
    ``space.labels`` order. ``roc``/``pr`` are curves as ``mlcask.evaluation.curves`` computes them
    (binary: one; multiclass: one per class). ``calibration`` has the columns ``bin_low``,
    ``bin_high``, ``mean_predicted``, ``fraction_positive``, ``count``. ``cohort_importance``
    maps a cohort's ``id`` to the feature importance within that cohort. ``residuals`` (regressor)
    are ``y_true - y_pred``.
    """

    title: str
    model_uri: str | None
    model_type: str
    run_id: str | None
    dataset_name: str | None
    n_rows: int
    feature_names: list[str]
    target: str | None
    metrics: dict[str, float]
    space: LabelSpace | None = None
    confusion: np.ndarray | None = None
    roc: list[Curve] = field(default_factory=list)
    pr: list[Curve] = field(default_factory=list)
    calibration: pd.DataFrame | None = None
    explanation: Explanation | None = None
    groups: list[GroupMetrics] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    cohort_importance: dict[str, pd.Series] = field(default_factory=dict)
    balance: DataBalance | None = None
    residuals: np.ndarray | None = None
    created: datetime = field(default_factory=_now)
    mlcask_version: str = __version__


def render_report(data: ReportData) -> str:
    """Render the report as one self-contained HTML document (see the module docstring)."""
    raise NotImplementedError("render_report is being written")
