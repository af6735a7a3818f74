"""``mlflow.models.evaluation``: ``evaluate`` and its companions, from :mod:`mlcask.evaluation`.

The evaluation layer sits above ``models`` (it loads and scores models and logs into runs), so
these names are looked up by name on first use, as :mod:`mlcask.models.logging_hook` reaches
the tracking layer; nothing here imports it.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {name: "mlcask.evaluation" for name in (
    "evaluate", "EvaluationArtifact", "EvaluationMetric", "EvaluationResult", "list_evaluators", "make_metric",
    "MetricThreshold", "ModelValidationFailedException", "validate_evaluation_results")}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
