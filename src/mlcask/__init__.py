"""mlcask: log, package, load and serve ML models in the MLflow model format.

Drop-in for the MLflow calls people already write::

    import mlcask as mlflow
    mlflow.xgboost.save_model(model, "model", signature=signature, input_example=X[:1])
    loaded = mlflow.pyfunc.load_model("model")

Importing ``mlcask`` is cheap: submodules (and pandas, numpy, the flavors' libraries)
load on first use.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes
from mlcask.version import __version__

_SUBMODULES = {
    "artifacts", "autologging", "config", "data", "entities", "environment_variables", "evaluation", "exceptions",
    "lightgbm", "metrics", "models", "pyfunc", "pyspark", "sklearn", "spark", "tracking", "types", "utils", "xgboost",
}

_FLUENT = [
    "active_run", "create_experiment", "delete_experiment", "delete_experiment_tag", "delete_run", "delete_tag",
    "end_run", "flush_async_logging", "get_artifact_uri", "get_experiment", "get_experiment_by_name", "get_parent_run",
    "get_registry_uri", "get_run", "get_tracking_uri", "is_tracking_uri_set", "last_active_run", "log_artifact",
    "log_artifacts", "log_input", "log_inputs", "log_metric", "log_metrics", "log_outputs", "log_param", "log_params",
    "restore_experiment", "restore_run", "search_experiments", "search_runs", "set_experiment", "set_experiment_tag",
    "set_experiment_tags", "set_tag", "set_tags", "set_registry_uri", "set_tracking_uri", "start_run",
]

_REGISTRY = ["register_model", "search_model_versions", "search_registered_models", "set_model_version_tag"]

_LOGGED_MODELS = [
    "ActiveModel", "clear_active_model", "create_external_model", "delete_logged_model_tag", "finalize_logged_model",
    "get_active_model_id", "get_logged_model", "initialize_logged_model", "last_logged_model", "log_model_params",
    "search_logged_models", "set_active_model", "set_logged_model_tags",
]

_ARTIFACTS = ["Image", "flush_artifact_async_logging", "load_table", "log_dict", "log_figure", "log_image", "log_stream",
              "log_table", "log_text"]

_EXPORTS = {
    **{name: f"mlcask.{name}" for name in _SUBMODULES},
    **{name: "mlcask.tracking.fluent" for name in _FLUENT},
    **{name: "mlcask.tracking.fluent_logged_models" for name in _LOGGED_MODELS},
    **{name: "mlcask.tracking.fluent_artifacts" for name in _ARTIFACTS},
    **{name: "mlcask.tracking.fluent_registry" for name in _REGISTRY},
    "autolog": "mlcask.autologging",
    "evaluate": "mlcask.evaluation",
    "validate_evaluation_results": "mlcask.evaluation",
    "ActiveRun": "mlcask.tracking.fluent",
    "RunOperations": "mlcask.tracking.async_logging",
    "MlflowClient": "mlcask.tracking.client",
    "MlcaskClient": "mlcask.tracking.client",
    "MlflowException": "mlcask.exceptions",
    "MlcaskException": "mlcask.exceptions",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, __all__)
