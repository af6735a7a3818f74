"""The built-in evaluation: predictions (once), MLflow's default metrics, extra metrics, custom
artifacts, plots, explanations and the Responsible-AI part, all written into one folder.

:func:`run_builtin` computes; :mod:`mlcask.evaluation.evaluator` logs what it returns (one metric
batch, one artifact upload). Nothing here talks to the tracking store except ``log_table`` for
``eval_results_table.json``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from mlcask.evaluation.data import EvalData, check_classifier_labels, check_regression_values
from mlcask.evaluation.model_access import EvalModel
from mlcask.evaluation.state import Outcome, Plan, Predictions, Scored
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

__all__ = ["Outcome", "Plan", "run_builtin"]

_logger = logging.getLogger(__name__)

_MISSING_OUTPUT = ("Output column name is not specified for the multi-output model. Please set the correct output "
                   "column name using the `predictions` parameter.")


# -- predictions ------------------------------------------------------------------------------------------
def split_outputs(outputs: Any, column: str | None) -> tuple[Any, Any, str | None]:
    """The prediction column of a model's ``outputs``, the other columns, and the column's name
    (MLflow's ``_extract_output_and_other_columns``)."""
    import pandas as pd

    if isinstance(outputs, list) and outputs and all(isinstance(p, dict) for p in outputs):
        outputs = pd.DataFrame(outputs)
    if isinstance(outputs, dict):
        outputs = pd.DataFrame(outputs)
    if not isinstance(outputs, pd.DataFrame):
        return outputs, None, column
    if column in outputs.columns:
        return outputs[column], outputs.drop(columns=column), column
    if len(outputs.columns) == 1:
        return outputs[outputs.columns[0]], None, outputs.columns[0]
    if column is None:
        raise MlcaskException(_MISSING_OUTPUT, error_code=INVALID_PARAMETER_VALUE)
    raise MlcaskException(
        f"Output column name '{column}' is not found in the model predictions dataframe {outputs.columns}. "
        "Please set the correct output column name using the `predictions` parameter.",
        error_code=INVALID_PARAMETER_VALUE)


def _as_vector(values: Any) -> Any:
    import numpy as np

    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    return array


def predict(model: EvalModel, data: EvalData, column: str | None, *, with_proba: bool) -> Predictions:
    """The model's predictions (and class probabilities) on the evaluation set, computed once."""
    if model.pyfunc is None:
        if data.predictions is None:
            raise MlcaskException(
                "Either a model or set of predictions must be specified in order to use the default evaluator. "
                "Either specify the `model` parameter, the `predictions` parameter, an MLflow dataset containing "
                "the `predictions` column name (via the `data` parameter), or a different evaluator (via the "
                "`evaluators` parameter).", error_code=INVALID_PARAMETER_VALUE)
        return Predictions(_as_vector(data.predictions), column=data.predictions_name)
    _logger.info("Computing model predictions.")
    try:
        return _model_predictions(model, data, column, with_proba=with_proba)
    except MlcaskException:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # the model refused the data: say which columns it got
        columns = list(getattr(data.X, "columns", []))
        shown = ", ".join(repr(str(c)) for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise MlcaskException(
            f"The model failed to predict on the evaluation data ({len(columns)} feature columns: {shown}): "
            f"{type(exc).__name__}: {exc}. Pass feature_names=[...] to choose the columns the model takes.",
            error_code=INVALID_PARAMETER_VALUE) from exc


def _model_predictions(model: EvalModel, data: EvalData, column: str | None, *, with_proba: bool) -> Predictions:
    import numpy as np

    if with_proba and model.predict_proba is not None:
        proba = np.asarray(model.predict_proba(data.X))
        if model.labels_from_proba is not None:
            return Predictions(model.labels_from_proba(proba), proba, None, column)
        y_pred, other, column = split_outputs(model.predict(data.X), column)
        return Predictions(_as_vector(y_pred), proba, other, column)
    y_pred, other, column = split_outputs(model.predict(data.X), column)
    return Predictions(_as_vector(y_pred), None, other, column)


# -- metrics --------------------------------------------------------------------------------------------
def _infer_label_type(y_true: Any) -> str | None:
    import pandas as pd

    name = pd.Series(y_true).convert_dtypes().dtype.name.lower()
    if name in ("category", "string", "boolean"):
        return "classifier"
    return "regressor" if name.startswith("float") else None


def _sklearn_score(model: EvalModel, data: EvalData, sample_weights: Any) -> dict[str, float]:
    if not model.is_sklearn:
        return {}
    try:
        return {"score": model.raw.score(data.X, data.y_true, sample_weight=sample_weights)}
    except Exception as e:  # noqa: BLE001 - MLflow's warning, the evaluation goes on
        _logger.warning("Computing sklearn model score failed: %r. Set logging level to DEBUG to see the full "
                        "traceback.", e)
        _logger.debug("", exc_info=True)
        return {}


def _log_label_space(space: Any) -> None:
    if space.is_binary:
        _logger.info("The evaluation dataset is inferred as binary dataset, positive label is %s, negative label "
                     "is %s.", space.labels[1], space.labels[0])
    else:
        _logger.info("The evaluation dataset is inferred as multiclass dataset, number of classes is inferred as "
                     "%d. If this is incorrect, please specify the `label_list` parameter in `evaluator_config`.",
                     len(space.labels))


def score_classifier(model: EvalModel, data: EvalData, config: dict, column: str | None) -> Scored:
    from mlcask.evaluation.classifier_metrics import classifier_metrics
    from mlcask.evaluation.labels import label_space

    if _infer_label_type(data.y_true) == "regressor":
        _logger.warning("According to the evaluation dataset label values, the model type looks like regressor, "
                        "but you specified model type 'classifier'. Please verify that you set the `model_type` "
                        "and `dataset` arguments correctly.")
    check_classifier_labels(data.y_true, model.classes, data.targets_name)
    preds = predict(model, data, column, with_proba=True)
    _check_length(preds.y_pred, data)
    space = label_space(data.y_true, preds.y_pred, label_list=config.get("label_list"),
                        pos_label=config.get("pos_label"))
    _log_label_space(space)
    weights = config.get("sample_weights")
    metrics = _sklearn_score(model, data, weights)
    metrics.update(classifier_metrics(data.y_true, preds.y_pred, preds.y_proba, space,
                                      average=config.get("average", "weighted"), sample_weights=weights))
    return Scored(preds, metrics, space, data.y_true, preds.y_pred)


def score_regressor(model: EvalModel, data: EvalData, config: dict, column: str | None) -> Scored:
    from mlcask.evaluation.regressor_metrics import regressor_metrics

    where = f"the targets column '{data.targets_name}'" if data.targets_name else "the targets"
    y_true = check_regression_values(data.y_true, where)
    preds = predict(model, data, column, with_proba=False)
    _check_length(preds.y_pred, data)
    y_pred = check_regression_values(preds.y_pred, "the model's predictions" if model.pyfunc is not None
                                     else f"the predictions column '{data.predictions_name}'")
    weights = config.get("sample_weights")
    metrics = _sklearn_score(model, data, weights)
    metrics.update(regressor_metrics(y_true, y_pred, sample_weights=weights))
    return Scored(preds, metrics, None, y_true, y_pred)


def _check_length(y_pred: Any, data: EvalData) -> None:
    if len(y_pred) != len(data.X):
        raise MlcaskException(f"The model gave {len(y_pred)} predictions for {len(data.X)} rows of evaluation data.",
                              error_code=INVALID_PARAMETER_VALUE)


def metric_values(metrics: dict[str, Any]) -> dict[str, Any]:
    """Built-in metrics as MetricValues (what extra metrics and custom artifacts receive, as in MLflow)."""
    from mlcask.evaluation.metric import MetricValue

    return {name: MetricValue(aggregate_results={name: value}) for name, value in metrics.items()}


def extra_metric_values(extra: list, scored: Scored, data: EvalData, config: dict,
                        column: str | None) -> dict[str, Any]:
    if not extra:
        return {}
    import pandas as pd

    from mlcask.evaluation.metric import evaluate_extra_metrics

    return evaluate_extra_metrics(
        extra, predictions=pd.Series(scored.preds.y_pred), targets=data.y_true, input_df=data.X,
        other_outputs=scored.preds.other, builtin_metrics=dict(scored.metrics),
        col_mapping=config.get("col_mapping", {}), evaluator_config=config,
        predictions_name=column or data.predictions_name, targets_name=data.targets_name)


# -- the whole built-in evaluation ------------------------------------------------------------------------
def run_builtin(plan: Plan, model: EvalModel, data: EvalData, out_dir: Path, *, run_id: str, extra_metrics: list,
                custom_artifacts: list | None, predictions: str | None) -> Outcome:
    """Evaluate as the planned built-in evaluators do; every file lands in ``out_dir``."""
    from mlcask.evaluation import artifact_files, responsible

    outcome = Outcome()
    config, prefix = plan.config, plan.prefix
    scored = _score(plan, model, data, predictions)
    if scored is not None:
        values = metric_values(scored.metrics) if plan.metrics_config is not None else {}
        values.update(extra_metric_values(extra_metrics, scored, data, config, scored.preds.column))
        if custom_artifacts:
            outcome.files.update(artifact_files.custom_artifacts(
                custom_artifacts, scored.preds.y_pred, data.y_true, copy.deepcopy(values), out_dir))
        from mlcask.evaluation.metric import aggregate_metric_values

        outcome.metrics.update(aggregate_metric_values(values, prefix=prefix))
        artifact_files.eval_table(outcome, values, scored.preds, data, predictions, prefix, run_id,
                                  _other_columns(plan, extra_metrics, scored, data, config))
        if plan.metrics_config is not None:
            artifact_files.metric_artifacts(outcome, plan, scored, out_dir)
    explanation = None
    if plan.explain_config is not None and plan.model_type in ("classifier", "regressor"):
        space = scored.space if scored is not None else None
        if space is None and plan.model_type == "classifier" and model.pyfunc is not None:
            space = space_for_explainer(model, data, plan.explain_config, predictions)
        explanation = artifact_files.explanations(outcome, model, data, plan, scored, out_dir, space)
    if scored is not None and plan.metrics_config is not None:
        responsible.responsible_ai(outcome, plan, model, data, scored, explanation, out_dir, run_id)
    return outcome


def _other_columns(plan: Plan, extra: list, scored: Scored, data: EvalData, config: dict) -> list[str]:
    """The model's other output columns an extra metric used; MLflow's default evaluator (only) puts
    them in ``eval_results_table.json``."""
    if plan.default_config is None or not extra or scored.preds.other is None:
        return []
    from mlcask.evaluation.metric import other_output_columns_used

    return other_output_columns_used(extra, input_df=data.X, other_outputs=scored.preds.other,
                                     col_mapping=config.get("col_mapping", {}),
                                     predictions_name=scored.preds.column or data.predictions_name,
                                     targets_name=data.targets_name)


def space_for_explainer(model: EvalModel, data: EvalData, config: dict, column: str | None) -> Any:
    """The classes, when only the explainer runs (MLflow predicts for its label list too)."""
    from mlcask.evaluation.labels import label_space

    preds = predict(model, data, column, with_proba=False)
    return label_space(data.y_true, preds.y_pred, label_list=config.get("label_list"),
                       pos_label=config.get("pos_label"))


def _score(plan: Plan, model: EvalModel, data: EvalData, predictions: str | None) -> Scored | None:
    config = plan.config
    if plan.metrics_config is not None and plan.model_type == "classifier":
        return score_classifier(model, data, config, predictions)
    if plan.metrics_config is not None and plan.model_type == "regressor":
        return score_regressor(model, data, config, predictions)
    if plan.default_config is not None:
        preds = predict(model, data, predictions, with_proba=False)
        return Scored(preds, {}, None, data.y_true, preds.y_pred)
    return None

