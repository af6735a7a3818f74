"""Post-training metrics: ``Evaluator.evaluate`` on the output of an autologged model.

A model returned by an autologged ``fit`` remembers its run (``model._mlflow_run_id``, as in
MLflow). Its ``transform(dataset)`` output is remembered with the name the caller's code gives
``dataset``; an ``Evaluator.evaluate`` of that output logs ``evaluator.getMetricName()`` to the
run as ``<metric>[-<n>]_<dataset name>`` (``-2``, ``-3``... for the same metric computed again;
``eval_df-2`` for another DataFrame held by a variable of the same name), and rewrites
``metric_info.json``: each key's evaluator class and params.

Only ids and weak references are held; an output that is garbage collected is forgotten.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections import OrderedDict
from typing import Any

from mlcask.autologging.caller import variable_name

_RUN_ATTRIBUTE = "_mlflow_run_id"
_MAX_TRACKED_RUNS = 100


def is_loggable(value: Any) -> bool:
    """A number MLflow logs as a metric (bools are not)."""
    import numpy as np

    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def run_of(model: Any) -> str | None:
    return getattr(model, _RUN_ATTRIBUTE, None)


def register_model(model: Any, run_id: str) -> None:
    try:
        setattr(model, _RUN_ATTRIBUTE, run_id)
    except AttributeError:  # a model that takes no attributes: no post-training metrics for it
        pass


class _Tracker:
    """Which prediction came from which run's model on which dataset; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outputs: dict[int, tuple[Any, str, str]] = {}  # id -> (weakref, dataset name, run id)
        self._datasets: OrderedDict[str, dict[str, list[int]]] = OrderedDict()
        self._calls: OrderedDict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = OrderedDict()

    def _for_run(self, table: OrderedDict, run_id: str) -> dict:
        if run_id not in table:
            table[run_id] = {}
            while len(table) > _MAX_TRACKED_RUNS:
                table.popitem(last=False)
        return table[run_id]

    def dataset_name(self, run_id: str, dataset: Any, name: str) -> str:
        """``name``, or ``name-2``, ``name-3``... for other objects seen under that name in the run."""
        with self._lock:
            seen = self._for_run(self._datasets, run_id).setdefault(name, [])
            if id(dataset) not in seen:
                seen.append(id(dataset))
            index = seen.index(id(dataset))
        return name if index == 0 else f"{name}-{index + 1}"

    def remember_output(self, output: Any, dataset_name: str, run_id: str) -> None:
        key = id(output)
        try:
            ref = weakref.ref(output, lambda dead, key=key: self._forget(key, dead))
        except TypeError:
            return
        with self._lock:
            self._outputs[key] = (ref, dataset_name, run_id)

    def _forget(self, key: int, dead: Any) -> None:
        with self._lock:
            entry = self._outputs.get(key)
            if entry is not None and entry[0] is dead:
                del self._outputs[key]

    def lookup(self, output: Any) -> tuple[str, str] | None:
        """``(run id, dataset name)`` of a remembered model output."""
        entry = self._outputs.get(id(output))
        if entry is None or entry[0]() is not output:
            return None
        return entry[2], entry[1]

    def metric_key(self, run_id: str, metric: str, dataset_name: str, info: dict[str, Any]) -> tuple[str, dict]:
        """The key of this evaluation and the run's whole ``metric_info.json``."""
        with self._lock:
            calls = self._for_run(self._calls, run_id)
            history = calls.setdefault(metric, [])
            index = len(history)
            key = f"{metric if index == 0 else f'{metric}-{index + 1}'}_{dataset_name}"
            history.append((key, info))
            everything = dict(sorted(item for items in calls.values() for item in items))
        return key, everything


TRACKER = _Tracker()


def evaluator_info(evaluator: Any) -> dict[str, Any]:
    from mlcask.pyspark.ml._params import class_name, param_map
    from mlcask.utils import truncate_dict

    return {"evaluator_class": class_name(evaluator),
            "params": truncate_dict(param_map(evaluator), 250, 6000)}


def log_evaluation(run_id: str, evaluator: Any, dataset_name: str, value: Any) -> str:
    """Log one evaluation to ``run_id``; returns the metric key."""
    from mlcask.tracking.context import current_client

    key, info = TRACKER.metric_key(run_id, evaluator.getMetricName(), dataset_name, evaluator_info(evaluator))
    client = current_client()
    client.log_metric(run_id, key, float(value))
    client.log_dict(run_id, info, "metric_info.json")
    return key


# -- the patches ----------------------------------------------------------------------------------
def _should_log() -> bool:
    from mlcask.autologging.config import get_config
    from mlcask.pyspark.ml._state import INTEGRATION, TRAINING

    config = get_config(INTEGRATION)
    return config is not None and config.get("log_post_training_metrics", True) and not TRAINING.active()


def _argument(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def patched_transform(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Model.transform``: the output of an autologged model is remembered with its input's name."""
    run_id = run_of(self)
    if run_id is None or not _should_log():
        return original(self, *args, **kwargs)
    output = original(self, *args, **kwargs)
    dataset = _argument(args, kwargs, 0, "dataset")
    name = variable_name(dataset, "unknown_dataset", inspect.currentframe()) if dataset is not None \
        else "unknown_dataset"
    TRACKER.remember_output(output, TRACKER.dataset_name(run_id, dataset, name), run_id)
    return output


def patched_evaluate(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    """``Evaluator.evaluate``: a metric of a remembered output is logged to its model's run."""
    if not _should_log():
        return original(self, *args, **kwargs)
    value = original(self, *args, **kwargs)
    found = TRACKER.lookup(_argument(args, kwargs, 0, "dataset"))
    if found is None or not is_loggable(value):
        return value
    run_id, dataset_name = found
    params = _argument(args, kwargs, 1, "params")
    evaluator = self.copy(params) if params else self
    log_evaluation(run_id, evaluator, dataset_name, value)
    _log_eval_dataset(run_id, _argument(args, kwargs, 0, "dataset"))
    return value


def _log_eval_dataset(run_id: str, df: Any) -> None:
    from mlcask.autologging.config import get_config
    from mlcask.pyspark.ml._spark_data import log_dataset
    from mlcask.pyspark.ml._state import INTEGRATION
    from mlcask.tracking.context import current_client

    if (get_config(INTEGRATION) or {}).get("log_datasets", True):
        log_dataset(current_client(), run_id, df, "eval")
