"""The state an evaluation passes between its parts: the plan (which built-in evaluators run, with
their configs), the predictions, the scored outputs and the outcome (metrics and artifact files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "Plan", "Predictions", "Scored"]


@dataclass
class Plan:
    """Which built-in evaluators run, each with its config (None: that one does not run)."""

    model_type: str | None
    metrics_config: dict | None = None      # "classifier" / "regressor"
    explain_config: dict | None = None      # "shap"
    default_config: dict | None = None      # "default" (model_type None: extra metrics only)

    @property
    def config(self) -> dict:
        """The config the metrics and the report read (the metrics evaluator's, else the others')."""
        for config in (self.metrics_config, self.default_config, self.explain_config):
            if config is not None:
                return config
        return {}

    @property
    def prefix(self) -> str:
        prefix = self.config.get("metric_prefix") or ""
        return prefix if isinstance(prefix, str) else ""


@dataclass
class Outcome:
    """What the evaluation produced: metric key -> value (prefixed), artifact name -> (file, kind),
    the run tags to set, and the report's file when one was written."""

    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, str, Any]] = field(default_factory=dict)   # name -> (file name, kind, content)
    uploaded: set[str] = field(default_factory=set)   # artifacts already logged (not in the folder)
    report_file: str | None = None


@dataclass
class Predictions:
    y_pred: Any
    y_proba: Any = None
    other: Any = None
    column: str | None = None


@dataclass
class Scored:
    """A classifier's or regressor's outputs and default metrics (unprefixed)."""

    preds: Predictions
    metrics: dict[str, Any]
    space: Any = None
    y_true: Any = None
    y_pred: Any = None
