"""Autologging for LightGBM: ``mlcask.lightgbm.autolog()`` (also turned on by ``mlcask.autolog()``).

Patched: ``lightgbm.train``, the same function as the scikit-learn API calls it
(``lightgbm.sklearn.train``), and the ``fit`` of ``LGBMModel``, ``LGBMClassifier``,
``LGBMRegressor`` and ``LGBMRanker``. Logged, with MLflow's names:

- params: the booster ``params`` dict plus ``train``'s own arguments (``num_boost_round``,
  ``keep_training_booster``);
- every validation metric at every iteration, ``<valid name>-<metric>`` at step = iteration
  (``valid_0-binary_logloss`` for the scikit-learn API), written in batches;
- when the Booster has a best iteration (early stopping): ``stopped_iteration``,
  ``best_iteration``, and the best iteration's metrics again at step = number of iterations;
- ``feature_importance_split`` and ``feature_importance_gain`` as JSON and PNG;
- the training and validation data as run inputs (contexts ``train`` and ``eval``);
- the model (``name="model"``): the scikit-learn-API estimator for ``fit``, the Booster
  for ``lightgbm.train``, with a signature inferred from the first rows of the training
  data and the model's predictions for them. For ``lightgbm.train`` the logged model is created
  (PENDING) before training, as MLflow does: every iteration's metrics are logged for it, so
  its ``metrics`` hold the whole history; the estimator of ``fit`` gets the run's step-0 values.
"""

from __future__ import annotations

from typing import Any

from mlcask.autologging import boosting
from mlcask.autologging.integration import autologging_integration
from mlcask.autologging.patching import safe_patch

INTEGRATION = "lightgbm"
# lightgbm.train arguments MLflow does not log as params
_UNLOGGED = ("params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model", "learning_rates",
             "callbacks")
_IMPORTANCE_TYPES = ("split", "gain")


@autologging_integration(INTEGRATION)
def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn on (or, with ``disable=True``, off) autologging of LightGBM training.

    Every ``lightgbm.train`` and scikit-learn-API ``fit`` then logs its params, per-iteration
    validation metrics, early-stopping results, feature importance (``split`` and ``gain``;
    JSON and a PNG chart), datasets and model into the active run, or into a run started
    for that call (ended FINISHED, or FAILED if training raised).

    ``log_input_examples`` and ``log_model_signatures`` apply to the logged model;
    ``registered_model_name`` registers each model as a new version; ``exclusive`` skips
    training inside a run the user started; ``silent`` silences autologging warnings;
    ``extra_tags`` are set on the runs autologging starts. ``disable_for_unsupported_versions``
    is accepted for compatibility (every LightGBM >= 4.0 is supported).
    """
    import lightgbm
    import lightgbm.sklearn

    safe_patch(INTEGRATION, lightgbm, "train", _patched_train)
    safe_patch(INTEGRATION, lightgbm.sklearn, "train", _patched_sklearn_train, nested_calls_original=False)
    for estimator_class in sklearn_estimators():
        safe_patch(INTEGRATION, estimator_class, "fit", _patched_fit)


def sklearn_estimators() -> list[type]:
    """``LGBMModel`` and its subclasses in ``lightgbm.sklearn`` that define their own ``fit``."""
    import inspect

    import lightgbm.sklearn

    return [cls for _, cls in inspect.getmembers(lightgbm.sklearn, inspect.isclass)
            if issubclass(cls, lightgbm.sklearn.LGBMModel) and "fit" in cls.__dict__]


# -- patched functions ---------------------------------------------------------------------------
def _patched_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_train(INTEGRATION, original, args, kwargs, _train_and_log, from_sklearn=False)


def _patched_sklearn_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_train(INTEGRATION, original, args, kwargs, _train_and_log, from_sklearn=True)


def _patched_fit(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    return boosting.logged_fit(INTEGRATION, original, self, args, kwargs, _log_estimator)


# -- logging -------------------------------------------------------------------------------------
class _Callback:
    """A LightGBM callback recording each iteration's validation metrics."""

    def __init__(self, batcher: boosting.MetricBatcher) -> None:
        self.batcher = batcher

    def __call__(self, env: Any) -> None:
        values = {}
        try:
            for item in env.evaluation_result_list or ():
                values[boosting.metric_key(f"{item[0]}-{item[1]}")] = item[2]
        except Exception:  # never stop training; an odd result list only loses its metrics
            pass
        self.batcher.record(values, env.iteration)


def _train_and_log(original: Any, args: tuple[Any, ...], kwargs: dict[str, Any], config: dict[str, Any],
                   errors: boosting.LoggingErrors, session: boosting.FitSession | None, log_model: bool) -> Any:
    client = run_id = repository = None
    arguments: dict[str, Any] = {}
    with errors.guard("params"):
        client, run_id, repository = boosting.train_logging_context()
        arguments = boosting.bind_arguments(original, args, kwargs)
        params = {**dict(arguments.get("params") or {}), **boosting.call_params(arguments, _UNLOGGED)}
        if session is not None:
            session.params = params
        boosting.log_params(client, run_id, params)
    train_set = arguments.get("train_set")
    if config.get("log_datasets") and train_set is not None and client is not None:
        with errors.guard("datasets"):
            _log_datasets(client, run_id, train_set, arguments.get("valid_sets"), arguments.get("valid_names"))
    example = None
    if log_model:  # now: training may free the Dataset's raw data
        example = boosting.input_example(INTEGRATION, config, lambda: getattr(train_set, "data", None))

    batcher = None
    model_id = None
    if client is not None:
        model_id = boosting.initialize_model(log_model, errors)
        batcher = boosting.MetricBatcher(client, run_id, errors, model_id=model_id)
        with errors.guard("metrics"):
            args, kwargs = boosting.with_callback(original, args, kwargs, _Callback(batcher))
    try:
        booster = original(*args, **kwargs)
    except BaseException:
        if batcher is not None:
            batcher.flush()  # the iterations before the failure
        raise
    if batcher is None:
        return booster

    with errors.guard("early stopping metrics"):
        best = booster.best_iteration
        if best > 0:  # set by early stopping (even when it did not stop early), 1-based
            iterations = len(batcher.history)
            boosting.early_stopping_metrics(batcher, iterations, best, best - 1)
    batcher.flush()

    with errors.guard("feature importance"):
        features = booster.feature_name()
        for importance_type in _IMPORTANCE_TYPES:
            values = booster.feature_importance(importance_type=importance_type).tolist()
            boosting.log_feature_importance(repository, importance_type, dict(zip(features, values)), json_indent=2)

    if log_model:
        with errors.guard("model"):
            from mlcask.lightgbm import log_model as log_lightgbm_model

            example, signature = boosting.model_signature(config, example, booster.predict, errors)
            log_lightgbm_model(booster, name="model", signature=signature, input_example=example,
                               model_id=model_id, registered_model_name=config.get("registered_model_name"))
    return booster


def _log_datasets(client: Any, run_id: str, train_set: Any, valid_sets: Any, valid_names: Any) -> None:
    def dataset(lgb_dataset: Any, name: str | None) -> Any:
        return boosting.dataset_from(lgb_dataset.data, name, targets=lgb_dataset.label)

    datasets = [(dataset(train_set, None), "train")]
    names = list(valid_names) if valid_names is not None else [None] * len(valid_sets or ())
    datasets += [(dataset(valid_set, name), "eval") for valid_set, name in zip(valid_sets or (), names)]
    boosting.log_datasets(client, run_id, datasets)


def _log_estimator(estimator: Any, example: Any, config: dict[str, Any], session: boosting.FitSession) -> None:
    """Log a fitted scikit-learn-API estimator as the run's model."""
    from mlcask.lightgbm import log_model

    example, signature = boosting.model_signature(config, example, estimator.predict, session.errors)
    log_model(estimator, name="model", signature=signature, input_example=example,
              registered_model_name=config.get("registered_model_name"), params=session.params or None)
