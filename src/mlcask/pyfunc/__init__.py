"""The generic model interface: load any MLflow-format model and ``predict``.

``load_model``, ``save_model`` and the custom-model classes ``PythonModel`` and
``PythonModelContext`` have MLflow's names and arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.loading import get_model_dependencies, load_model
from mlcask.pyfunc.model import PyFuncModel
from mlcask.pyfunc.python_model import PythonModel, PythonModelContext

FLAVOR_NAME = "python_function"

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "save_model",
]


def save_model(
    path: str | os.PathLike,
    loader_module: str | None = None,
    data_path: str | os.PathLike | None = None,
    code_paths: list[str] | None = None,
    conda_env: dict | str | None = None,
    mlflow_model: Model | None = None,
    python_model: PythonModel | None = None,
    artifacts: dict[str, str] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
) -> ModelInfo:
    """Save a custom model to ``path`` in the MLflow format.

    Either ``python_model`` (a :class:`PythonModel` instance, pickled with cloudpickle,
    with optional ``artifacts={name: local path}`` copied into the model), or
    ``loader_module`` (a module with ``_load_pyfunc(data_path)``, shipped through
    ``code_paths``) with an optional ``data_path``.
    """
    common = dict(mlflow_model=mlflow_model, signature=signature, input_example=input_example,
                  conda_env=conda_env, pip_requirements=pip_requirements,
                  extra_pip_requirements=extra_pip_requirements, code_paths=code_paths,
                  metadata=metadata)
    if (python_model is None) == (loader_module is None):
        raise InvalidArgumentError(
            "Give exactly one of python_model (a PythonModel instance) and loader_module "
            f"(a module name); got python_model={type(python_model).__name__ if python_model is not None else None}, "
            f"loader_module={loader_module!r}."
        )
    if python_model is not None:
        if isinstance(python_model, (str, os.PathLike)):
            raise InvalidArgumentError(
                "python_model given as a file path (MLflow's models-from-code) is not supported yet; "
                "pass a PythonModel instance."
            )
        if data_path is not None:
            raise InvalidArgumentError("data_path goes with loader_module, not with python_model; use artifacts.")
        from mlcask.pyfunc.python_model import save_python_model

        model = save_python_model(path, python_model, artifacts=artifacts, model_config=model_config, **common)
    else:
        if artifacts:
            raise InvalidArgumentError("artifacts go with python_model, not with loader_module; use data_path.")
        model = _save_loader_module_model(path, loader_module, data_path, **common)
    return ModelInfo.from_model(model, model_uri=str(Path(path).absolute()))


def _save_loader_module_model(path: str | os.PathLike, loader_module: str,
                              data_path: str | os.PathLike | None, **common: Any) -> Model:
    from mlcask.models.packaging import copy_into_model, save_model_folder

    def write_data(folder: Path) -> dict[str, Any]:
        if data_path is None:
            return {}
        source = Path(data_path)
        if not source.exists():
            raise InvalidArgumentError(f"data_path '{data_path}' does not exist.")
        copy_into_model(source, folder / source.name, f"data_path '{data_path}'")
        return {"data": source.name}

    return save_model_folder(
        path,
        flavor_name=None,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"loader_module": loader_module, **conf},
        default_requirements=lambda _: [],
        **common,
    )


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    conda_env: dict | str | None = None,
    python_model: PythonModel | None = None,
    artifacts: dict[str, str] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log a custom pyfunc model into the active run (arguments as ``save_model``).

    Returns a :class:`~mlcask.models.ModelInfo` whose ``model_uri`` is ``models:/<model_id>``;
    ``registered_model_name`` also registers it as a new version of that name.
    """
    from mlcask.tracking.model_logging import log_model as log_into_run

    return log_into_run(
        lambda path, mlflow_model: save_model(
            path, loader_module=loader_module, data_path=data_path, code_paths=code_paths, conda_env=conda_env,
            mlflow_model=mlflow_model, python_model=python_model, artifacts=artifacts, signature=signature,
            input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, metadata=metadata, model_config=model_config),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name,
        params=params, tags=tags, model_type=model_type, flavor=FLAVOR_NAME,
    )
