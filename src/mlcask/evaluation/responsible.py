"""The Responsible-AI part of an evaluation (beyond MLflow): per-group metrics and their disparity,
error cohorts and data balance, logged as metrics and tables, and the offline HTML report.

It runs when ``evaluator_config["sensitive_features"]`` names columns (read from the whole data,
whether or not they are model features) or ``evaluator_config["log_report"]`` is True (then the
report has no fairness sections).
"""

from __future__ import annotations

import logging
import pathlib
from typing import TYPE_CHECKING, Any

from mlcask.evaluation.artifact_files import write_csv
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

if TYPE_CHECKING:
    from mlcask.evaluation.data import EvalData
    from mlcask.evaluation.explanation import Explanation
    from mlcask.evaluation.model_access import EvalModel
    from mlcask.evaluation.state import Outcome, Plan, Scored

__all__ = ["balance_table", "responsible_ai", "sensitive_names"]

_logger = logging.getLogger(__name__)


def sensitive_names(config: dict) -> list[str]:
    """``evaluator_config["sensitive_features"]`` as a list of column names (a single name is allowed)."""
    names = config.get("sensitive_features")
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    try:
        names = list(names)
    except TypeError:
        raise MlcaskException(f"evaluator_config['sensitive_features'] must be a list of column names, got "
                              f"{type(names).__name__}.", error_code=INVALID_PARAMETER_VALUE) from None
    if not names:
        raise MlcaskException("evaluator_config['sensitive_features'] is empty: name at least one column.",
                              error_code=INVALID_PARAMETER_VALUE)
    return names


def balance_table(balance: Any) -> Any:
    """The data balance as one table: ``section`` (feature, crossed or target), ``feature``, ``value``
    and the columns of D's per-feature tables (count, share, the target's rate or mean)."""
    import pandas as pd

    parts = []
    for name, table in balance.features.items():
        parts.append(_section(table, "feature", name))
    if balance.crossed is not None:
        parts.append(_section(balance.crossed, "crossed", "crossed"))
    if balance.target is not None:
        parts.append(_section(balance.target, "target", "target"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _section(table: Any, section: str, feature: str) -> Any:
    frame = table.reset_index()
    frame = frame.rename(columns={frame.columns[0]: "value"})
    frame["value"] = frame["value"].astype(str)
    frame.insert(0, "feature", feature)
    frame.insert(0, "section", section)
    return frame


def _errors(plan: Plan, scored: Scored) -> Any:
    import numpy as np

    if plan.model_type == "classifier":
        return np.asarray(scored.y_true) != np.asarray(scored.y_pred)
    return np.abs(np.asarray(scored.y_true, dtype=float) - np.asarray(scored.y_pred, dtype=float))


def _metric_functions(plan: Plan, scored: Scored) -> dict[str, Any]:
    if plan.model_type == "classifier":
        from mlcask.evaluation.classifier_metrics import classifier_metric_functions

        return classifier_metric_functions(scored.space, average=plan.config.get("average", "weighted"))
    from mlcask.evaluation.regressor_metrics import regressor_metric_functions

    return regressor_metric_functions()


def _fairness(outcome: Outcome, plan: Plan, data: EvalData, scored: Scored, names: list[str],
              out_dir: pathlib.Path) -> tuple[list, Any, Any]:
    from mlcask.evaluation.balance import data_balance
    from mlcask.evaluation.fairness import fairness_metric_keys, fairness_table, group_metrics, sensitive_frame

    sensitive = sensitive_frame(data.frame, names)
    groups = group_metrics(_metric_functions(plan, scored), scored.y_true, scored.y_pred, sensitive,
                           y_proba=scored.preds.y_proba, sample_weights=plan.config.get("sample_weights"))
    prefix = plan.prefix
    outcome.metrics.update({f"{prefix}{key}": value for key, value in fairness_metric_keys(groups).items()})
    write_csv(outcome, out_dir, "fairness_metrics", fairness_table(groups), prefix)
    balance = data_balance(sensitive, scored.y_true, model_type=plan.model_type, space=scored.space)
    write_csv(outcome, out_dir, "data_balance", balance_table(balance), prefix)
    return groups, sensitive, balance


def responsible_ai(outcome: Outcome, plan: Plan, model: EvalModel, data: EvalData, scored: Scored,
                   explanation: Explanation | None, out_dir: pathlib.Path, run_id: str) -> None:
    """Add the fairness metrics, the tables and the report to ``outcome`` when the config asks for them."""
    config = plan.config
    names = sensitive_names(config)
    if not names and not config.get("log_report"):
        return
    if scored.y_true is None:
        raise MlcaskException("The Responsible-AI report needs targets: pass `targets`.",
                              error_code=INVALID_PARAMETER_VALUE)
    groups, balance = [], None
    if names:
        groups, _, balance = _fairness(outcome, plan, data, scored, names, out_dir)
    from mlcask.evaluation.error_analysis import cohort_table, error_cohorts

    cohorts = error_cohorts(data.X, _errors(plan, scored), model_type=plan.model_type,
                            max_depth=int(config.get("error_analysis_max_depth", 3)))
    write_csv(outcome, out_dir, "error_cohorts", cohort_table(cohorts), plan.prefix)
    _report(outcome, plan, model, data, scored, explanation, groups, cohorts, balance, out_dir, run_id)


def _classifier_views(scored: Scored, weights: Any) -> dict[str, Any]:
    import numpy as np

    from mlcask.evaluation.classifier_metrics import confusion_matrix
    from mlcask.evaluation.curves import calibration_bins, pr_curves, roc_curves

    space, proba = scored.space, scored.preds.y_proba
    views: dict[str, Any] = {"space": space,
                             "confusion": confusion_matrix(scored.y_true, scored.y_pred, space)}
    if proba is not None:
        views["roc"] = roc_curves(scored.y_true, proba, space, sample_weights=weights)
        views["pr"] = pr_curves(scored.y_true, proba, space, sample_weights=weights)
        if space.is_binary:
            views["calibration"] = calibration_bins(scored.y_true, np.asarray(proba)[:, space.pos_index], space)
    return views


def _report(outcome: Outcome, plan: Plan, model: EvalModel, data: EvalData, scored: Scored,
            explanation: Explanation | None, groups: list, cohorts: list, balance: Any, out_dir: pathlib.Path,
            run_id: str) -> None:
    import numpy as np

    from mlcask.evaluation.report import REPORT_ARTIFACT, ReportData, render_report

    views: dict[str, Any] = {}
    if plan.model_type == "classifier":
        views = _classifier_views(scored, plan.config.get("sample_weights"))
    else:
        views["residuals"] = np.asarray(scored.y_true, dtype=float) - np.asarray(scored.y_pred, dtype=float)
    if explanation is not None:
        from mlcask.evaluation.explain import cohort_importance

        views["cohort_importance"] = {c.id: cohort_importance(explanation, c.mask) for c in cohorts}
    subject = model.uri or ("the model" if model.pyfunc is not None else "the predictions")
    report = ReportData(
        title=f"Evaluation of {subject}", model_uri=model.uri, model_type=plan.model_type, run_id=run_id,
        dataset_name=data.name, n_rows=len(data.X), feature_names=list(data.feature_names), target=data.targets_name,
        metrics={k: float(v) for k, v in outcome.metrics.items()}, explanation=explanation, groups=groups,
        cohorts=cohorts, balance=balance, **views)
    file_name = f"{plan.prefix}{REPORT_ARTIFACT}"
    (out_dir / file_name).write_text(render_report(report), encoding="utf-8")
    outcome.files[REPORT_ARTIFACT.rsplit(".", 1)[0]] = (file_name, "text", None)
    outcome.report_file = file_name
