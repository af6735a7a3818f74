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
    "exceptions",
    "lightgbm",
    "models",
    "pyfunc",
    "sklearn",
    "types",
    "utils",
    "xgboost",
}

__all__ = ["__version__", *sorted(_SUBMODULES)]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), {name: f"mlcask.{name}" for name in _SUBMODULES}, __all__)
