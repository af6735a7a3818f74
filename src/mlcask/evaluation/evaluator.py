"""``evaluate``: MLflow 3's ``mlflow.models.evaluate`` for classifiers and regressors (and
``model_type=None`` with extra metrics), logged into the active run or a new one, plus the
Responsible-AI report (:mod:`mlcask.evaluation.responsible`).

The evaluators and their configs resolve as in MLflow (``evaluators`` None: every built-in one
that applies; a flat ``evaluator_config`` applies to all of them, or it is nested by evaluator
name, ``"default"`` standing for the built-in ones). The model runs once on the data (plus once
more for ``predict_proba``); the metrics go to the store in one batch and the artifacts in one
upload, from one temporary folder.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcask.evaluation.builtin import run_builtin
from mlcask.evaluation.data import EvalData, load_eval_data
from mlcask.evaluation.model_access import EvalModel, resolve_model
from mlcask.evaluation.responsible import sensitive_names
from mlcask.evaluation.result import (
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationResult,
    ImageEvaluationArtifact,
    JsonEvaluationArtifact,
    NumpyEvaluationArtifact,
    ParquetEvaluationArtifact,
    PickleEvaluationArtifact,
    TextEvaluationArtifact,
)
from mlcask.evaluation.state import Outcome, Plan
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

__all__ = ["BUILTIN_EVALUATORS", "evaluate", "list_evaluators", "resolve_evaluators_and_configs"]

_logger = logging.getLogger(__name__)

BUILTIN_EVALUATORS = ("default", "classifier", "regressor", "shap")
MODEL_TYPES = ("classifier", "regressor")
# MLflow's other model types: its default evaluator scores them with text metrics mlcask does not have.
_TEXT_MODEL_TYPES = ("question-answering", "text-summarization", "text", "retriever", "databricks-agent")
DATASETS_TAG = "mlflow.datasets"
_KINDS: dict[str, type[EvaluationArtifact]] = {
    "image": ImageEvaluationArtifact, "csv": CsvEvaluationArtifact, "json": JsonEvaluationArtifact,
    "numpy": NumpyEvaluationArtifact, "parquet": ParquetEvaluationArtifact, "text": TextEvaluationArtifact,
    "pickle": PickleEvaluationArtifact}


def _invalid(message: str) -> MlcaskException:
    return MlcaskException(message, error_code=INVALID_PARAMETER_VALUE)


def list_evaluators() -> list[str]:
    """The names of the available evaluators (MLflow's built-in ones)."""
    return list(BUILTIN_EVALUATORS)


# -- evaluators and configs (MLflow's resolve_evaluators_and_configs) ----------------------------------------
def _can_evaluate(name: str, model_type: str | None, config: dict) -> bool:
    if name == "default":
        return model_type in MODEL_TYPES + _TEXT_MODEL_TYPES[:-1] or model_type is None
    if name == "shap":
        return model_type in MODEL_TYPES and bool(config.get("log_model_explainability", True))
    return model_type == name


def _check_registered(name: str) -> None:
    if name not in BUILTIN_EVALUATORS:
        raise _invalid(f"Could not find a registered model evaluator for: {name}. Currently registered evaluator "
                       f"names are: {list(BUILTIN_EVALUATORS)}")


def _default_bundles(model_type: str | None, config: dict) -> list[tuple[str, dict]]:
    found = [(n, config) for n in BUILTIN_EVALUATORS[1:] if _can_evaluate(n, model_type, config)]
    return found or [("default", config)]


def _all_bundles(evaluator_config: dict | None, model_type: str | None) -> list[tuple[str, dict]]:
    config = evaluator_config or {}
    if not any(name in config for name in BUILTIN_EVALUATORS):
        config = dict.fromkeys(BUILTIN_EVALUATORS, config)
    resolved = [(n, config.get(n, {})) for n in BUILTIN_EVALUATORS if _can_evaluate(n, model_type, config.get(n, {}))]
    default = next((b for b in resolved if b[0] == "default"), None)
    others = [b for b in resolved if b[0] != "default"]
    if default is not None and others:
        return [(n, c or default[1]) for n, c in others]
    return resolved


def resolve_evaluators_and_configs(evaluators: str | list[str] | None, evaluator_config: dict | None,
                                   model_type: str | None = None) -> list[tuple[str, dict]]:
    """(evaluator name, its config) for each evaluator that runs, by MLflow's rules."""
    if evaluators is None:
        return _all_bundles(evaluator_config, model_type)
    if isinstance(evaluators, str):
        if evaluator_config is not None and not isinstance(evaluator_config, dict):
            raise _invalid("If `evaluators` argument is the name of an evaluator, evaluator_config must be None or a "
                           "dict containing config items for the evaluator.")
        if evaluators == "default":
            return _default_bundles(model_type, evaluator_config or {})
        return [(evaluators, evaluator_config or {})] if evaluators in BUILTIN_EVALUATORS else []
    if isinstance(evaluators, list):
        if evaluator_config is not None and not (
                isinstance(evaluator_config, dict)
                and all(k in evaluators and isinstance(v, dict) for k, v in evaluator_config.items())):
            raise _invalid("If `evaluators` argument is an evaluator name list, evaluator_config must be a dict "
                           "containing mapping from evaluator name to individual evaluator config dict.")
        resolved: list[tuple[str, dict]] = []
        for name in evaluators:
            config = (evaluator_config or {}).get(name, {})
            if name == "default":
                resolved.extend(_default_bundles(model_type, config))
            else:
                _check_registered(name)
                resolved.append((name, config))
        return resolved
    raise _invalid("Invalid `evaluators` and `evaluator_config` arguments. Please refer to the documentation for "
                   "correct usage.")


def _plan(bundles: list[tuple[str, dict]], model_type: str | None) -> Plan:
    plan = Plan(model_type=model_type)
    for name, config in bundles:
        if not _can_evaluate(name, model_type, config):
            continue
        if name in MODEL_TYPES:
            plan.metrics_config = config
        elif name == "shap":
            plan.explain_config = config
        else:
            plan.default_config = config
    if plan.metrics_config is None and plan.explain_config is None and plan.default_config is None:
        raise _invalid("The model could not be evaluated by any of the registered evaluators, please verify that "
                       "the model type and other configs are set correctly.")
    for _, config in bundles:
        _check_prefix(config.get("metric_prefix"))
    return plan


_PREFIX = re.compile(r"[A-Za-z0-9_\-. ]*")


def _check_prefix(prefix: Any) -> None:
    """``metric_prefix`` starts metric keys and artifact file names: plain characters only, so it can
    neither nest a file in a folder nor climb out of one."""
    if prefix is None or prefix == "":
        return
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix) or prefix.startswith("."):
        raise _invalid(f"evaluator_config['metric_prefix'] must be a string of letters, digits, '_', '-', '.' and "
                       f"spaces, not starting with '.', got {prefix!r}.")


# -- arguments ------------------------------------------------------------------------------------------
def _check_arguments(data: Any, model_type: str | None, targets: Any, extra_metrics: Any,
                     inference_params: Any) -> None:
    from mlcask.data.dataset import Dataset

    if inference_params is not None:
        raise _invalid("The inference_params argument can only be specified when the model is an MLflow "
                       "Deployments endpoint URI like `endpoints:/my-chat`")
    if data is None:
        raise _invalid("The data argument cannot be None.")
    if model_type in _TEXT_MODEL_TYPES:
        raise _invalid(f"mlcask.evaluate evaluates model_type 'classifier' or 'regressor' (or None with "
                       f"extra_metrics); MLflow's model type {model_type!r} (text and agent metrics) is not supported.")
    if model_type in MODEL_TYPES:
        if isinstance(data, Dataset):
            if targets is None and getattr(data, "targets", None) is None:
                raise _invalid(
                    f"The targets column name must be specified in the provided Dataset for {model_type} models. "
                    "For example: `data = mlflow.data.from_pandas(df=X.assign(y=y), targets='y')`")
        elif targets is None:
            raise _invalid(f"The targets argument must be specified for {model_type} models.")
    elif model_type is None and not extra_metrics:
        raise _invalid("The extra_metrics argument must be specified model_type is None.")


def _context_prefix(bundles: list[tuple[str, dict]]) -> str | None:
    for _, config in bundles:
        if config.get("metric_prefix"):
            return str(config["metric_prefix"])
    return None


@contextmanager
def _run() -> Iterator[Any]:
    """The active run, or a new one for the evaluation (MLflow's ``_start_run_or_reuse_active_run``)."""
    from mlcask.tracking import fluent

    active = fluent.active_run()
    if active is not None:
        yield active
        return
    with fluent.start_run() as run:
        yield run


# -- logging ----------------------------------------------------------------------------------------------
def _datasets_tag(client: Any, run_id: str, model: EvalModel, data: EvalData) -> list[Any]:
    """MLflow's ``mlflow.datasets`` run tag entry for this data and model (when the model has metadata)."""
    from mlcask.entities import RunTag

    metadata = model.metadata
    if metadata is None:
        return []
    uuid = getattr(metadata, "model_uuid", None)
    entries = json.loads(client.get_run(run_id).data.tags.get(DATASETS_TAG, "[]"))
    mine = data.tag_metadata()
    if not any(e.get("hash") == mine["hash"] and e.get("name") == mine["name"] and e.get("model") == uuid
               for e in entries):
        entries.append({**mine, "model": uuid})
    return [RunTag(DATASETS_TAG, json.dumps(entries, separators=(",", ":")))]


def _log(client: Any, run: Any, model: EvalModel, data: EvalData, outcome: Outcome, context: str | None,
         out_dir: Path) -> None:
    from mlcask.data.dataset import dataset_input
    from mlcask.entities import Metric, RunTag
    from mlcask.evaluation.report import REPORT_TAG

    run_id = run.info.run_id
    with warnings.catch_warnings():  # the schema's hints are for signatures; here it only describes the data
        warnings.simplefilter("ignore", UserWarning)
        logged = dataset_input(data.dataset, context=context)
    client.log_inputs(run_id, datasets=[logged], models=[model.model_id] if model.model_id else None)
    now = int(time.time() * 1000)
    metrics = [Metric(key, float(value), now, 0, model.model_id, data.name, data.digest, run_id)
               for key, value in outcome.metrics.items()]
    tags = _datasets_tag(client, run_id, model, data)
    if outcome.report_file:
        tags.append(RunTag(REPORT_TAG, outcome.report_file))
    client.log_batch(run_id, metrics=metrics, tags=tags, synchronous=True)
    if any(out_dir.iterdir()):
        client.log_artifacts(run_id, out_dir)
    if outcome.report_file:
        _tag_model_with_report(client, model, run_id, outcome.report_file)


def _tag_model_with_report(client: Any, model: EvalModel, run_id: str, report_file: str) -> None:
    from mlcask.evaluation.report import REPORT_TAG

    model_id = model.model_id or getattr(model.pyfunc, "model_id", None)
    if not model_id:
        return
    try:
        client.set_logged_model_tags(model_id, {REPORT_TAG: f"runs:/{run_id}/{report_file}"})
    except MlcaskException as e:
        _logger.warning("The report was not linked to the logged model %s (%s).", model_id, e.message)


def _artifacts(outcome: Outcome, artifact_uri: str) -> dict[str, EvaluationArtifact]:
    return {name: _KINDS[kind](uri=f"{artifact_uri.rstrip('/')}/{file_name}", content=content)
            for name, (file_name, kind, content) in outcome.files.items()}


# -- evaluate -----------------------------------------------------------------------------------------------
def _features_without_sensitive(data: Any, targets: Any, predictions: Any, plan: Plan,
                                found: EvalModel) -> list[str] | None:
    """The feature columns when ``sensitive_features`` name columns the model does not take.

    MLflow's rule (every column but the targets and predictions) stands, except that a sensitive
    column the model does not take (by its signature, else its fitted column names) is data for
    the Responsible-AI part only; None leaves the rule as it is.
    """
    import pandas as pd

    sensitive = set(sensitive_names(plan.config)) if plan.model_type in ("classifier", "regressor") else set()
    if not sensitive or not isinstance(data, pd.DataFrame):
        return None
    takes = found.input_names()
    if takes is None:
        return None
    drop = {c for c in sensitive if c not in takes} | {targets, predictions}
    return [c for c in data.columns if c not in drop]


def evaluate(model: str | Any | Callable[..., Any] | None = None, data: Any = None, *,
             model_type: str | None = None, targets: Any = None, predictions: str | None = None,
             dataset_path: str | None = None, feature_names: list[str] | None = None,
             evaluators: str | list[str] | None = None, evaluator_config: dict[str, Any] | None = None,
             extra_metrics: list[Any] | None = None, custom_artifacts: list[Callable[..., Any]] | None = None,
             env_manager: str = "local", model_config: dict[str, Any] | None = None,
             inference_params: dict[str, Any] | None = None, model_id: str | None = None) -> EvaluationResult:
    """Evaluate a model on data and log the metrics and artifacts into the active run (or a new one).

    Parameters
    ----------
    model : str, PyFuncModel, callable or None
        A model URI (a path, ``runs:/``, ``models:/``), a loaded pyfunc model, a function of a
        DataFrame, or None when ``data`` holds the predictions (``predictions`` names the column).
    data : pandas.DataFrame, numpy.ndarray, list or mlcask.data dataset
        The evaluation set. A DataFrame's feature columns are all but ``targets`` and
        ``predictions`` unless ``feature_names`` says which.
    model_type : {"classifier", "regressor"} or None
        None computes ``extra_metrics`` only.
    targets : str or array-like
        The labels: a column name of a DataFrame, else an array.
    predictions : str, optional
        The predictions column (without a model), or the output column of a multi-output model.
    dataset_path : str, optional
        Where the data lives (kept in the ``mlflow.datasets`` tag).
    feature_names : list of str, optional
        The feature columns (DataFrame) or the names of the array's columns.
    evaluators : str or list of str, optional
        ``"default"``, ``"classifier"``, ``"regressor"``, ``"shap"``; None for every one that applies.
    evaluator_config : dict, optional
        MLflow's keys (``pos_label``, ``label_list``, ``average``, ``sample_weights``, ``metric_prefix``,
        ``log_model_explainability``, ``explainability_algorithm``, ``explainability_nsamples``,
        ``max_classes_for_multiclass_roc_pr``, ``col_mapping``, ...) and mlcask's
        ``sensitive_features``, ``log_report``, ``error_analysis_max_depth``; flat, or by evaluator name.
    extra_metrics : list of EvaluationMetric, optional
        Metrics built with :func:`mlcask.evaluation.make_metric`.
    custom_artifacts : list of callable, optional
        ``fn(eval_df, builtin_metrics, artifacts_dir) -> {name: object or path}``.
    env_manager : str
        ``"local"`` (the model runs in this environment).
    model_config : dict, optional
        Passed to ``mlcask.pyfunc.load_model`` when ``model`` is a URI.
    inference_params : dict, optional
        Only for MLflow Deployments endpoints, which mlcask does not evaluate (an error otherwise).
    model_id : str, optional
        The logged model the metrics are linked to (default: the model's own, else the active model).

    Returns
    -------
    EvaluationResult
        The metrics (MLflow's keys, ``metric_prefix`` in front), the artifacts and the run id.
    """
    if evaluator_config is not None and isinstance(evaluator_config.get("col_mapping"), dict):
        col_mapping = evaluator_config["col_mapping"]
        targets = col_mapping.get(targets, targets) if isinstance(targets, str) else targets
        predictions = col_mapping.get(predictions, predictions) if isinstance(predictions, str) else predictions
    _check_arguments(data, model_type, targets, extra_metrics, inference_params)
    from mlcask.evaluation.metric import check_extra_metrics

    extra = check_extra_metrics(extra_metrics)
    found = resolve_model(model, env_manager=env_manager, model_config=model_config, model_id=model_id)
    bundles = resolve_evaluators_and_configs(evaluators, evaluator_config, model_type)
    plan = _plan(bundles, model_type)
    if feature_names is None:
        feature_names = _features_without_sensitive(data, targets, predictions, plan, found)
    eval_data = load_eval_data(data, targets=targets, predictions=predictions, feature_names=feature_names,
                               has_model=found.pyfunc is not None, path=dataset_path)
    from mlcask.tracking.context import current_client

    client = current_client()
    with _run() as run, tempfile.TemporaryDirectory(prefix="mlcask-evaluate-") as folder:
        out_dir = Path(folder)
        outcome = run_builtin(plan, found, eval_data, out_dir, run_id=run.info.run_id, extra_metrics=extra,
                              custom_artifacts=custom_artifacts,
                              predictions=predictions if found.pyfunc is not None else None)
        _log(client, run, found, eval_data, outcome, _context_prefix(bundles), out_dir)
        artifacts = _artifacts(outcome, run.info.artifact_uri)
    return EvaluationResult(metrics=outcome.metrics, artifacts=artifacts, run_id=run.info.run_id)
