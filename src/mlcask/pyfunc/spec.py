"""The python_function flavor's MLmodel keys and defaults, under MLflow's names.

Other flavors (and users building a model folder by hand) describe how to load their
folder as a pyfunc with :func:`add_to_model`.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from mlcask.models.environment import PYTHON_VERSION, _mlflow_conda_env, pinned
from mlcask.models.model import PYFUNC_FLAVOR, Model

FLAVOR_NAME = PYFUNC_FLAVOR
MAIN = "loader_module"
CODE = "code"
DATA = "data"
ENV = "env"
PY_VERSION = "python_version"
MODEL_CONFIG = "config"
MODEL_CODE_PATH = "model_code_path"

__all__ = ["CODE", "DATA", "ENV", "FLAVOR_NAME", "MAIN", "MODEL_CODE_PATH", "MODEL_CONFIG", "PY_VERSION",
           "add_to_model", "get_default_conda_env", "get_default_pip_requirements"]


def add_to_model(model: Model, loader_module: str, data: str | None = None, code: str | None = None,
                 conda_env: str | None = None, python_env: str | None = None,
                 model_config: dict[str, Any] | None = None, model_code_path: str | None = None,
                 **kwargs: Any) -> Model:
    """Add the ``python_function`` flavor to ``model``'s metadata; returns ``model``.

    Parameters
    ----------
    model : Model
        The metadata to add the flavor to.
    loader_module : str
        The module whose ``_load_pyfunc(data_path)`` loads the model (``mlflow.sklearn``, ...).
    data, code : str, optional
        Paths, relative to the model folder, of the model's data and code.
    conda_env, python_env : str, optional
        File names of the conda and virtualenv environments in the model folder.
    model_config : dict, optional
        Configuration given to the model when it loads.
    model_code_path : str, optional
        The code file of a model from code.
    **kwargs
        Further keys of the flavor's section (YAML-serialisable).
    """
    params = deepcopy(kwargs)
    params[MAIN] = loader_module
    params[PY_VERSION] = PYTHON_VERSION
    if code:
        params[CODE] = code
    if data:
        params[DATA] = data
    if conda_env or python_env:
        params[ENV] = {}
        if conda_env:
            params[ENV]["conda"] = conda_env
        if python_env:
            params[ENV]["virtualenv"] = python_env
    if model_config:
        params[MODEL_CONFIG] = model_config
    if model_code_path:
        params[MODEL_CODE_PATH] = model_code_path
    return model.add_flavor(FLAVOR_NAME, **params)


def get_default_pip_requirements() -> list[str]:
    """The pip requirements every custom (``python_model``) model gets: cloudpickle, pinned."""
    return [pinned("cloudpickle")]


def get_default_conda_env() -> dict[str, Any]:
    """The default conda environment of custom models, in MLflow's layout."""
    return _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements())
