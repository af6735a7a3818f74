"""mlcask: log, package, load and serve ML models in the MLflow model format.

Drop-in for the MLflow calls people already write::

    import mlcask as mlflow
    mlflow.xgboost.save_model(model, "model", signature=signature, input_example=X[:1])
    loaded = mlflow.pyfunc.load_model("model")

Importing ``mlcask`` is cheap: submodules (and pandas, numpy, the flavors' libraries)
load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"mlcask.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mlcask' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
