"""Custom models: ``PythonModel`` subclasses saved with cloudpickle, as MLflow saves them.

A pickled ``mlcask.pyfunc.PythonModel`` subclass refers to its base class as
``mlflow.pyfunc.model.PythonModel``, so real MLflow loads it without mlcask
installed; when mlcask loads a pickle, that name (and MLflow's context class) maps
back to mlcask's classes, so models pickled by MLflow load without MLflow installed.
"""

from __future__ import annotations

import importlib
import inspect
import io
import os
import pickle
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.model import PYFUNC_FLAVOR, Model
from mlcask.models.trust import current_trust, model_file_name
from mlcask.pyfunc.custom_model import PythonModel, PythonModelContext
from mlcask.pyfunc.loading import model_path
from mlcask.pyfunc.mlflow_compat import MlflowCompatibleUnpickler

PYTHON_MODEL_FILE_NAME = "python_model.pkl"
ARTIFACTS_FOLDER = "artifacts"
MLFLOW_LOADER_MODULE = "mlflow.pyfunc.model"


def _takes_context(python_model: PythonModel) -> bool:
    """MLflow's rule: a parameter named ``context``, or exactly two besides ``params``."""
    parameters = [p for p in inspect.signature(python_model.predict).parameters if p not in ("self", "params")]
    return "context" in parameters or len(parameters) == 2


def _accepts_params(python_model: PythonModel) -> bool:
    return "params" in inspect.signature(python_model.predict).parameters


class _PythonModelWrapper:
    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._with_context = _takes_context(python_model)
        self._with_params = _accepts_params(python_model)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        args = (self.context, data) if self._with_context else (data,)
        if self._with_params:
            return self.python_model.predict(*args, params=params)
        return self.python_model.predict(*args)

    def unwrap_python_model(self) -> PythonModel:
        return self.python_model

    def get_raw_model(self) -> PythonModel:
        return self.python_model


# -- pickling across mlcask and MLflow ------------------------------------------------
def _dump_python_model(python_model: PythonModel, file: Path) -> None:
    import cloudpickle

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if obj is PythonModel:  # reference MLflow's base class by name, see module docstring
                return getattr, (_ModuleRef(), "PythonModel")
            return super().reducer_override(obj)

    with open(file, "wb") as f:
        Pickler(f, protocol=pickle.DEFAULT_PROTOCOL).dump(python_model)


class _ModuleRef:
    """Pickles as ``importlib.import_module("mlflow.pyfunc.model")``."""

    def __reduce__(self) -> Any:
        return importlib.import_module, (MLFLOW_LOADER_MODULE,)


def _load_python_model(model_dir: Path, name: str) -> PythonModel:
    trust = current_trust()
    trust.require_code(f"the pickled python model '{name}'")
    file = model_dir / name
    if not trust.folder.pinned.is_file(name):
        raise ModelFormatError(f"The model's python model file '{file}' is missing.")
    data = trust.folder.read(name, runs_code=True)
    try:
        return MlflowCompatibleUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError) as exc:
        raise ModelFormatError(f"The python model file '{file}' is corrupt: {exc}") from None
    except (ImportError, AttributeError) as exc:
        raise ModelFormatError(
            f"The python model in '{file}' refers to code that cannot be found: {exc}. "
            "Save the model with code_paths=[...] holding the modules it needs."
        ) from None


# -- save and load --------------------------------------------------------------------
def _copy_artifacts(artifacts: dict[str, str], folder: Path) -> dict[str, dict[str, str]]:
    """Copy each artifact to ``artifacts/<its base name>``; names and base names must be plain names.
    A folder is copied as :func:`~mlcask.models.packaging.copy_into_model` does: no link out of it."""
    from mlcask.models.packaging import copy_into_model
    from mlcask.utils.paths import safe_name

    if not isinstance(artifacts, dict):
        raise InvalidArgumentError(f"artifacts must be a dict of name -> local path, got {type(artifacts).__name__}.")
    destination = folder / ARTIFACTS_FOLDER
    destination.mkdir()
    recorded: dict[str, dict[str, str]] = {}
    for name, uri in artifacts.items():
        safe_name(name, "artifact name (a key of artifacts=)")
        source = Path(uri[len("file://"):] if str(uri).startswith("file://") else uri)
        if not source.exists():
            raise InvalidArgumentError(f"Artifact '{name}': '{uri}' does not exist.")
        safe_name(source.name, f"file name of artifact {name!r} (it is saved as artifacts/<file name>)")
        target = destination / source.name
        if target.exists():
            raise InvalidArgumentError(f"Artifact '{name}': another artifact is already saved as '{source.name}'.")
        copy_into_model(source, target, f"artifact '{name}' ('{uri}')")
        recorded[name] = {"path": f"{ARTIFACTS_FOLDER}/{source.name}", "uri": str(uri)}
    return recorded


def _default_requirements(python_model: PythonModel, input_example: Any) -> list[str]:
    """cloudpickle, the packages the model object and its methods use, and the packages of
    the data it takes (pandas for a DataFrame example, numpy for an array)."""
    from mlcask.models.environment import infer_pip_requirements
    from mlcask.models.input_example import split_example_and_params

    data, _ = split_example_and_params(input_example)
    requirements = infer_pip_requirements(["cloudpickle"], [python_model, data] if data is not None else [python_model],
                                          include_code=True)
    if any(r.startswith("pandas==") for r in requirements) and not any(r.startswith("numpy==") for r in requirements):
        requirements = infer_pip_requirements(["cloudpickle", "numpy"], [python_model, data], include_code=True)
    return requirements


def save_python_model(path: str | os.PathLike, python_model: PythonModel, *, artifacts: dict[str, str] | None,
                      model_config: dict[str, Any] | None, **common: Any) -> Model:
    import cloudpickle

    from mlcask.models.packaging import save_model_folder

    if not isinstance(python_model, PythonModel) and not callable(getattr(python_model, "predict", None)):
        raise InvalidArgumentError(
            f"python_model must be a PythonModel instance, got {type(python_model).__name__}."
        )

    def write_data(folder: Path) -> dict[str, Any]:
        _dump_python_model(python_model, folder / PYTHON_MODEL_FILE_NAME)
        conf: dict[str, Any] = {}
        if artifacts:
            conf["artifacts"] = _copy_artifacts(artifacts, folder)
        return conf

    def predict_for_signature(data: Any, params: dict | None) -> Any:
        staged = {name: str(Path(uri)) for name, uri in (artifacts or {}).items()}
        wrapper = _PythonModelWrapper(python_model, PythonModelContext(staged, model_config))
        python_model.load_context(wrapper.context)
        return wrapper.predict(data, params)

    def pyfunc_conf(conf: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "cloudpickle_version": cloudpickle.__version__,
            "loader_module": MLFLOW_LOADER_MODULE,
            "python_model": PYTHON_MODEL_FILE_NAME,
            "streamable": callable(getattr(type(python_model), "predict_stream", None)),
            **conf,
        }
        if model_config:
            extra["config"] = model_config
        return extra

    model = save_model_folder(
        path,
        flavor_name=None,
        write_data=write_data,
        pyfunc_conf=pyfunc_conf,
        default_requirements=lambda _: _default_requirements(python_model, common.get("input_example")),
        predict_for_signature=predict_for_signature,
        **common,
    )
    return model


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    conf = meta.flavor(PYFUNC_FLAVOR)
    subpath = conf.get("python_model")
    if not subpath:
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': the python_function flavor "
                               "names no 'python_model' file.")
    python_model = _load_python_model(model_dir, model_file_name(model_dir, subpath, "python model file"))
    artifacts = {}
    for name, info in (conf.get("artifacts") or {}).items():
        artifact = model_path(model_dir, info.get("path") if isinstance(info, dict) else None, f"artifact '{name}'")
        artifacts[name] = str(artifact)
    config = {**(conf.get("config") or {}), **(model_config or {})}
    context = PythonModelContext(artifacts, config or None)
    python_model.load_context(context)
    return _PythonModelWrapper(python_model, context)
