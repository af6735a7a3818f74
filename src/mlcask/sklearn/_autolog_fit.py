"""What one autologged scikit-learn ``fit`` logs, and in which order.

Before training: params and tags (one batch), the training dataset. Training itself,
untouched. After: the model (and a search's best estimator), all metrics in one batch,
``estimator.html``, and for a parameter search its best params, child runs and
``cv_results.csv``. Each step that fails is skipped; the failures become one warning.
"""

from __future__ import annotations

import copy
import inspect
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from mlcask.autologging.config import get_config
from mlcask.autologging.patching import warn_once
from mlcask.autologging.silence import quiet
from mlcask.sklearn._autolog_targets import is_targeted
from mlcask.utils.mlflow_tags import MLFLOW_AUTOLOGGING

INTEGRATION = "sklearn"
INPUT_EXAMPLE_ROWS = 5
MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_DENSE_LIMIT = 10_000_000  # elements: a bigger sparse matrix is not densified just to log it
_MAX_DENSE_EXAMPLE_COLUMNS = 10_000

_logger = logging.getLogger("mlcask.sklearn.autolog")
_fit_arguments: dict[type, list[str]] = {}


def patched_fit(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """The patch of ``fit``/``fit_transform``/``fit_predict`` (outermost calls only reach it)."""
    config = get_config(INTEGRATION)
    if config is None or not is_targeted(type(self)) or _user_run_active(config):
        return original(self, *args, **kwargs)
    return _fit_and_log(config, original, self, args, kwargs)


def _user_run_active(config: dict[str, Any]) -> bool:
    """``exclusive=True``: a run the user started is active, so nothing is logged."""
    if not config.get("exclusive"):
        return False
    from mlcask.tracking import fluent

    return fluent.active_run() is not None


# -- what a fit logs -------------------------------------------------------------------------------
def _guard(problems: list[str], what: str, step: Callable[[], Any], default: Any = None) -> Any:
    try:
        return step()
    except Exception as exc:
        problems.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


def _truncated(values: dict[Any, Any], max_value_length: int) -> dict[str, str]:
    """Keys and ``str()`` values cut to MLflow's limits (with "..."), as MLflow's autologging does."""
    from mlcask.utils import truncate_dict

    return truncate_dict({str(k): str(v) for k, v in values.items()}, MAX_ENTITY_KEY_LENGTH, max_value_length)


def _log_batches(client: Any, run_id: str, params: dict[str, Any], tags: dict[str, Any] | None = None,
                 metrics: list[Any] | None = None) -> None:
    """Params, tags and metrics in as few ``log_batch`` calls as the store's limits allow
    (one, unless there are over 100 params)."""
    from mlcask.entities import Param, RunTag

    param_items = [Param(k, v) for k, v in _truncated(params, MAX_PARAM_VAL_LENGTH).items()]
    tag_items = [RunTag(k, v) for k, v in _truncated(tags or {}, MAX_TAG_VAL_LENGTH).items()]
    metric_items = list(metrics or [])
    while True:
        batch_params, param_items = param_items[:_PARAMS_PER_BATCH], param_items[_PARAMS_PER_BATCH:]
        batch_tags, tag_items = tag_items[:_PARAMS_PER_BATCH], tag_items[_PARAMS_PER_BATCH:]
        room = _METRICS_PER_BATCH - len(batch_params) - len(batch_tags)
        batch_metrics, metric_items = metric_items[:room], metric_items[room:]
        client.log_batch(run_id, metrics=batch_metrics, params=batch_params, tags=batch_tags)
        if not (param_items or tag_items or metric_items):
            return


def _estimator_tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def _training_data(estimator: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """(X, y, sample_weight) of a fit call, found by the names in ``fit``'s signature; X and y are copies."""
    cls = type(estimator)
    names = _fit_arguments.get(cls)
    if names is None:
        names = _fit_arguments[cls] = list(inspect.signature(cls.fit).parameters)[1:]
    x_name, y_name = (names + [None, None])[:2]
    X = args[0] if args else kwargs.get(x_name)
    y = args[1] if len(args) >= 2 else kwargs.get(y_name) if y_name else None
    # copies, as MLflow takes them: a fit that changes its data in place (a transformer adding a
    # column to the frame) changes neither the input example, the dataset nor the training metrics
    X, y = copy.deepcopy(X), copy.deepcopy(y)
    sample_weight = None
    if "sample_weight" in names:
        index = names.index("sample_weight")
        sample_weight = args[index] if len(args) > index else kwargs.get("sample_weight")
    return X, y, sample_weight


def _is_dataframe(X: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, pandas.DataFrame)


def _head(X: Any) -> Any:
    """A copy of the first rows of ``X`` (taken before training can change ``X``)."""
    if _is_dataframe(X):
        return X.iloc[:INPUT_EXAMPLE_ROWS].copy()
    if hasattr(X, "toarray") and hasattr(X, "tocsr"):  # scipy sparse: input examples are dense
        if X.shape[1] > _MAX_DENSE_EXAMPLE_COLUMNS:
            raise TypeError(f"a sparse matrix of {X.shape[1]} columns is too wide for a dense input example")
        return X[:INPUT_EXAMPLE_ROWS].toarray()
    return copy.deepcopy(X[:INPUT_EXAMPLE_ROWS])


def _make_dataset(X: Any, y: Any = None) -> Any:
    """``mlcask.data.from_pandas``/``from_numpy``/``from_polars`` over ``X`` (None for other data types),
    as MLflow's autolog builds it: a frame without its targets, arrays with them."""
    import numpy as np
    from scipy.sparse import issparse

    from mlcask.data import from_numpy, from_pandas
    from mlcask.data.dataset import is_polars_dataframe

    if _is_dataframe(X):
        return from_pandas(X)
    if is_polars_dataframe(X):
        from mlcask.data import from_polars

        return from_polars(X)
    if issparse(X):
        if X.shape[0] * X.shape[1] > _DENSE_LIMIT:
            return None
        X = X.toarray()
        y = y.toarray() if issparse(y) else y
    if isinstance(X, np.ndarray):
        return from_numpy(X, targets=y) if y is not None else from_numpy(X)
    _logger.warning("Unrecognized dataset type %s. Dataset logging skipped.", type(X))
    return None


def log_eval_dataset(run_id: str, X: Any) -> None:
    from mlcask.data import dataset_input
    from mlcask.tracking.context import current_client

    dataset = _make_dataset(X)
    if dataset is not None:
        current_client().log_inputs(run_id, datasets=[dataset_input(dataset, "eval")])


def _signature(estimator: Any, example: Any) -> Any:
    from mlcask.models.signature import infer_signature

    if hasattr(estimator, "predict"):
        output = estimator.predict(copy.deepcopy(example))
    elif hasattr(estimator, "transform"):
        output = estimator.transform(copy.deepcopy(example))
    else:
        raise TypeError("the model has no predict or transform method to infer the signature from")
    return infer_signature(example, output)


def _log_model(estimator: Any, name: str, config: dict[str, Any], signature: Any, example: Any,
               params: dict[str, Any], registered_model_name: str | None = None) -> str | None:
    from mlcask.sklearn import log_model

    # a model with neither (a clusterer such as AgglomerativeClustering, a search without refit) is
    # logged too, as MLflow does: it loads as the scikit-learn object, its pyfunc has no predict
    predict_fn = "transform" if not hasattr(estimator, "predict") and hasattr(estimator, "transform") else "predict"
    info = log_model(estimator, name=name, signature=signature, input_example=example,
                     serialization_format=config.get("serialization_format") or "skops",
                     registered_model_name=registered_model_name, pyfunc_predict_fn=predict_fn,
                     params=_truncated(params, MAX_PARAM_VAL_LENGTH))
    return info.model_id


def _estimator_html(estimator: Any) -> str:
    from sklearn.utils import estimator_html_repr

    return ('<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8"/>\n  </head>\n'
            f"  <body>\n    {estimator_html_repr(estimator)}\n  </body>\n</html>\n")


def _fit_and_log(config: dict[str, Any], original: Any, estimator: Any, args: tuple, kwargs: dict) -> Any:
    from mlcask.autologging.session import autolog_run
    from mlcask.sklearn import _autolog_search as search_log
    from mlcask.tracking.context import current_client

    problems: list[str] = []
    outcome: dict[str, Any] = {}
    silent = bool(config.get("silent"))
    log_models = config.get("log_models", True)
    with quiet(silent):
        X, y, sample_weight = _guard(problems, "reading the training data",
                                     lambda: _training_data(estimator, args, kwargs), (None, None, None))
        search = search_log.is_search(estimator)
        example = None
        if log_models and X is not None and (config.get("log_input_examples") or config.get("log_model_signatures")):
            try:
                example = _head(X)
            except Exception as exc:
                _logger.warning("Failed to gather input example: %s", exc)
        try:
            with autolog_run(INTEGRATION) as run:
                run_id = run.info.run_id
                client = current_client()
                params = _guard(problems, "params", lambda: estimator.get_params(deep=not search), {})
                _guard(problems, "params and tags",
                       lambda: _log_batches(client, run_id, params, tags=_estimator_tags(estimator)))
                dataset = _guard(problems, "dataset", lambda: _make_dataset(X, y)) if X is not None else None
                if dataset is not None and config.get("log_datasets", True):
                    from mlcask.data import dataset_input

                    _guard(problems, "dataset",
                           lambda: client.log_inputs(run_id, datasets=[dataset_input(dataset, "train")]))
                try:
                    outcome["result"] = original(estimator, *args, **kwargs)
                except BaseException:
                    outcome["raised"] = True
                    raise
                outcome["model_id"] = _guard(problems, "logging", lambda: _log_after_training(
                    config, client, run, estimator, X, y, sample_weight, example, params, dataset, search, problems))
        except BaseException as exc:
            if outcome.get("raised") or "result" not in outcome or isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            problems.append(f"ending the run: {type(exc).__name__}: {exc}")
    if config.get("log_post_training_metrics", True):
        from mlcask.sklearn import _autolog_metrics as pm

        pm.TRACKER.register_model(estimator, run_id, outcome.get("model_id"))
    if problems:
        warn_once(INTEGRATION, f"logging failed and was skipped ({'; '.join(problems)})")
    return outcome["result"]


def _log_after_training(config: dict[str, Any], client: Any, run: Any, estimator: Any, X: Any, y: Any,
                        sample_weight: Any, example: Any, params: dict[str, Any], dataset: Any, search: bool,
                        problems: list[str]) -> str | None:
    """Everything logged once ``fit`` has returned; returns the logged model's id."""
    from mlcask.entities import Metric
    from mlcask.sklearn import _autolog_metrics as pm
    from mlcask.sklearn import _autolog_search as search_log

    run_id = run.info.run_id
    metrics: dict[str, Any] = {}
    if y is not None:
        try:  # a model that cannot score its training data is not a logging failure (as in MLflow)
            metrics, failures = pm.training_metrics(estimator, X, y, sample_weight, config.get("pos_label"))
        except Exception as exc:
            failures = [f"{type(exc).__name__}: {exc}"]
        for failure in failures:
            _logger.warning("A training metric of %s was not recorded: %s", type(estimator).__name__, failure)
    else:
        _logger.warning("Training metrics will not be recorded because training labels were not specified. "
                        "To record training metrics, give the labels to the training function.")
    best = search_log.best_params(estimator) if search else {}
    if search and hasattr(estimator, "best_score_"):
        metrics["best_cv_score"] = estimator.best_score_

    model_id = best_model_id = best_estimator_params = None
    if config.get("log_models", True):
        # False, not None: saving would otherwise infer a signature from the input example.
        signature: Any = None if config.get("log_model_signatures", True) else False
        if config.get("log_model_signatures", True) and example is not None:
            try:
                signature = _signature(estimator, example)
            except Exception as exc:
                _logger.warning("Failed to infer model signature: %s", exc)
        logged_example = example if config.get("log_input_examples") else None
        model_id = _guard(problems, "model", lambda: _log_model(
            estimator, "model", config, signature, logged_example, {**params, **best},
            config.get("registered_model_name")))
        if search and hasattr(estimator, "best_estimator_"):
            best_estimator_params = _guard(problems, "best estimator params",
                                           lambda: estimator.best_estimator_.get_params(deep=True))
            best_model_id = _guard(problems, "best estimator model", lambda: _log_model(
                estimator.best_estimator_, "best_estimator", config, signature, logged_example,
                best_estimator_params or {}))

    now = int(time.time() * 1000)
    name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
    metric_items = [Metric(key, float(value), now, 0, model_id, name, digest)
                    for key, value in metrics.items() if pm.is_loggable(value)]
    if metric_items:
        _guard(problems, "metrics", lambda: _log_batches(client, run_id, {}, metrics=metric_items))
    _guard(problems, "estimator.html", lambda: client.log_text(run_id, _estimator_html(estimator), "estimator.html"))
    if search:
        if best:
            _guard(problems, "best params", lambda: _log_batches(client, run_id, best))
        if hasattr(estimator, "cv_results_"):
            child_tags = _truncated({MLFLOW_AUTOLOGGING: INTEGRATION, **(config.get("extra_tags") or {}),
                                     **_estimator_tags(estimator.estimator)}, MAX_TAG_VAL_LENGTH)
            from mlcask.tracking.fluent import default_run_tags

            _guard(problems, "child runs", lambda: search_log.log_child_runs(
                client, run, estimator, config.get("max_tuning_runs", 5), dataset,
                {**default_run_tags(), **child_tags}, best_estimator_params, best_model_id, _log_batches,
                lambda message: warn_once(INTEGRATION, message)))
            _guard(problems, "cv_results.csv", lambda: search_log.log_cv_results(client, run_id, estimator))
    return model_id
