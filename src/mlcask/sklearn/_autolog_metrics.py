"""Metrics for scikit-learn autologging.

Training metrics: computed once after ``fit`` on the training data, with MLflow's names
(``training_accuracy_score``, ``training_mean_squared_error``, ...), from one ``predict``
(and one ``predict_proba``) and vectorised ``sklearn.metrics`` calls.

Post-training metrics: once a model was fitted under autolog, its predictions are
remembered (by object identity, weakly: nothing here keeps data alive) together with the
run and the name of the variable holding the data they were made on. A
``sklearn.metrics`` function later called on such a prediction, or ``model.score`` on
new data, logs its value to the model's run as ``{metric}[-{call_index}]_{dataset}``,
as MLflow names them (e.g. ``accuracy_score_X_test``, ``LogisticRegression_score_X_test``).
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from mlcask.autologging.caller import variable_name
from mlcask.autologging.config import get_config

INTEGRATION = "sklearn"
TRAINING_PREFIX = "training_"
_logger = logging.getLogger("mlcask.sklearn.autolog")

# sklearn.metrics names that are not metric functions (as MLflow excludes them).
_NOT_METRICS = {"check_scoring", "get_scorer", "make_scorer", "get_scorer_names"}
_MAX_TRACKED_OUTPUTS = 1000  # predictions remembered at once (dead ones are dropped as they go)
_MAX_TRACKED_RUNS = 100  # runs whose post-training call history is kept


# -- training metrics --------------------------------------------------------------------------
def _score_definer(estimator: Any) -> str | None:
    """"accuracy"/"r2" when ``estimator.score`` is sklearn's ClassifierMixin/RegressorMixin
    ``score`` (directly or as a Pipeline's final step): then the training score equals the
    accuracy/R2 already computed, and another ``predict`` over the training data is saved."""
    import sklearn
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.pipeline import Pipeline

    for klass in type(estimator).__mro__:
        if "score" in klass.__dict__:
            break
    else:
        return None
    if klass is ClassifierMixin:
        return "accuracy"
    if klass is RegressorMixin:
        return "r2"
    if klass is Pipeline and not sklearn.get_config().get("enable_metadata_routing"):
        final = estimator.steps[-1][1] if estimator.steps else None
        return _score_definer(final) if final not in (None, "passthrough") else None
    return None


def _accepts(function: Any, name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any,
                     pos_label: Any) -> tuple[dict[str, Any], list[str]]:
    """MLflow's training metrics for a fitted classifier or regressor, and the failures
    (``"name: error"``) of those that could not be computed."""
    import sklearn

    # The model was just fitted on this data: re-checking it for NaNs and re-validating the
    # metric functions' arguments changes no value, only costs time.
    current = sklearn.get_config()
    with sklearn.config_context(**{k: True for k in ("assume_finite", "skip_parameter_validation") if k in current}):
        return _training_metrics(estimator, X, y, sample_weight, pos_label)


def _training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any,
                      pos_label: Any) -> tuple[dict[str, Any], list[str]]:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    values: dict[str, Any] = {}
    failures: list[str] = []

    def attempt(names: tuple[str, ...], compute: Any) -> None:
        try:
            result = compute()
        except Exception as exc:
            failures.append(f"{'/'.join(names)}: {type(exc).__name__}: {exc}")
            return
        for name, value in zip(names, result if len(names) > 1 else (result,)):
            values[TRAINING_PREFIX + name] = value

    if is_classifier(estimator):
        y_pred = estimator.predict(X)
        average = "weighted" if pos_label is None else "binary"
        # One call gives the precision, recall and F1 that the three separate functions return.
        attempt(("precision_score", "recall_score", "f1_score"),
                lambda: metrics.precision_recall_fscore_support(
                    y, y_pred, pos_label=pos_label, average=average, sample_weight=sample_weight)[:3])
        attempt(("accuracy_score",),
                lambda: metrics.accuracy_score(y, y_pred, normalize=True, sample_weight=sample_weight))
        if hasattr(estimator, "predict_proba"):
            try:
                proba = estimator.predict_proba(X)
            except Exception as exc:
                failures.append(f"log_loss/roc_auc: {type(exc).__name__}: {exc}")
            else:
                attempt(("log_loss",), lambda: metrics.log_loss(y, proba, sample_weight=sample_weight))
                score = proba[:, 1] if getattr(proba, "ndim", 0) == 2 and proba.shape[1] == 2 else proba
                attempt(("roc_auc",), lambda: metrics.roc_auc_score(
                    y, score, average="weighted", sample_weight=sample_weight, multi_class="ovo"))
        shortcut = "accuracy_score" if _score_definer(estimator) == "accuracy" else None
    elif is_regressor(estimator):
        import numpy as np

        y_pred = estimator.predict(X)
        for name, function in (("mean_squared_error", metrics.mean_squared_error),
                               ("mean_absolute_error", metrics.mean_absolute_error),
                               ("r2_score", metrics.r2_score)):
            attempt((name,), lambda f=function: f(y, y_pred, sample_weight=sample_weight,
                                                   multioutput="uniform_average"))
        if TRAINING_PREFIX + "mean_squared_error" in values:
            values[TRAINING_PREFIX + "root_mean_squared_error"] = np.sqrt(values[TRAINING_PREFIX + "mean_squared_error"])
        shortcut = "r2_score" if _score_definer(estimator) == "r2" else None
    else:
        shortcut = None

    if hasattr(estimator, "score"):
        if shortcut is not None and TRAINING_PREFIX + shortcut in values:
            values[TRAINING_PREFIX + "score"] = values[TRAINING_PREFIX + shortcut]
        else:
            with_weight = _accepts(estimator.score, "sample_weight")
            attempt(("score",), lambda: estimator.score(X, y, sample_weight) if with_weight else estimator.score(X, y))
    return values, failures


# -- post-training metrics -----------------------------------------------------------------------
def metric_function_names() -> list[str]:
    """The ``sklearn.metrics`` functions whose results are logged after training (MLflow's list)."""
    from sklearn import metrics

    names = []
    for name in metrics.__all__:
        value = getattr(metrics, name, None)
        if (name not in _NOT_METRICS and not name.startswith("plot_") and callable(value)
                and not inspect.isclass(value)):
            names.append(name)
    return names


def is_loggable(value: Any) -> bool:
    """A number MLflow would log as a metric (bools are not)."""
    import numpy as np

    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _argument_text(value: Any, frame: Any) -> str:
    import numpy as np

    if value is None or np.isscalar(value):
        if isinstance(value, str) and len(value) > 32:
            return repr(value[:32] + "...")
        return repr(value)
    return variable_name(value, f"<{type(value).__name__}>", frame)


_parameter_names: dict[Any, list[str]] = {}


def call_command(label: str, function: Any, args: tuple, kwargs: dict, frame: Any, method: bool = False) -> str:
    """``label(arg=name, ...)``: how the metric was computed, for ``metric_info.json``."""
    names = _parameter_names.get(function)
    if names is None:
        try:
            names = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            names = []
        _parameter_names[function] = names
    if method:
        names = names[1:]
    parts = [f"{name}={_argument_text(value, frame)}" for name, value in zip(names, args)]
    parts += [f"{name}={_argument_text(value, frame)}" for name, value in kwargs.items()]
    return f"{label}({', '.join(parts)})"


class _Tracker:
    """Which fitted model belongs to which run, and which prediction came from which model
    on which dataset. Holds ids and weak references only; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.models: dict[int, tuple[Any, str, str | None]] = {}
        self.outputs: OrderedDict[int, tuple[Any, str, str, str | None]] = OrderedDict()
        self._datasets: OrderedDict[str, dict[str, list[int]]] = OrderedDict()
        self._calls: OrderedDict[str, dict[str, list[tuple[str, str]]]] = OrderedDict()

    def register_model(self, model: Any, run_id: str, model_id: str | None) -> None:
        key = id(model)
        try:
            ref = weakref.ref(model, lambda dead, key=key: self._drop(self.models, key, dead))
        except TypeError:  # not weak-referenceable: not tracked rather than kept alive
            return
        with self._lock:
            self.models[key] = (ref, run_id, model_id)

    def model_entry(self, model: Any) -> tuple[str, str | None] | None:
        entry = self.models.get(id(model))
        if entry is None or entry[0]() is not model:
            return None
        return entry[1], entry[2]

    def _drop(self, table: dict, key: int, dead: Any) -> None:
        with self._lock:
            entry = table.get(key)
            if entry is not None and entry[0] is dead:
                del table[key]

    def remember_output(self, output: Any, dataset_name: str, run_id: str, model_id: str | None) -> None:
        """Remember ``output`` (and, for a numpy view, the array it views, so slices such as
        ``proba[:, 1]`` are recognised too)."""
        objects = [output]
        base = getattr(output, "base", None)
        if base is not None and type(base).__name__ == "ndarray":
            objects.append(base)
        for obj in objects:
            key = id(obj)
            try:
                ref = weakref.ref(obj, lambda dead, key=key: self._drop(self.outputs, key, dead))
            except TypeError:
                continue
            with self._lock:
                self.outputs[key] = (ref, dataset_name, run_id, model_id)
                self.outputs.move_to_end(key)
                while len(self.outputs) > _MAX_TRACKED_OUTPUTS:
                    self.outputs.popitem(last=False)

    def lookup(self, args: tuple, kwargs: dict) -> tuple[str, str, str | None] | None:
        """(dataset name, run id, model id) of the first argument that is a remembered prediction."""
        for value in (*args, *kwargs.values()):
            if value is None or isinstance(value, (str, int, float, bool)):
                continue
            candidates = [value]
            base = getattr(value, "base", None)
            if base is not None and type(value).__name__ == "ndarray":
                candidates.append(base)
            for candidate in candidates:
                entry = self.outputs.get(id(candidate))
                if entry is not None and entry[0]() is candidate:
                    return entry[1], entry[2], entry[3]
        return None

    def _for_run(self, table: OrderedDict, run_id: str) -> dict:
        per_run = table.get(run_id)
        if per_run is None:
            per_run = table[run_id] = {}
            while len(table) > _MAX_TRACKED_RUNS:
                table.popitem(last=False)
        return per_run

    def dataset_name(self, run_id: str, dataset: Any, name: str) -> tuple[str, bool]:
        """``name``, or ``name-2``, ``name-3``... for other objects seen under the same variable
        name in this run; and whether this dataset is new to the run."""
        with self._lock:
            seen = self._for_run(self._datasets, run_id).setdefault(name, [])
            key = id(dataset)
            new = key not in seen
            if new:
                seen.append(key)
            index = seen.index(key)
        return (name if index == 0 else f"{name}-{index + 1}"), new

    def metric_key(self, run_id: str, metric_name: str, dataset_name: str, command: str) -> tuple[str, dict[str, str]]:
        """The metric key for this call (``metric[-n]_dataset``) and the run's call record."""
        with self._lock:
            calls = self._for_run(self._calls, run_id)
            history = calls.setdefault(metric_name, [])
            index = len(history)
            key = f"{metric_name if index == 0 else f'{metric_name}-{index + 1}'}_{dataset_name}"
            history.append((key, command))
            info = dict(sorted(item for items in calls.values() for item in items))
        return key, info


TRACKER = _Tracker()


def _skip(config: dict[str, Any] | None) -> bool:
    if config is None or not config.get("log_post_training_metrics", True):
        return True
    if config.get("exclusive"):
        from mlcask.tracking import fluent

        return fluent.active_run() is not None
    return False


def _log(run_id: str, key: str, value: Any, model_id: str | None, info: dict[str, str]) -> None:
    from mlcask.tracking.context import current_client

    client = current_client()
    client.log_metric(run_id, key, value, timestamp=int(time.time() * 1000), model_id=model_id)
    client.log_dict(run_id, info, "metric_info.json")


def _first_argument(method: Any, args: tuple, kwargs: dict) -> Any:
    if args:
        return args[0]
    try:
        first = list(inspect.signature(method).parameters)[1]
    except (TypeError, ValueError, IndexError):
        return None
    return kwargs.get(first)


def make_predict_wrapper(method_name: str, log_eval_dataset: Any) -> Any:
    """Wrapper for ``predict``/``predict_proba``/``transform``...: remembers which model and
    dataset an autologged model's output came from."""

    def patched_predict(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        entry = TRACKER.model_entry(self) if TRACKER.models else None
        config = get_config(INTEGRATION)
        if entry is None or _skip(config):
            return original(self, *args, **kwargs)
        result = original(self, *args, **kwargs)
        run_id, model_id = entry
        dataset = _first_argument(getattr(type(self), method_name), args, kwargs)
        name = variable_name(dataset, "unknown_dataset", sys._getframe(0))
        dataset_name, new = TRACKER.dataset_name(run_id, dataset, name)
        TRACKER.remember_output(result, dataset_name, run_id, model_id)
        if new and config.get("log_datasets") and dataset is not None:
            log_eval_dataset(run_id, dataset)
        return result

    return patched_predict


def patched_score(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """``model.score(X, y)`` of an autologged model logs ``{Class}_score_{X's name}``."""
    entry = TRACKER.model_entry(self) if TRACKER.models else None
    if entry is None or _skip(get_config(INTEGRATION)):
        return original(self, *args, **kwargs)
    value = original(self, *args, **kwargs)
    if is_loggable(value):
        run_id, model_id = entry
        frame = sys._getframe(0)
        method = type(self).score
        command = call_command(f"{type(self).__name__}.score", method, args, kwargs, frame, method=True)
        dataset = _first_argument(method, args, kwargs)
        dataset_name, _ = TRACKER.dataset_name(run_id, dataset, variable_name(dataset, "unknown_dataset", frame))
        key, info = TRACKER.metric_key(run_id, f"{type(self).__name__}_score", dataset_name, command)
        _log(run_id, key, value, model_id, info)
    return value


def make_metric_wrapper(function: Any) -> Any:
    """Wrapper for a ``sklearn.metrics`` function: logs its value when one of its arguments
    is a prediction of an autologged model."""
    name = function.__name__

    def patched_metric(original: Any, *args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        if not TRACKER.outputs or not is_loggable(value) or _skip(get_config(INTEGRATION)):
            return value
        found = TRACKER.lookup(args, kwargs)
        if found is None:
            return value
        dataset_name, run_id, model_id = found
        command = call_command(name, function, args, kwargs, sys._getframe(0))
        key, info = TRACKER.metric_key(run_id, name, dataset_name, command)
        _log(run_id, key, value, model_id, info)
        return value

    return patched_metric
