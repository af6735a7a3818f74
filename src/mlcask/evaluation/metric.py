"""Custom metrics for ``evaluate``: MLflow's ``make_metric``, ``EvaluationMetric`` and ``MetricValue``.

An extra metric is a function whose parameters are looked up *by name*, as MLflow's default
evaluator does: ``predictions``, ``targets``, ``metrics`` (every metric computed so far, as
``MetricValue``), a column of the input data, another model output column, an
``evaluator_config`` entry, another metric's name, or the parameter's default. ``col_mapping``
(in ``evaluator_config``) renames a parameter to a column, or gives its value directly.
A function of exactly two parameters that are not ``(predictions, targets)`` gets MLflow's
older form ``(eval_df, builtin_metrics)``: a frame with ``prediction`` and ``target`` columns and
the flat dict of metric values.
"""

from __future__ import annotations

import copy
import inspect
import keyword
import logging
import numbers
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

_logger = logging.getLogger(__name__)

_SPECIAL_PARAMS = ("predictions", "targets", "metrics")


def _is_number(value: Any) -> bool:
    """MLflow's ``_is_numeric``: a number that is not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def standard_aggregations(scores: Sequence[float]) -> dict[str, float]:
    """The aggregates MLflow derives from per-row scores: ``mean``, ``variance`` and ``p90``."""
    return {"mean": np.mean(scores), "variance": np.var(scores), "p90": np.percentile(scores, 90)}


@dataclass
class MetricValue:
    """The value of a metric: per-row ``scores``, their ``justifications``, and ``aggregate_results``.

    When ``aggregate_results`` is not given and ``scores`` is a list of numbers, it is filled with
    :func:`standard_aggregations` (``mean``, ``variance``, ``p90``), as in MLflow.
    """

    scores: list[str] | list[float] | None = None
    justifications: list[str] | None = None
    aggregate_results: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if (
            self.aggregate_results is None
            and isinstance(self.scores, (list, tuple))
            and all(_is_number(score) for score in self.scores)
        ):
            self.aggregate_results = standard_aggregations(self.scores)


class EvaluationMetric:
    """A metric for ``evaluate(extra_metrics=[...])``; build one with :func:`make_metric`.

    Calling the metric with keyword arguments calls ``eval_fn`` with them.
    """

    def __init__(self, eval_fn: Callable[..., Any], name: str, greater_is_better: bool,
                 long_name: str | None = None, version: str | None = None,
                 metric_details: str | None = None, metric_metadata: dict[str, Any] | None = None,
                 genai_metric_args: dict[str, Any] | None = None) -> None:
        self.eval_fn = eval_fn
        self.name = name
        self.greater_is_better = greater_is_better
        self.long_name = long_name or name
        self.version = version
        self.metric_details = metric_details
        self.metric_metadata = metric_metadata
        self.genai_metric_args = genai_metric_args

    def __call__(self, **kwargs: Any) -> Any:
        return self.eval_fn(**kwargs)

    def __str__(self) -> str:
        parts = [f"name={self.name}, greater_is_better={self.greater_is_better}"]
        for label in ("long_name", "version", "metric_details", "metric_metadata"):
            if value := getattr(self, label):
                parts.append(f"{label}={value}")
        return "EvaluationMetric(" + ", ".join(parts) + ")"


def make_metric(*, eval_fn: Callable[..., Any], greater_is_better: bool, name: str | None = None,
                long_name: str | None = None, version: str | None = None,
                metric_details: str | None = None, metric_metadata: dict[str, Any] | None = None,
                genai_metric_args: dict[str, Any] | None = None) -> EvaluationMetric:
    """Make an :class:`EvaluationMetric` for ``evaluate(extra_metrics=[...])``.

    Parameters
    ----------
    eval_fn : callable
        Computes the metric. Its parameters are filled by name: ``predictions`` (a Series),
        ``targets`` (a Series), ``metrics`` (dict of name to :class:`MetricValue`), or any name
        of an input column, another model output, an ``evaluator_config`` key, another metric,
        or one mapped through ``evaluator_config["col_mapping"]``. Returns a number, a
        :class:`MetricValue`, or None (not logged).
    greater_is_better : bool
        Whether a greater value is better.
    name : str, optional
        The metric's name (default ``eval_fn.__name__``; required for a lambda). No ``/``.
    long_name, version, metric_details, metric_metadata, genai_metric_args : optional
        As in MLflow. A ``version`` makes the metric's key ``name/version``.

    Returns
    -------
    EvaluationMetric

    Raises
    ------
    MlcaskException
        When no name can be found, or the name holds a ``/``.
    """
    if name is None:
        if isinstance(eval_fn, FunctionType) and eval_fn.__name__ == "<lambda>":
            raise MlcaskException("`name` must be specified if `eval_fn` is a lambda function.",
                                  INVALID_PARAMETER_VALUE)
        if not hasattr(eval_fn, "__name__"):
            raise MlcaskException(
                "`name` must be specified if `eval_fn` does not have a `__name__` attribute.",
                INVALID_PARAMETER_VALUE)
        name = eval_fn.__name__
    if "/" in name:
        raise MlcaskException(
            f"Invalid metric name '{name}'. Metric names cannot include forward slashes ('/').",
            INVALID_PARAMETER_VALUE)
    _warn_unusable_name(name)
    return EvaluationMetric(eval_fn=eval_fn, name=name, greater_is_better=greater_is_better,
                            long_name=long_name, version=version, metric_details=metric_details,
                            metric_metadata=metric_metadata, genai_metric_args=genai_metric_args)


def _warn_unusable_name(name: str) -> None:
    remedy = ("Please use a valid identifier to enable creation of derived metrics that use the "
              "given metric.")
    if not name.isidentifier():
        _logger.warning(f"The metric name '{name}' provided is not a valid Python identifier, which "
                        f"will prevent its use as a base metric for derived metrics. {remedy}")
    if keyword.iskeyword(name):
        _logger.warning(f"The metric name '{name}' is a reserved Python keyword, which will prevent "
                        f"its use as a base metric for derived metrics. {remedy}")
    if name in _SPECIAL_PARAMS:
        _logger.warning(f"The metric name '{name}' is used as a special parameter in MLflow metrics, "
                        "which will prevent its use as a base metric for derived metrics. Please use "
                        "a different name to enable creation of derived metrics that use the given "
                        "metric.")


def check_extra_metrics(extra_metrics: Sequence[Any] | None) -> list[EvaluationMetric]:
    """Return ``extra_metrics`` as a list, or raise MLflow's error naming each one of the wrong type."""
    extra_metrics = list(extra_metrics or [])
    bad = [m for m in extra_metrics if not isinstance(m, EvaluationMetric)]
    if bad:
        lines = "\n".join(f"- Metric '{m}' has type '{type(m).__name__}'" for m in bad)
        raise MlcaskException(
            "In the 'extra_metrics' parameter, the following metrics have the wrong type:\n"
            f"{lines}\n"
            "Please ensure that all extra metrics are instances of mlflow.metrics.EvaluationMetric.")
    return extra_metrics


def metric_key(metric: EvaluationMetric) -> str:
    """The key a metric's value is stored under: ``name``, or ``name/version`` when versioned."""
    return f"{metric.name}/{metric.version}" if metric.version else metric.name


def aggregate_metric_values(values: dict[str, MetricValue], *, prefix: str = "") -> dict[str, float]:
    """Flatten metric values into the metric keys MLflow logs (its ``_update_aggregate_metrics``).

    An aggregate named as its metric (``mae`` of ``mae/v1``) is logged under the metric's key;
    any other under ``key/aggregate``; None aggregates are dropped. ``prefix``
    (``evaluator_config["metric_prefix"]``) goes in front of both keys and aggregate names, as
    MLflow does, so that ``m``'s ``mean`` logs as ``{prefix}m/{prefix}mean``.
    """
    flat: dict[str, float] = {}
    for name, value in values.items():
        key = f"{prefix}{name}"
        for agg_name, agg_value in (value.aggregate_results or {}).items():
            if agg_value is None:
                continue
            agg_key = f"{prefix}{agg_name}"
            flat[key if agg_key == key.split("/")[0] else f"{key}/{agg_key}"] = agg_value
    return flat


def eval_table_columns(values: dict[str, MetricValue], *, prefix: str = "") -> dict[str, list]:
    """The per-row columns metric values add to ``eval_results_table.json`` (``key/score``, ``key/justification``)."""
    columns: dict[str, list] = {}
    for name, value in values.items():
        if value.scores:
            columns[f"{prefix}{name}/score"] = value.scores
        if value.justifications:
            columns[f"{prefix}{name}/justification"] = value.justifications
    return columns


def _is_legacy_signature(names: list[str]) -> bool:
    """MLflow's older ``(eval_df, builtin_metrics)`` form: two parameters, not ``(predictions, targets)``."""
    return len(names) == 2 and names[0] != "predictions" and names[1] != "targets"


def other_output_columns_used(metrics: Sequence[EvaluationMetric], *, input_df: pd.DataFrame,
                              other_outputs: pd.DataFrame | None, col_mapping: dict | None,
                              predictions_name: str | None = None,
                              targets_name: str | None = None) -> list[str]:
    """The model output columns (besides the predictions) that some metric takes as a parameter.

    MLflow adds these columns to ``eval_results_table.json``.
    """
    if other_outputs is None:
        return []
    col_mapping = col_mapping or {}
    reserved = {"predictions", "targets", "metrics", predictions_name, targets_name}
    used: list[str] = []
    for metric in metrics:
        names = list(inspect.signature(metric.eval_fn).parameters)
        if _is_legacy_signature(names):
            continue
        for name in names:
            column = col_mapping.get(name, name)
            if (isinstance(column, str) and column not in reserved and column not in input_df.columns
                    and column in other_outputs.columns and column not in used):
                used.append(column)
    return used


def evaluate_extra_metrics(metrics: list[EvaluationMetric], *, predictions: pd.Series, targets: Any,
                           input_df: pd.DataFrame, other_outputs: pd.DataFrame | None,
                           builtin_metrics: dict[str, float], col_mapping: dict | None,
                           evaluator_config: dict | None, predictions_name: str | None = None,
                           targets_name: str | None = None) -> dict[str, MetricValue]:
    """Compute the ``extra_metrics`` of ``evaluate`` as MLflow's default evaluator does.

    Parameters
    ----------
    metrics : list of EvaluationMetric
        ``evaluate``'s ``extra_metrics`` (anything else raises MLflow's wrong-type error).
    predictions : pandas.Series
        The model's predictions (the output column when the model has several).
    targets : array-like or None
        The labels; None when ``evaluate`` got no targets.
    input_df : pandas.DataFrame
        The features (the columns a parameter may name).
    other_outputs : pandas.DataFrame or None
        The model's output columns other than the predictions.
    builtin_metrics : dict
        The default metrics already computed (unprefixed key to number).
    col_mapping : dict
        ``evaluator_config["col_mapping"]``: parameter name to column name or to a value.
    evaluator_config : dict
        Its entries fill parameters of the same name.
    predictions_name, targets_name : str, optional
        The predictions and targets column names in the data (parameters of those names get the
        predictions and targets; the missing-parameter error lists them).

    Returns
    -------
    dict
        Metric key (``name`` or ``name/version``) to :class:`MetricValue`; metrics that returned
        None or a malformed value are left out with a warning, as in MLflow.

    Raises
    ------
    MlcaskException
        When a parameter cannot be resolved for any remaining metric (MLflow's "Metric
        calculation failed" message), or when a metric raises on the first row.
    """
    metrics = check_extra_metrics(metrics)
    run = _MetricRun(predictions=predictions, targets=targets, input_df=input_df,
                     other_outputs=other_outputs, builtin_metrics=builtin_metrics,
                     col_mapping=col_mapping or {}, evaluator_config=evaluator_config or {},
                     predictions_name=predictions_name, targets_name=targets_name)
    return run.compute(metrics)


class _MetricRun:
    """The state of one extra-metric evaluation: what parameters can be filled from."""

    def __init__(self, *, predictions, targets, input_df, other_outputs, builtin_metrics,
                 col_mapping, evaluator_config, predictions_name, targets_name) -> None:
        self.eval_df = pd.DataFrame({"prediction": copy.deepcopy(predictions)})
        if targets is not None:
            self.eval_df["target"] = np.asarray(targets) if not isinstance(targets, pd.Series) \
                else targets.to_numpy()
        self.input_df = input_df if input_df is not None else pd.DataFrame(index=self.eval_df.index)
        self.other_outputs = other_outputs
        self.col_mapping = col_mapping
        self.evaluator_config = evaluator_config
        self.predictions_name = predictions_name
        self.targets_name = targets_name
        self.values: dict[str, MetricValue] = {
            name: MetricValue(aggregate_results={name: value}) for name, value in builtin_metrics.items()}
        self.ordered: list[tuple[int, EvaluationMetric]] = []

    def compute(self, metrics: list[EvaluationMetric]) -> dict[str, MetricValue]:
        if not metrics:
            return {}
        self._order(list(enumerate(metrics)))
        self._test_first_row()
        for index, metric in self.ordered:
            _, args = self._args_for(metric, self.eval_df, self.input_df)
            key = metric_key(metric)
            value = _checked_value(metric, index, args)
            if value is not None:
                self.values[key] = value
            else:  # never keep the one-row value of the first-row test
                self.values.pop(key, None)
        keys = dict.fromkeys(metric_key(metric) for _, metric in self.ordered)
        return {key: self.values[key] for key in keys if key in self.values}

    def _order(self, pending: list[tuple[int, EvaluationMetric]]) -> None:
        """Order metrics so each comes after the metrics it takes as parameters."""
        while pending:
            still_pending, failed = [], []
            for index, metric in pending:
                found, missing = self._args_for(metric, self.eval_df, self.input_df)
                if found:
                    self.ordered.append((index, metric))
                else:
                    still_pending.append((index, metric))
                    failed.append((metric.name, missing))
            if len(still_pending) == len(pending):
                raise MlcaskException(self._missing_message(failed), INVALID_PARAMETER_VALUE)
            pending = still_pending

    def _test_first_row(self) -> None:
        """Run every metric on the first row, to fail fast with all metrics' errors at once."""
        _logger.info("Testing metrics on first row...")
        errors = []
        first_eval, first_input = self.eval_df.iloc[[0]], self.input_df.iloc[[0]]
        for index, metric in self.ordered:
            try:
                _, args = self._args_for(metric, first_eval, first_input)
                if (value := _checked_value(metric, index, args)) is not None:
                    self.values[metric_key(metric)] = value
            except Exception as e:
                detail = e.message if isinstance(e, MlcaskException) else repr(e)
                errors.append(f"Metric '{metric.name}': Error:\n{detail}\n{traceback.format_exc()}")
        if errors:
            raise MlcaskException("\n".join(errors))

    def _args_for(self, metric: EvaluationMetric, eval_df: pd.DataFrame,
                  input_df: pd.DataFrame) -> tuple[bool, list]:
        """(True, the arguments) or (False, the names of the parameters that cannot be filled)."""
        eval_df = eval_df.copy()  # a metric that edits its arguments does not change the others'
        parameters = inspect.signature(metric.eval_fn).parameters
        if _is_legacy_signature(list(parameters)):
            return True, [eval_df, copy.deepcopy(aggregate_metric_values(self.values))]
        args, missing = [], []
        for name, param in parameters.items():
            found, value = self._resolve(name, eval_df, input_df)
            if found:
                args.append(value)
            elif param.default is inspect.Parameter.empty:
                missing.append(name)
            else:
                args.append(param.default)
        return (False, missing) if missing else (True, args)

    def _resolve(self, name: str, eval_df: pd.DataFrame, input_df: pd.DataFrame) -> tuple[bool, Any]:
        column = self.col_mapping.get(name, name)
        if column in ("predictions", self.predictions_name):
            return True, eval_df["prediction"]
        if column in ("targets", self.targets_name):
            return ("target" in eval_df), eval_df.get("target")
        if column == "metrics":
            return True, copy.deepcopy(self.values)
        if not isinstance(column, str):  # col_mapping gave the value itself
            return True, column
        if column in input_df.columns:
            return True, input_df[column]
        if self.other_outputs is not None and column in self.other_outputs.columns:
            return True, self.other_outputs[column]
        if column in self.evaluator_config:
            return True, self.evaluator_config[column]
        for key, value in self.values.items():
            if key.split("/")[0] == column:
                return True, value
        if any(column == metric.name for _, metric in self.ordered):
            return True, None  # computed before this one, but returned nothing
        return False, None

    def _missing_message(self, failed: list[tuple[str, list[str]]]) -> str:
        output_columns = [] if self.other_outputs is None else list(self.other_outputs.columns)
        output_columns.append(self.predictions_name or "predictions")
        input_columns = list(self.input_df.columns)
        if "target" in self.eval_df:
            input_columns.append(self.targets_name or "targets")
        return missing_parameters_message(failed, input_columns, output_columns)


def missing_parameters_message(failed: list[tuple[str, list[str]]], input_columns: list,
                               output_columns: list) -> str:
    """MLflow's "Metric calculation failed" message for metrics whose parameters cannot be filled."""
    parts = []
    for metric_name, params in failed:
        parts.append(f"Metric '{metric_name}' requires the following:")
        parts.extend(f"  - the '{p}' parameter needs to be specified"
                     for p in ("targets", "predictions") if p in params)
        if rest := [p for p in params if p not in ("targets", "predictions")]:
            parts.append(f"  - missing columns {rest} need to be defined or mapped")
    lines = [
        "Error: Metric calculation failed for the following metrics:",
        *parts,
        "",
        "Below are the existing column names for the input/output data:",
        f"Input Columns: {input_columns}",
        f"Output Columns: {output_columns}",
        "",
        "To resolve this issue, you may need to:",
        "- specify any required parameters",
        "- if you are missing columns, check that there are no circular dependencies among your",
        "metrics, and you may want to map them to an existing column using the following",
        "configuration:",
        "evaluator_config={'col_mapping': {<missing column name>: <existing column name>}}",
    ]
    return "\n".join(line.lstrip() for line in lines)


def _checked_value(metric: EvaluationMetric, index: int, args: list) -> MetricValue | None:
    """Call the metric; a number becomes a MetricValue, a malformed result None (with MLflow's warning)."""
    header = (f"Did not log metric '{metric.name}' at index {index} in the `extra_metrics` "
              "parameter because it")
    result = metric.eval_fn(*args)
    if result is None:
        _logger.warning(f"{header} returned None.")
        return None
    if isinstance(result, (int, float, np.number)):
        return MetricValue(aggregate_results={metric.name: result})
    if not isinstance(result, MetricValue):
        _logger.warning(f"{header} did not return a MetricValue.")
        return None
    if problem := _malformed(result):
        _logger.warning(f"{header} must return MetricValue with {problem}.")
        return None
    return result


def _malformed(value: MetricValue) -> str | None:
    """What is wrong with a MetricValue's fields (MLflow's wording), or None."""
    def number(v):
        return isinstance(v, (int, float, np.number))
    if value.scores is not None:
        if not isinstance(value.scores, list):
            return "scores as a list"
        if any(not (number(s) or isinstance(s, str) or s is None) for s in value.scores):
            return "numeric or string scores"
    if value.justifications is not None:
        if not isinstance(value.justifications, list):
            return "justifications as a list"
        if any(not (isinstance(j, str) or j is None) for j in value.justifications):
            return "string justifications"
    if value.aggregate_results is not None:
        if not isinstance(value.aggregate_results, dict):
            return "aggregate_results as a dict"
        if any(not (isinstance(k, str) and (number(v) or v is None))
               for k, v in value.aggregate_results.items()):
            return "aggregate_results with str keys and numeric values"
    return None
