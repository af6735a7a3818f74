"""``mlcask.sklearn.autolog()``: every scikit-learn ``fit`` logs itself, as MLflow's does.

The outermost ``fit`` (``fit_transform``, ``fit_predict``) of an estimator, a Pipeline or
a parameter search logs, into the active run or a run of its own: the estimator's
params (``get_params(deep=True)``), tags ``estimator_name``/``estimator_class``, the
training dataset, MLflow's training metrics, ``estimator.html``, and the model (with a
signature, and an input example when asked). Fits nested inside it (a Pipeline's
steps, a search's candidates, cross-validation) log nothing. Logging problems become
one warning; training itself is never changed.

Estimator classes are patched as their scikit-learn module is imported (or at once, if
it already is), so ``autolog()`` itself costs almost nothing.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from mlcask.autologging.config import get_config
from mlcask.autologging.imports import when_imported
from mlcask.autologging.integration import autologging_integration
from mlcask.autologging.patching import nested_scope, safe_patch, warn_once
from mlcask.sklearn import _autolog_targets as targets
from mlcask.sklearn._autolog_fit import log_eval_dataset, patched_fit
from mlcask.sklearn._autolog_targets import EXCLUDED_MODULES

INTEGRATION = "sklearn"
_logger = logging.getLogger("mlcask.sklearn.autolog")

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "transform", "decision_function")
# Functions that fit many copies of an estimator: nothing inside them is autologged.
UNLOGGED_FUNCTIONS = ("cross_validate", "cross_val_predict", "cross_val_score", "learning_curve",
                      "permutation_test_score", "validation_curve")
_IGNORED_SUBMODULES = {"experimental", "externals", "tests", "setup", "conftest", "estimator_checks", "datasets",
                       "exceptions", "utils", "metrics", "inspection", "callback"}
MIN_SUPPORTED_VERSION = (1, 3)

_lock = threading.RLock()
_generation = 0
_patched: set[tuple[int, str]] = set()  # (id(owner), attribute) patched in this generation


def _patch_method(cls: type, name: str, wrapper: Callable[..., Any]) -> None:
    """Patch the class in ``cls``'s MRO that defines ``name`` (once), or for a method sklearn
    makes conditional (``available_if``) the function inside its descriptor, so that
    ``hasattr`` keeps answering as before."""
    for owner in cls.__mro__:
        if name in owner.__dict__:
            raw = owner.__dict__[name]
            break
    else:
        return
    if owner is object:
        return
    if inspect.isfunction(raw):
        target, attribute = owner, name
    elif inspect.isfunction(getattr(raw, "fn", None)) and hasattr(raw, "check"):
        target, attribute = raw, "fn"
    else:  # properties and other descriptors: left alone
        return
    key = (id(target), attribute)
    if key in _patched:
        return
    _patched.add(key)
    safe_patch(INTEGRATION, target, attribute, wrapper)


def _add_targets(classes: list[type], post_training: bool) -> None:
    from mlcask.sklearn import _autolog_metrics as pm

    with _lock:
        new = targets.add(classes)
        if not new:
            return
        for cls in new:
            for name in FIT_METHODS:
                _patch_method(cls, name, patched_fit)
            if post_training:
                for name in PREDICT_METHODS:
                    _patch_method(cls, name, pm.make_predict_wrapper(name, log_eval_dataset))
                _patch_method(cls, "score", pm.patched_score)


def _estimators_in(module: Any) -> list[type]:
    """The classes ``sklearn.utils.all_estimators()`` finds in ``module``, minus data preparation."""
    from sklearn.base import BaseEstimator

    found = []
    for name, value in list(vars(module).items()):
        if (not name.startswith("_") and isinstance(value, type) and issubclass(value, BaseEstimator)
                and value is not BaseEstimator and not getattr(value, "__abstractmethods__", None)
                and not targets.excluded(value)):
            found.append(value)
    return found


def _on_import(generation: int, action: Callable[[], None]) -> None:
    if generation != _generation or get_config(INTEGRATION) is None:
        return  # a hook left by an earlier autolog() call, or autologging is off
    try:
        action()
    except Exception as exc:  # never break the user's import
        warn_once(INTEGRATION, f"could not patch scikit-learn ({type(exc).__name__}: {exc})")


def _patch_module(module: Any, post_training: bool) -> None:
    _add_targets(_estimators_in(module), post_training)
    if module.__name__ == "sklearn.model_selection":
        from sklearn.model_selection import _validation
        from sklearn.model_selection._search import BaseSearchCV

        _add_targets([BaseSearchCV], post_training)
        for owner in (module, _validation):
            for name in UNLOGGED_FUNCTIONS:
                if callable(owner.__dict__.get(name)):
                    safe_patch(INTEGRATION, owner, name, _call_unlogged)


def _patch_metrics(module: Any) -> None:
    from mlcask.sklearn import _autolog_metrics as pm

    for name in pm.metric_function_names():
        function = module.__dict__.get(name)
        if inspect.isfunction(function):
            safe_patch(INTEGRATION, module, name, pm.make_metric_wrapper(function))


def _patch_parallel(module: Any) -> None:
    parallel = getattr(module, "Parallel", None)
    if parallel is not None and "__call__" in parallel.__dict__:
        safe_patch(INTEGRATION, parallel, "__call__", _patched_parallel_call, nested_calls_original=False)


def _submodules() -> list[str]:
    import sklearn

    names = getattr(sklearn, "_submodules", None) or [
        name for name in getattr(sklearn, "__all__", []) if not callable(vars(sklearn).get(name))]
    return [name for name in names if name not in _IGNORED_SUBMODULES
            and not f"sklearn.{name}".startswith(EXCLUDED_MODULES)]


def _install(post_training: bool) -> None:
    global _generation
    with _lock:
        _generation += 1
        generation = _generation
        _patched.clear()
        targets.clear()

    def hook(action: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda module: _on_import(generation, lambda: action(module))

    for name in _submodules():
        when_imported(f"sklearn.{name}", hook(lambda module: _patch_module(module, post_training)))
    when_imported("sklearn.utils.parallel", hook(_patch_parallel))
    if post_training:
        when_imported("sklearn.metrics", hook(_patch_metrics))


def _version_supported(version: str) -> bool:
    import re

    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    return numbers >= MIN_SUPPORTED_VERSION


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
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "skops",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn on (or, with ``disable=True``, off) autologging for scikit-learn.

    Each outermost ``fit()``, ``fit_transform()`` or ``fit_predict()`` of a scikit-learn
    estimator, Pipeline or parameter search logs into the active run, or into a run it
    starts and ends (FINISHED, or FAILED if training raised):

    - params: ``estimator.get_params(deep=True)`` (a search's own params not deeply, plus
      ``best_<param>``); tags ``estimator_name`` and ``estimator_class``;
    - training metrics on the training data: for classifiers ``training_accuracy_score``,
      ``training_precision_score``, ``training_recall_score``, ``training_f1_score``
      (weighted averages, or binary ones for ``pos_label``), ``training_log_loss`` and
      ``training_roc_auc`` (when the model has ``predict_proba``); for regressors
      ``training_mean_squared_error``, ``training_root_mean_squared_error``,
      ``training_mean_absolute_error``, ``training_r2_score``; and ``training_score``;
    - the training dataset (``log_datasets``), ``estimator.html``, and the model as
      ``model`` (``log_models``) with a signature (``log_model_signatures``) and the first
      rows of the training data as input example (``log_input_examples``), registered
      as ``registered_model_name`` when given;
    - for a parameter search: ``best_cv_score``, ``cv_results.csv``, the best estimator
      as ``best_estimator``, and child runs for the ``max_tuning_runs`` best candidates.

    With ``log_post_training_metrics``, ``sklearn.metrics`` functions called on the
    predictions of an autologged model, and its ``score(X, y)``, are logged to its run
    as ``{metric}_{dataset variable}`` (e.g. ``accuracy_score_X_test``).

    ``exclusive=True`` logs nothing into runs the user started; ``silent=True`` hides
    mlcask's autologging warnings; ``disable_for_unsupported_versions=True`` does nothing
    with scikit-learn older than 1.3; ``extra_tags`` are added to the runs autolog creates.
    """
    from mlcask.exceptions import InvalidArgumentError

    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise InvalidArgumentError(f"`max_tuning_runs` must be non-negative, instead got {max_tuning_runs}.")
    import sklearn

    if not _version_supported(sklearn.__version__):
        if disable_for_unsupported_versions:
            if not silent:
                _logger.warning("scikit-learn %s is not supported by mlcask autologging (>= %s): autologging "
                                "is off.", sklearn.__version__, ".".join(map(str, MIN_SUPPORTED_VERSION)))
            return
        if not silent:
            _logger.warning("mlcask autologging is untested with scikit-learn %s (supported: >= %s).",
                            sklearn.__version__, ".".join(map(str, MIN_SUPPORTED_VERSION)))
    _install(log_post_training_metrics)


# -- the patches -----------------------------------------------------------------------------------
class _WorkerTask:
    """A joblib task a worker thread runs for a patched call: nested there too, so the steps
    a ``fit`` hands to threads (bagging, forests) log nothing of their own."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def with_config_and_warning_filters(self, *args: Any) -> _WorkerTask:
        attach = getattr(self.function, "with_config_and_warning_filters", None)
        if attach is not None:
            self.function = attach(*args)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with nested_scope(INTEGRATION):
            return self.function(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "function":
            raise AttributeError(name)
        return getattr(self.function, name)


def _patched_parallel_call(original: Any, self: Any, iterable: Any) -> Any:
    if getattr(getattr(self, "_backend", None), "uses_threads", False):
        iterable = ((_WorkerTask(function), args, kwargs) for function, args, kwargs in iterable)
    return original(self, iterable)


def _call_unlogged(original: Any, *args: Any, **kwargs: Any) -> Any:
    return original(*args, **kwargs)  # the fits inside are nested calls: not logged
