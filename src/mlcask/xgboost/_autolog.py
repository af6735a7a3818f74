"""Autologging for XGBoost: ``mlcask.xgboost.autolog()`` (also turned on by ``mlcask.autolog()``).

Patched: ``xgboost.train``, the same function as the scikit-learn API calls it
(``xgboost.sklearn.train``), the ``fit`` of ``XGBModel`` and of every subclass that defines
its own (``XGBClassifier``, ``XGBRanker``, ``XGBRFClassifier``, ``XGBRFRegressor``), and
``DMatrix.__init__`` and ``QuantileDMatrix.__init__`` (to keep the first rows of the data as
input example, which a ``DMatrix`` cannot give back). Logged, with MLflow's names:

- params: the booster ``params`` dict plus ``train``'s own arguments (``num_boost_round``,
  ``early_stopping_rounds``, ``maximize``, ``verbose_eval``, ``custom_metric``);
- every eval-set metric at every iteration, ``<eval name>-<metric>`` at step = iteration
  (``validation_0-logloss`` for the scikit-learn API), written in batches;
- with early stopping: ``stopped_iteration``, ``best_iteration``, and the best iteration's
  eval metrics again at step = number of iterations;
- ``feature_importance_<type>.json`` and ``.png`` for each of ``importance_types``;
- the training and eval data as run inputs (contexts ``train`` and ``eval``);
- the model (``name="model"``): the scikit-learn-API estimator for ``fit``, the Booster
  for ``xgboost.train``, with a signature inferred from the first rows of the training
  data and the model's predictions for them. For ``xgboost.train`` the logged model is created
  (PENDING) before training, as MLflow does: every iteration's metrics are logged for it, so
  its ``metrics`` hold the whole history; the estimator of ``fit`` gets the run's step-0 values.
"""

from __future__ import annotations

from typing import Any

from mlcask.autologging import boosting
from mlcask.autologging.integration import autologging_integration
from mlcask.autologging.patching import safe_patch

INTEGRATION = "xgboost"
# xgboost.train arguments MLflow does not log as params
_UNLOGGED = ("params", "dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks", "learning_rates")
_EXAMPLE = "_mlcask_input_example"  # DMatrix attribute: the first rows of its data


@autologging_integration(INTEGRATION)
def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn on (or, with ``disable=True``, off) autologging of XGBoost training.

    Every ``xgboost.train`` and scikit-learn-API ``fit`` then logs its params, per-iteration
    eval metrics, early-stopping results, feature importance (``importance_types``, default
    ``["weight"]``; JSON and a PNG chart), datasets and model into the active run, or into a
    run started for that call (ended FINISHED, or FAILED if training raised).

    ``log_input_examples`` and ``log_model_signatures`` apply to the logged model;
    ``registered_model_name`` registers each model as a new version; ``model_format`` is the
    Booster file format (``ubj`` or ``json``); ``exclusive`` skips training inside a run the
    user started; ``silent`` silences autologging warnings; ``extra_tags`` are set on the
    runs autologging starts. ``disable_for_unsupported_versions`` is accepted for
    compatibility (every XGBoost >= 2.0 is supported).
    """
    import xgboost
    import xgboost.sklearn

    safe_patch(INTEGRATION, xgboost, "train", _patched_train)
    safe_patch(INTEGRATION, xgboost.sklearn, "train", _patched_sklearn_train, nested_calls_original=False)
    for matrix_class in (xgboost.DMatrix, xgboost.QuantileDMatrix):  # the latter has its own __init__
        if "__init__" in matrix_class.__dict__:
            safe_patch(INTEGRATION, matrix_class, "__init__", _patched_dmatrix_init)
    for estimator_class in sklearn_estimators():
        safe_patch(INTEGRATION, estimator_class, "fit", _patched_fit)


def sklearn_estimators() -> list[type]:
    """``XGBModel`` and its subclasses in ``xgboost.sklearn`` that define their own ``fit``."""
    import inspect

    import xgboost.sklearn

    return [cls for _, cls in inspect.getmembers(xgboost.sklearn, inspect.isclass)
            if issubclass(cls, xgboost.sklearn.XGBModel) and "fit" in cls.__dict__]


# -- patched functions ---------------------------------------------------------------------------
def _patched_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_train(INTEGRATION, original, args, kwargs, _train_and_log, from_sklearn=False)


def _patched_sklearn_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_train(INTEGRATION, original, args, kwargs, _train_and_log, from_sklearn=True)


def _patched_fit(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_fit(INTEGRATION, original, self, args, kwargs, _log_estimator)


def _patched_dmatrix_init(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
    """Keep the first rows of the data (a ``DMatrix`` cannot give them back) for the model's
    input example and signature, as MLflow does; the reason when there are none."""
    config = boosting.get_config(INTEGRATION) or {}
    example: Any = None
    if config.get("log_models") and (config.get("log_input_examples") or config.get("log_model_signatures")):
        try:
            example = boosting.head_rows(args[0] if args else kwargs.get("data"))
        except Exception as exc:  # a file path, an iterator...: no input example for this data
            example = _NoExample(exc)
    original(self, *args, **kwargs)
    if example is not None:
        setattr(self, _EXAMPLE, example)


class _NoExample:
    def __init__(self, reason: Exception) -> None:
        self.reason = reason


def _dmatrix_example(dtrain: Any) -> Any:
    example = getattr(dtrain, _EXAMPLE, None)
    if isinstance(example, _NoExample):
        raise example.reason
    if example is None:
        raise ValueError("no rows of the training data were kept (its DMatrix was made before autologging was "
                         "turned on)")
    return example


# -- logging -------------------------------------------------------------------------------------
_callback_class: Any = None


def _callback(batcher: boosting.MetricBatcher) -> Any:
    """An ``xgboost.callback.TrainingCallback`` recording each iteration's eval metrics."""
    global _callback_class
    if _callback_class is None:
        import xgboost

        class AutologCallback(xgboost.callback.TrainingCallback):
            def __init__(self, batcher: boosting.MetricBatcher) -> None:
                super().__init__()
                self.batcher = batcher

            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                values = {}
                try:
                    for data_name, metrics in evals_log.items():
                        for metric_name, history in metrics.items():
                            value = history[-1]
                            values[boosting.metric_key(f"{data_name}-{metric_name}")] = (
                                value[0] if isinstance(value, tuple) else value)
                except Exception:  # never stop training; an odd log only loses its metrics
                    pass
                self.batcher.record(values, epoch)
                return False

        _callback_class = AutologCallback
    return _callback_class(batcher)


def _train_and_log(original: Any, args: tuple[Any, ...], kwargs: dict[str, Any], config: dict[str, Any],
                   errors: boosting.LoggingErrors, session: boosting.FitSession | None, log_model: bool) -> Any:
    client = run_id = repository = None
    arguments: dict[str, Any] = {}
    params: dict[str, Any] = {}
    with errors.guard("params"):
        client, run_id, repository = boosting.train_logging_context()
        arguments = boosting.bind_arguments(original, args, kwargs)
        params = {**dict(arguments.get("params") or {}), **boosting.call_params(arguments, _UNLOGGED)}
        if session is not None:
            session.params = params
        boosting.log_params(client, run_id, params)
    dtrain = arguments.get("dtrain")
    if config.get("log_datasets") and dtrain is not None and client is not None:
        with errors.guard("datasets"):
            _log_datasets(client, run_id, dtrain, arguments.get("evals") or ())

    batcher = None
    model_id = None
    if client is not None:
        model_id = boosting.initialize_model(log_model, errors)
        batcher = boosting.MetricBatcher(client, run_id, errors, model_id=model_id)
        with errors.guard("metrics"):
            args, kwargs = boosting.with_callback(original, args, kwargs, _callback(batcher))
    try:
        booster = original(*args, **kwargs)
    except BaseException:
        if batcher is not None:
            batcher.flush()  # the iterations before the failure
        raise
    if batcher is None:
        return booster

    if arguments.get("early_stopping_rounds"):
        with errors.guard("early stopping metrics"):
            iterations = len(batcher.history)
            boosting.early_stopping_metrics(batcher, iterations - 1, booster.best_iteration, booster.best_iteration)
    batcher.flush()

    for importance_type in config.get("importance_types") or ["weight"]:
        with errors.guard(f"feature importance ({importance_type})"):
            boosting.log_feature_importance(repository, importance_type,
                                            booster.get_score(importance_type=importance_type))

    if log_model:
        with errors.guard("model"):
            import xgboost

            from mlcask.xgboost import log_model as log_xgboost_model

            example = boosting.input_example(INTEGRATION, config, lambda: _dmatrix_example(dtrain))
            example, signature = boosting.model_signature(
                config, example, lambda data: booster.predict(xgboost.DMatrix(data)), errors)
            log_xgboost_model(booster, name="model", signature=signature, input_example=example,
                              model_id=model_id,
                              registered_model_name=config.get("registered_model_name"),
                              model_format=config.get("model_format") or "ubj")
    return booster


def _log_datasets(client: Any, run_id: str, dtrain: Any, evals: Any) -> None:
    cache: dict[int, Any] = {}

    def data_of(dmatrix: Any) -> Any:
        if id(dmatrix) not in cache:
            cache[id(dmatrix)] = dmatrix.get_data()
        return cache[id(dmatrix)]

    datasets = [(boosting.dataset_from(data_of(dtrain)), "train")]
    datasets += [(boosting.dataset_from(data_of(dmatrix), name), "eval") for dmatrix, name in evals]
    boosting.log_datasets(client, run_id, datasets)


def _log_estimator(estimator: Any, example: Any, config: dict[str, Any], session: boosting.FitSession) -> None:
    """Log a fitted scikit-learn-API estimator as the run's model."""
    from mlcask.xgboost import log_model

    example, signature = boosting.model_signature(config, example, estimator.predict, session.errors)
    log_model(estimator, name="model", signature=signature, input_example=example,
              registered_model_name=config.get("registered_model_name"),
              model_format=config.get("model_format") or "ubj", params=session.params or None)
