"""What one autologged ``Estimator.fit`` logs, in MLflow's order and with MLflow's names.

Before training: ``estimator_info.json`` (meta estimators), the params (nested stages as
``<stage>.<param>``), the tags ``estimator_name``/``estimator_class``, the training dataset.
Training itself, untouched. After: for a ``CrossValidator``/``TrainValidationSplit`` one
FINISHED child run per param map (its params and ``avg_<metric>``/``std_<metric>`` or
``<metric>``), ``search_results.csv``, ``best_parameters.json`` and ``best_<param>`` params;
then the model as ``model`` (and a search's best model as ``best_model``) unless the allowlist
or the size limit keeps it out. A step that fails is skipped; the failures become one warning.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from mlcask.autologging.config import get_config
from mlcask.autologging.patching import warn_once
from mlcask.autologging.silence import quiet
from mlcask.pyspark.ml import _model, _params, _spark_data
from mlcask.pyspark.ml._metrics import register_model
from mlcask.pyspark.ml._state import INTEGRATION, TRAINING
from mlcask.utils.mlflow_tags import MLFLOW_AUTOLOGGING, MLFLOW_PARENT_RUN_ID

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
_logger = logging.getLogger("mlcask.pyspark.ml.autolog")


def list_params_message(estimator: Any) -> str:
    """MLflow's warning for ``fit`` with a list of param maps (not autologged)."""
    return (f"Skip pyspark ML autologging when calling {_params.class_name(estimator)}.fit with a list of params,"
            "if you want to autolog for this case, you convert code to call `fit` with each single param map.")


def patched_fit(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """The patch of ``pyspark.ml.Estimator.fit`` (outermost calls only reach it)."""
    from pyspark.ml import Model

    config = get_config(INTEGRATION)
    if config is None or TRAINING.active() or _params.class_name(self).startswith("pyspark.ml.feature.") \
            or _user_run_excluded(config):
        return original(self, *args, **kwargs)
    params = args[1] if len(args) > 1 else kwargs.get("params")
    if isinstance(params, (list, tuple)):
        if not config.get("silent"):
            _logger.warning(list_params_message(self))
        return original(self, *args, **kwargs)
    dataset = args[0] if args else kwargs.get("dataset")
    described = self.copy(params) if isinstance(params, dict) and params else self
    try:
        _params.check_stages(described)
    except TypeError as problem:
        return _fit_broken_pipeline(original, self, args, kwargs, problem)
    with TRAINING, quiet(bool(config.get("silent"))):
        model, run_id = _fit_and_log(config, original, self, described, args, kwargs, dataset)
    if config.get("log_post_training_metrics", True) and isinstance(model, Model) and run_id:
        register_model(model, run_id)
    return model


def _fit_broken_pipeline(original: Any, estimator: Any, args: tuple, kwargs: dict, problem: TypeError) -> Any:
    """``Pipeline(stages=lr).fit``: pyspark fails on its first line; its ``TypeError`` gets MLflow's
    sentence first (``Pipeline stages should be iterable, but found object ...``). No run."""
    try:
        return original(estimator, *args, **kwargs)
    except TypeError as exc:  # the same exception object: autologging passes the original's errors on
        exc.args = (f"{problem} ({exc})", *exc.args[1:])
        raise


def _user_run_excluded(config: dict[str, Any]) -> bool:
    if not config.get("exclusive"):
        return False
    from mlcask.tracking import fluent

    return fluent.active_run() is not None


def _guard(problems: list[str], what: str, step: Any, default: Any = None) -> Any:
    try:
        return step()
    except Exception as exc:
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


def log_params(client: Any, run_id: str, params: dict[str, Any], metrics: list[Any] | None = None) -> None:
    """Params as strings cut to MLflow's limits, with ``metrics``, in batches."""
    from mlcask.entities import Param
    from mlcask.utils import truncate_dict

    cut = truncate_dict({str(k): str(v) for k, v in params.items()}, MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH)
    client.log_batch(run_id, metrics=metrics or [], params=[Param(k, v) for k, v in cut.items()])


def _fit_and_log(config: dict[str, Any], original: Any, estimator: Any, described: Any, args: tuple,
                 kwargs: dict, dataset: Any) -> tuple[Any, str | None]:
    from mlcask.autologging.session import autolog_run
    from mlcask.entities import RunTag
    from mlcask.tracking.context import current_client

    problems: list[str] = []
    # Names and param maps before the run: MLflow's error for an estimator that cannot be described
    # (a grid over another estimator's params) becomes the autologging warning, and the original fit
    # runs unlogged, as in MLflow outside its own test mode; still TRAINING, so the fits it makes on
    # other threads (a search's candidates) log nothing either.
    try:
        meta = _params.metadata(described)
        info = _params.estimator_info(described, meta)
        logged = _params.logged_params(described, meta.names)
    except Exception as exc:
        warn_once(INTEGRATION, f"logging failed and was skipped ({type(exc).__name__}: {exc})")
        return original(estimator, *args, **kwargs), None
    outcome: dict[str, Any] = {}
    try:
        with autolog_run(INTEGRATION) as run:
            run_id = outcome["run_id"] = run.info.run_id
            client = current_client()
            if info:
                _guard(problems, "estimator_info.json", lambda: client.log_dict(run_id, info, "estimator_info.json"))
            _guard(problems, "params", lambda: log_params(client, run_id, logged))
            _guard(problems, "tags", lambda: client.log_batch(run_id, tags=[
                RunTag(k, v) for k, v in _params.estimator_tags(described).items()]))
            if config.get("log_datasets", True) and dataset is not None:
                _guard(problems, "dataset", lambda: _spark_data.log_dataset(client, run_id, dataset, "train"))
            try:
                outcome["model"] = original(estimator, *args, **kwargs)
            except BaseException:
                outcome["raised"] = True
                raise
            _guard(problems, "logging", lambda: _after_training(
                config, client, run, described, meta, outcome["model"], dataset, problems))
    except BaseException as exc:
        if outcome.get("raised") or "model" not in outcome or isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        problems.append(f"ending the run: {type(exc).__name__}: {exc}")
    if problems:
        warn_once(INTEGRATION, f"logging failed and was skipped ({'; '.join(problems)})")
    return outcome["model"], outcome.get("run_id")


def _after_training(config: dict[str, Any], client: Any, run: Any, estimator: Any, meta: Any, model: Any,
                    dataset: Any, problems: list[str]) -> None:
    run_id = run.info.run_id
    if _params.is_search(estimator):
        _guard(problems, "child runs", lambda: log_child_runs(client, run, estimator, model, meta, config))
        _guard(problems, "search results", lambda: _log_search_results(client, run_id, estimator, model, meta))
    if config.get("log_models", True):
        _guard(problems, "model", lambda: _log_models(config, client, run_id, model, dataset))


def log_child_runs(client: Any, parent: Any, search: Any, model: Any, meta: Any, config: dict[str, Any]) -> int:
    """One FINISHED child run per param map of ``search``; returns how many."""
    from mlcask.entities import Metric, RunStatus
    from mlcask.tracking.fluent import default_run_tags

    tags = {**default_run_tags(), MLFLOW_AUTOLOGGING: INTEGRATION, **(config.get("extra_tags") or {})}
    metrics, _ = _params.search_metrics(search, model)
    start, end = parent.info.start_time, int(time.time() * 1000)
    tuned = search.getEstimator()
    param_maps = search.getEstimatorParamMaps()
    for index, param_map in enumerate(param_maps):
        candidate = tuned.copy(param_map)
        child = client.create_run(parent.info.experiment_id, start_time=start, tags={
            **tags, MLFLOW_PARENT_RUN_ID: parent.info.run_id, **_params.estimator_tags(candidate)})
        values = [Metric(key, float(series[index]), end, 0) for key, series in metrics.items()]
        log_params(client, child.info.run_id, _params.logged_params(candidate, meta.names), metrics=values)
        client.set_terminated(child.info.run_id, RunStatus.FINISHED, end_time=end)
    return len(param_maps)


def _log_search_results(client: Any, run_id: str, search: Any, model: Any, meta: Any) -> None:
    """``search_results.csv``, ``best_parameters.json`` and the ``best_<param>`` params."""
    import pandas as pd

    param_maps = _params.tuning_param_maps(search, meta.names)
    metrics, best = _params.search_metrics(search, model)
    table: dict[str, list[Any]] = {"params": [json.dumps(param_map) for param_map in param_maps], **metrics}
    for param_map in param_maps:
        for name, value in param_map.items():
            table.setdefault(f"param.{name}", []).append(value)
    client.log_text(run_id, pd.DataFrame(table).to_csv(index=False), "search_results.csv")
    client.log_dict(run_id, param_maps[best], "best_parameters.json")
    log_params(client, run_id, {f"best_{name}": value for name, value in param_maps[best].items()})


# -- the model ------------------------------------------------------------------------------------
def _log_models(config: dict[str, Any], client: Any, run_id: str, model: Any, dataset: Any) -> None:
    allowlist = _model.resolve_allowlist(config.get("log_model_allowlist"))
    if not _model.is_allowed(model, allowlist):
        _logger.warning(_model.not_allowed_message(model))
        return
    limit = _model.resolve_max_size(config.get("log_model_max_size"))
    candidates = [("model", model)] + ([("best_model", model.bestModel)] if _params.is_search_model(model) else [])
    too_large = []
    for name, candidate in candidates:
        size = _model.written_size(candidate) if limit else 0
        if size > limit:
            too_large.append(f"{name} ({_model.human_size(size)})")
        elif name == "model":
            _log_main_model(config, model, dataset)
        else:
            from mlcask import spark as spark_flavor

            spark_flavor.log_model(candidate, name=name)
    if too_large:
        reason = f"{', '.join(too_large)} over the log_model_max_size limit of {_model.human_size(limit)}"
        client.set_tag(run_id, _model.NOT_LOGGED_TAG, reason)
        warn_once(INTEGRATION, f"not logging {reason}; log it with mlcask.spark.log_model(), or raise the limit "
                               f"(autolog(log_model_max_size=...) or {_model.MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE.name}"
                               ", 0 for no limit).")


def _log_main_model(config: dict[str, Any], model: Any, dataset: Any) -> None:
    from mlcask import spark as spark_flavor

    want_example = bool(config.get("log_input_examples"))
    want_signature = bool(config.get("log_model_signatures", True))
    if want_signature and dataset is not None:
        unsupported = _spark_data.unsupported_columns(dataset)
        if unsupported:
            _logger.warning("Model inputs contain unsupported Spark data types: %s. Model signature is not logged.",
                            unsupported)
            want_signature = False
    try:  # inferring the signature may rename the last stage's output column: work on a copy
        model = model.copy()
    except Exception:
        _logger.debug("Failed to copy the model, using the original model.", exc_info=True)
    example = signature = None
    if dataset is not None and (want_example or want_signature):
        try:
            example = _spark_data.example_frame(dataset, _spark_data.feature_columns(dataset, model))
        except Exception as exc:
            _logger.warning("Failed to gather input example: %s", exc)
    if example is not None and want_signature:
        try:
            signature = _spark_data.infer_model_signature(model, example)
        except Exception as exc:
            _logger.warning("Failed to infer model signature: %s", exc)
    input_example = _spark_data.to_pandas_example(example) if example is not None and want_example else None
    spark_flavor.log_model(model, name="model", registered_model_name=config.get("registered_model_name"),
                           input_example=input_example, signature=signature)
