"""How an autologged ``pyspark.ml`` estimator is named and described, with MLflow's names.

Every stage reachable from the estimator (pipeline stages, Params-valued params such as
``OneVsRest.classifier`` or ``CrossValidator.evaluator``, a search's tuned estimator) gets
a name, depth first: its class name, or ``<class>_<n>`` when the class occurs more than
once (``Pipeline_1``, ``Pipeline_2``). Params of nested stages are logged as
``<stage name>.<param>``; a pipeline's ``stages`` param is the list of its stage names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EstimatorMetadata:
    """The names of the stages under an estimator, its hierarchy and its parameter searches."""

    hierarchy: dict[str, Any]
    names: dict[str, str]  # stage uid -> logged name
    searches: list[Any] = field(default_factory=list)


def class_name(instance: Any) -> str:
    cls = type(instance)
    return f"{cls.__module__}.{cls.__name__}"


def estimator_tags(estimator: Any) -> dict[str, str]:
    """``estimator_name`` and ``estimator_class``, the tags MLflow sets on the run."""
    return {"estimator_name": type(estimator).__name__, "estimator_class": class_name(estimator)}


def is_search(estimator: Any) -> bool:
    from pyspark.ml.tuning import CrossValidator, TrainValidationSplit

    return isinstance(estimator, (CrossValidator, TrainValidationSplit))


def is_search_model(model: Any) -> bool:
    from pyspark.ml.tuning import CrossValidatorModel, TrainValidationSplitModel

    return isinstance(model, (CrossValidatorModel, TrainValidationSplitModel))


def param_map(instance: Any) -> dict[str, Any]:
    """The instance's defined params (set or defaulted), by name."""
    return {param.name: instance.getOrDefault(param) for param in instance.params if instance.isDefined(param)}


def stage_params(instance: Any) -> dict[str, Any]:
    """The params whose value is itself a ``pyspark.ml`` Params object (a stage)."""
    from pyspark.ml.param import Params

    return {name: value for name, value in param_map(instance).items() if isinstance(value, Params)}


def _stages_of(pipeline: Any) -> list[Any]:
    stages = pipeline.getStages()
    try:
        return list(stages)
    except TypeError:
        raise TypeError(f"Pipeline stages should be iterable, but found object {stages}") from None


def walk(stage: Any) -> Iterator[Any]:
    """``stage`` and every stage under it, depth first."""
    from pyspark.ml import Pipeline

    yield stage
    children = _stages_of(stage) if isinstance(stage, Pipeline) else stage_params(stage).values()
    for child in children:
        yield from walk(child)


def check_stages(estimator: Any) -> None:
    """Raise MLflow's ``TypeError`` if a pipeline under ``estimator`` has stages that are not a list."""
    for _ in walk(estimator):
        pass


def _names(estimator: Any) -> dict[str, str]:
    counts: dict[str, int] = defaultdict(int)
    numbered: dict[str, tuple[str, int]] = {}
    for stage in walk(estimator):
        name = type(stage).__name__
        counts[name] += 1
        numbered[stage.uid] = (name, counts[name])
    return {uid: f"{name}_{n}" if counts[name] > 1 else name for uid, (name, n) in numbered.items()}


def _hierarchy(stage: Any, names: dict[str, str]) -> dict[str, Any]:
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import OneVsRest

    node: dict[str, Any] = {"name": names[stage.uid]}
    if isinstance(stage, Pipeline):
        node["stages"] = [_hierarchy(child, names) for child in _stages_of(stage)]
    elif isinstance(stage, OneVsRest):
        node["classifier"] = _hierarchy(stage.getClassifier(), names)
    elif is_search(stage):
        node["evaluator"] = _hierarchy(stage.getEvaluator(), names)
        node["tuned_estimator"] = _hierarchy(stage.getEstimator(), names)
    elif stage_params(stage):
        node["params"] = {name: _hierarchy(value, names) for name, value in stage_params(stage).items()}
    return node


def metadata(estimator: Any) -> EstimatorMetadata:
    """Names, hierarchy and parameter searches of ``estimator`` (its uid is the top name)."""
    names = _names(estimator)
    searches = [stage for stage in walk(estimator) if is_search(stage)]
    return EstimatorMetadata(_hierarchy(estimator, names), names, searches)


def logs_hierarchy(estimator: Any) -> bool:
    """Whether ``estimator_info.json`` gets a ``hierarchy``: meta estimators and stages with stage params."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import OneVsRest

    return isinstance(estimator, (Pipeline, OneVsRest)) or is_search(estimator) or bool(stage_params(estimator))


def logged_params(instance: Any, names: dict[str, str], level: int = 0) -> dict[str, Any]:
    """The params MLflow logs for ``instance``: nested stages' params prefixed by their names."""
    from pyspark.ml import Pipeline
    from pyspark.ml.param import Params

    prefix = "" if level == 0 else names[instance.uid] + "."
    search = is_search(instance)
    logged: dict[str, Any] = {}
    for name, value in param_map(instance).items():
        key = prefix + name
        if isinstance(instance, Pipeline) and name == "stages":
            stages = _stages_of(instance)
            logged[key] = [names[stage.uid] for stage in stages]
            for stage in stages:
                logged.update(logged_params(stage, names, level + 1))
        elif search and name == "estimator":
            logged[key] = names[value.uid]  # its params go to estimator_info.json and the child runs
        elif search and name == "estimatorParamMaps":
            continue  # estimator_info.json's tuning_parameter_map_list
        elif isinstance(value, Params):
            logged[key] = names[value.uid]
            logged.update(logged_params(value, names, level + 1))
        else:
            logged[key] = value
    return logged


def tuning_param_maps(search: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    """The search's param maps as ``{"<stage name>.<param>": value}``."""

    def key(param: Any) -> str:
        if param.parent not in names:
            raise ValueError("Tuning params should not include params not owned by the tuned estimator, "
                             f"but found a param {param}")
        return f"{names[param.parent]}.{param.name}"

    return [{key(param): value for param, value in param_map_.items()} for param_map_ in search.getEstimatorParamMaps()]


def search_metrics(search: Any, model: Any) -> tuple[dict[str, list[float]], int]:
    """``({metric name: one value per param map}, best index)``: ``avg_<m>``/``std_<m>`` for a
    CrossValidator, ``<m>`` for a TrainValidationSplit."""
    import numpy as np
    from pyspark.ml.tuning import CrossValidatorModel, TrainValidationSplitModel

    metric = search.getEvaluator().getMetricName()
    if isinstance(model, CrossValidatorModel):
        values = list(model.avgMetrics)
        metrics = {f"avg_{metric}": values}
        if getattr(model, "stdMetrics", None):
            metrics[f"std_{metric}"] = list(model.stdMetrics)
    elif isinstance(model, TrainValidationSplitModel):
        values = list(model.validationMetrics)
        metrics = {metric: values}
    else:
        raise TypeError(f"Unknown parameter search model type {type(model)}.")
    best = int(np.argmax(values) if search.getEvaluator().isLargerBetter() else np.argmin(values))
    return metrics, best


def estimator_info(estimator: Any, meta: EstimatorMetadata) -> dict[str, Any]:
    """The ``estimator_info.json`` artifact: the hierarchy, and per parameter search its param
    maps and the tuned estimator's params (empty when there is nothing to record)."""
    info: dict[str, Any] = {}
    if logs_hierarchy(estimator):
        info["hierarchy"] = meta.hierarchy
    for search in meta.searches:
        info[meta.names[search.uid]] = {
            "tuning_parameter_map_list": tuning_param_maps(search, meta.names),
            "tuned_estimator_parameter_map": logged_params(search.getEstimator(), meta.names, level=1),
        }
    return info
