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
    "autologging", "data", "entities", "exceptions", "lightgbm", "models", "pyfunc", "sklearn", "tracking", "types",
    "utils", "xgboost",
}

_FLUENT = [
    "active_run", "create_experiment", "delete_experiment", "delete_run", "delete_tag", "end_run",
    "get_artifact_uri", "get_experiment", "get_experiment_by_name", "get_registry_uri", "get_run", "get_tracking_uri",
    "last_active_run", "log_artifact", "log_artifacts", "log_dict", "log_figure", "log_input", "log_metric",
    "log_metrics", "log_param", "log_params", "log_table", "log_text", "register_model", "search_experiments",
    "search_runs", "set_experiment", "set_experiment_tag", "set_experiment_tags", "set_tag", "set_tags",
    "set_registry_uri", "set_tracking_uri", "start_run",
]

_EXPORTS = {
    **{name: f"mlcask.{name}" for name in _SUBMODULES},
    **{name: "mlcask.tracking.fluent" for name in _FLUENT},
    "autolog": "mlcask.autologging",
    "ActiveRun": "mlcask.tracking.fluent",
    "MlflowClient": "mlcask.tracking.client",
    "MlcaskClient": "mlcask.tracking.client",
    "MlflowException": "mlcask.exceptions",
    "MlcaskException": "mlcask.exceptions",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, __all__)
