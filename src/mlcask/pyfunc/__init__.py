"""The generic model interface: load any MLflow-format model and ``predict``.

``load_model``, ``save_model`` and the custom-model classes ``PythonModel`` and
``PythonModelContext`` have MLflow's names and arguments.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mlcask._lazy import lazy_attributes
from mlcask.exceptions import InvalidArgumentError
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.loading import get_model_dependencies, load_model
from mlcask.pyfunc.model import PyFuncModel
from mlcask.pyfunc.python_model import PythonModel, PythonModelContext
from mlcask.pyfunc.spec import (
    CODE,
    DATA,
    ENV,
    MAIN,
    MODEL_CODE_PATH,
    MODEL_CONFIG,
    PY_VERSION,
    add_to_model,
    get_default_conda_env,
    get_default_pip_requirements,
)
from mlcask.tracking.model_logging import flavor_log_model

FLAVOR_NAME = "python_function"

# Loading warnings (cloudpickle versions, ...) go through this logger, as MLflow's through mlflow.pyfunc._logger.
_logger = logging.getLogger(__name__)

__all__ = [
    "CODE",
    "DATA",
    "ENV",
    "FLAVOR_NAME",
    "MAIN",
    "MODEL_CODE_PATH",
    "MODEL_CONFIG",
    "PY_VERSION",
    "PyFuncModel",
    "add_to_model",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "PythonModel",
    "PythonModelContext",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "save_model",
    "spark_udf",
]
# spark_udf needs pyspark: its module loads on first use, so `import mlcask.pyfunc` never imports pyspark.
__getattr__, __dir__ = lazy_attributes(__name__, globals(), {"spark_udf": "mlcask.pyfunc.spark_scoring"}, __all__)


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
    model_config: dict[str, Any] | str | os.PathLike | None = None,
    streamable: bool | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save a custom model to ``path`` in the MLflow format.

    Parameters
    ----------
    python_model : PythonModel, callable, str or path-like
        A :class:`PythonModel` instance (pickled with cloudpickle); a function taking one
        argument, the model input (wrapped, and its type hints give the signature); or
        the path of a ``.py`` file that builds the model and calls
        :func:`mlcask.models.set_model` (MLflow's models from code: the file is copied
        into the model and run again at load, which needs the trust code needs).
    artifacts : dict, optional
        ``{name: local path or URI}`` copied into the model (``runs:/`` and ``models:/``
        URIs are resolved and downloaded first).
    loader_module, data_path
        Instead of ``python_model``: a module with ``_load_pyfunc(data_path)``, shipped
        through ``code_paths``, and its data.
    model_config : dict, str or path-like, optional
        The model's configuration (a dict, or a YAML file), given to ``load_context`` and to
        :class:`mlcask.models.ModelConfig` in a code file.
    signature : ModelSignature or False, optional
        ``False`` saves no signature and infers none.
    """
    mlflow_model = kwargs.pop("model", mlflow_model)
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments: {kwargs}")
    common = dict(mlflow_model=mlflow_model, signature=signature, input_example=input_example,
                  conda_env=conda_env, pip_requirements=pip_requirements,
                  extra_pip_requirements=extra_pip_requirements, code_paths=code_paths,
                  metadata=metadata)
    _check_model_arguments(loader_module, data_path, python_model, artifacts)
    if python_model is not None:
        from mlcask.models.from_code import check_model_config
        from mlcask.pyfunc.python_model import save_python_model

        model_config = check_model_config(model_config)
        code_path = None
        if isinstance(python_model, (str, os.PathLike)):
            from mlcask.pyfunc.code_file import code_file_path, run_code_file

            code_path = code_file_path(python_model)
            python_model = run_code_file(code_path.read_bytes(), str(code_path), model_config)
        model = save_python_model(path, python_model, artifacts=artifacts, model_config=model_config,
                                  model_code_path=code_path, streamable=streamable, **common)
    else:
        if artifacts:
            raise InvalidArgumentError("artifacts go with python_model, not with loader_module; use data_path.")
        model = _save_loader_module_model(path, loader_module, data_path, streamable, **common)
    return ModelInfo.from_model(model, model_uri=str(Path(path).absolute()))


def _check_model_arguments(loader_module: Any, data_path: Any, python_model: Any, artifacts: Any) -> None:
    """MLflow's two argument sets, with its messages: (loader_module, data_path) or
    (python_model, artifacts)."""
    first = {"loader_module": loader_module, "data_path": data_path}
    second = {"artifacts": artifacts, "python_model": python_model}
    if any(v is not None for v in first.values()) and any(v is not None for v in second.values()):
        raise InvalidArgumentError(
            f"The following sets of parameters cannot be specified together: {first.keys()}  and {second.keys()}. "
            "All parameters in one set must be `None`. Instead, found the following values: "
            f"{first} and {second}")
    if loader_module is None and python_model is None:
        raise InvalidArgumentError("Either `loader_module` or `python_model` must be specified. A `loader_module` "
                                   "should be a python module. A `python_model` should be a subclass of PythonModel")


def _save_loader_module_model(path: str | os.PathLike, loader_module: str, data_path: str | os.PathLike | None,
                              streamable: bool | None, **common: Any) -> Model:
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
        pyfunc_conf=lambda conf: {"loader_module": loader_module, **conf,
                                  **({"streamable": streamable} if streamable is not None else {})},
        default_requirements=lambda _: get_default_pip_requirements(),  # MLflow's: cloudpickle, pinned
        **common,
    )


log_model = flavor_log_model(
    save_model, FLAVOR_NAME,
    "artifact_path loader_module data_path code_paths infer_code_paths conda_env python_model artifacts "
    "registered_model_name signature input_example await_registration_for pip_requirements extra_pip_requirements "
    "metadata model_config streamable resources auth_policy uv_project_path uv_groups uv_extras prompts name params "
    "tags model_type step model_id",
    unsupported={"infer_code_paths": False, "resources": None, "auth_policy": None, "uv_project_path": None,
                 "uv_groups": None, "uv_extras": None},
    what="a custom pyfunc model",
)
