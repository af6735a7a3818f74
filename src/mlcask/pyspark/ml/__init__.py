"""``mlcask.pyspark.ml.autolog()`` (MLflow's ``mlflow.pyspark.ml.autolog``): ``pyspark.ml`` training
logs itself.

Patched, through the shared autologging machinery: ``pyspark.ml.Estimator.fit`` (every estimator,
bar featurizers of ``pyspark.ml.feature`` fitted on their own), and with
``log_post_training_metrics`` ``pyspark.ml.Model.transform`` and ``pyspark.ml.evaluation.Evaluator.evaluate``.
The outermost ``fit`` logs (see :mod:`mlcask.pyspark.ml._fit`); the fits it makes itself, a
pipeline's stages or a search's candidates on other threads, log nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, NamedTuple

from mlcask.autologging.integration import autologging_integration
from mlcask.autologging.patching import safe_patch
from mlcask.pyspark.ml import _model, _params

__all__ = ["AUTOLOGGING_INTEGRATION_NAME", "autolog"]

AUTOLOGGING_INTEGRATION_NAME = "pyspark.ml"
MIN_SUPPORTED_VERSION = (3, 5)
MAX_SUPPORTED_VERSION = (4, 2)
_logger = logging.getLogger("mlcask.pyspark.ml.autolog")
# The allowlist of the last autolog() call (MLflow's module attribute: class names, ``*`` prefixes).
_log_model_allowlist: set[str] | None = None


def _version(text: str) -> tuple[int, ...]:
    import re

    return tuple(int(n) for n in re.findall(r"\d+", text)[:2])


@autologging_integration(AUTOLOGGING_INTEGRATION_NAME)
def autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    log_post_training_metrics: bool = True,
    registered_model_name: str | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_model_allowlist: Iterable[str] | None = None,
    extra_tags: dict[str, str] | None = None,
    log_model_max_size: int | None = None,
) -> None:
    """Turn on (or, with ``disable=True``, off) autologging of ``pyspark.ml`` training.

    Each outermost ``Estimator.fit(dataset, params=None)`` (not a featurizer of ``pyspark.ml.feature``
    fitted on its own; not ``fit`` with a list of param maps, which is skipped with a warning) logs
    into the active run, or a run it starts and ends (FINISHED, or FAILED if training raised), with
    MLflow's names:

    - params: the estimator's defined params; a nested stage's as ``<stage>.<param>``, stages named
      by class (``LogisticRegression``), or ``<class>_<n>`` when a class occurs more than once
      (``Pipeline_2.stages``); a pipeline's ``stages`` as the list of those names;
    - tags ``estimator_name`` and ``estimator_class``; ``estimator_info.json`` with the
      ``hierarchy`` of a meta estimator (Pipeline, OneVsRest, CrossValidator, TrainValidationSplit);
    - the training DataFrame as a dataset (``log_datasets``);
    - for a CrossValidator or TrainValidationSplit: a child run per param map with its params and
      ``avg_<metric>``/``std_<metric>`` (CrossValidator) or ``<metric>`` (TrainValidationSplit),
      ``best_<param>`` params, ``best_parameters.json``, ``search_results.csv``;
    - the model (``log_models``), with :func:`mlcask.spark.log_model`, as ``model`` (and a search's
      best model as ``best_model``), registered as ``registered_model_name`` when given, with a
      signature (``log_model_signatures``; only scalar columns and Spark ML vectors) and the first
      rows of the feature columns as input example (``log_input_examples``).

    Models are logged only if allowlisted: ``log_model_allowlist`` (class names; a trailing ``*``
    matches a prefix), else the file named by the Spark conf
    ``spark.mlflow.pysparkml.autolog.logModelAllowlistFile``, else MLflow's default list
    (``mlcask.pyspark.ml._model.DEFAULT_ALLOWLIST``: no ALS, LDA, FPGrowth... models). They are
    logged only if their Spark ML files are at most ``log_model_max_size`` bytes (measured by
    writing the model once to a temporary folder of the default file system): the argument, else
    the environment variable ``MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE``, else 1 GiB; 0 means no limit
    (and no measuring). A model over it is not logged: the run gets the tag
    ``mlcask.autologging.modelNotLogged`` and one warning says so.

    With ``log_post_training_metrics``, ``Evaluator.evaluate`` of a logged model's ``transform``
    output logs ``<metric name>[-<n>]_<dataset variable name>`` to its run (``logLoss_eval_df``;
    ``-2``... for repeated metrics or other DataFrames under one variable name) and
    ``metric_info.json`` (each key's evaluator class and params), and the evaluated DataFrame as an
    ``eval`` dataset.

    ``exclusive=True`` logs nothing into runs the user started; ``silent=True`` hides mlcask's
    autologging warnings; ``disable_for_unsupported_versions=True`` does nothing with a pyspark
    outside 3.5 to 4.2; ``extra_tags`` are set on the runs autologging creates.
    """
    import pyspark
    from pyspark.ml.base import Estimator, Model
    from pyspark.ml.evaluation import Evaluator

    from mlcask.pyspark.ml import _fit, _metrics

    global _log_model_allowlist

    version = _version(pyspark.__version__)
    if not MIN_SUPPORTED_VERSION <= version <= MAX_SUPPORTED_VERSION:
        if disable_for_unsupported_versions:
            if not silent:
                _logger.warning("pyspark %s is not supported by mlcask autologging (3.5 to 4.2): autologging is off.",
                                pyspark.__version__)
            return
        if not silent:
            _logger.warning("mlcask autologging is untested with pyspark %s (supported: 3.5 to 4.2).",
                            pyspark.__version__)
    _model.resolve_max_size(log_model_max_size)  # a wrong limit fails now, not at the first fit
    _log_model_allowlist = set(_model.resolve_allowlist(log_model_allowlist))
    safe_patch(AUTOLOGGING_INTEGRATION_NAME, Estimator, "fit", _fit.patched_fit)
    if log_post_training_metrics:
        safe_patch(AUTOLOGGING_INTEGRATION_NAME, Model, "transform", _metrics.patched_transform)
        safe_patch(AUTOLOGGING_INTEGRATION_NAME, Evaluator, "evaluate", _metrics.patched_evaluate)


# -- MLflow's module-level helpers, over what autologging computes ----------------------------------
class _AutologgingEstimatorMetadata(NamedTuple):
    hierarchy: dict[str, Any]
    uid_to_indexed_name_map: dict[str, str]
    param_search_estimators: list[Any]


def _gen_estimator_metadata(estimator: Any) -> _AutologgingEstimatorMetadata:
    meta = _params.metadata(estimator)
    return _AutologgingEstimatorMetadata(meta.hierarchy, meta.names, meta.searches)


def _get_instance_param_map_recursively(instance: Any, level: int,
                                        uid_to_indexed_name_map: dict[str, str]) -> dict[str, Any]:
    return _params.logged_params(instance, uid_to_indexed_name_map, level)


def _get_instance_param_map(instance: Any, uid_to_indexed_name_map: dict[str, str]) -> dict[str, Any]:
    return _params.logged_params(instance, uid_to_indexed_name_map)


def _get_tuning_param_maps(param_search_estimator: Any,
                           uid_to_indexed_name_map: dict[str, str]) -> list[dict[str, Any]]:
    return _params.tuning_param_maps(param_search_estimator, uid_to_indexed_name_map)


def _should_log_model(spark_model: Any) -> bool:
    allowlist = _model.resolve_allowlist(None) if _log_model_allowlist is None else _log_model_allowlist
    return _model.is_allowed(spark_model, frozenset(allowlist))


def _get_warning_msg_for_skip_log_model(model: Any) -> str:
    return _model.not_allowed_message(model)


def _get_warning_msg_for_fit_call_with_a_list_of_params(estimator: Any) -> str:
    from mlcask.pyspark.ml._fit import list_params_message

    return list_params_message(estimator)
