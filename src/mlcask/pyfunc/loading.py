"""``pyfunc.load_model``: read MLmodel, pick the flavor's loader, wrap it in a PyFuncModel."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from mlcask.exceptions import BAD_REQUEST, RESOURCE_DOES_NOT_EXIST, MlcaskException, ModelFormatError
from mlcask.models.model import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from mlcask.models.trust import EntryPoint, LoadTrust, current_trust, loading, model_file_name, open_model
from mlcask.models.uri import resolve_model_path
from mlcask.pyfunc.code_import import install_verified_code
from mlcask.pyfunc.model import PyFuncModel
from mlcask.utils.mlflow_tags import MLFLOW_MODEL_IS_EXTERNAL

ENTRY_POINT = EntryPoint("mlcask.pyfunc.load_model")

# MLflow's loader modules, and the mlcask modules that read the same folders.
LOADER_MODULES = {
    "mlflow.sklearn": "mlcask.sklearn",
    "mlflow.xgboost": "mlcask.xgboost",
    "mlflow.lightgbm": "mlcask.lightgbm",
    "mlflow.spark": "mlcask.spark",
    "mlflow.pyfunc.model": "mlcask.pyfunc.python_model",
    "mlflow.pyfunc.loaders.code_model": "mlcask.pyfunc.code_model",
}


def model_path(model_dir: Path, name: Any, what: str) -> Path:
    """``model_dir / name`` for a path read from MLmodel, for code that opens it by path
    (a custom model's artifacts, an MLflow-style loader module): it must stay inside the
    folder and be one of the pinned folder's entries."""
    relative = model_file_name(model_dir, name, what)
    if relative not in current_trust().folder.pinned.entries:
        raise ModelFormatError(f"The model's {what} is missing: expected '{model_dir / relative}'.")
    return model_dir / relative


def read_mlmodel(trust: LoadTrust) -> Model:
    """The model's metadata, parsed from the verified bytes of its MLmodel file."""
    folder = trust.folder
    if not folder.pinned.is_file(MLMODEL_FILE_NAME):
        raise ModelFormatError(f"'{folder.path}' is not an MLflow model folder: it has no '{MLMODEL_FILE_NAME}' "
                               "file.")
    return Model.from_yaml(folder.read(MLMODEL_FILE_NAME, runs_code=True), str(folder.path / MLMODEL_FILE_NAME))


def add_code_path(trust: LoadTrust, conf: dict[str, Any]) -> None:
    """Make the model's saved ``code/`` importable, as MLflow does by ``sys.path``, but from
    the verified sources (:mod:`mlcask.pyfunc.code_import`), once the load's trust allows
    running the model's code (see :mod:`mlcask.models.trust`)."""
    code = conf.get("code")
    if not code:
        return
    folder = trust.folder
    name = model_file_name(folder.path, code, "code folder")
    if not folder.pinned.is_dir(name):
        raise ModelFormatError(f"The model's MLmodel names code folder '{code}', but '{folder.path / name}' is "
                               "missing.")
    trust.require_code(f"its code folder '{code}'")
    sources = {relative[len(name) + 1:]: folder.read(relative, runs_code=True)
               for relative in folder.pinned.files_under(name) if relative.endswith(".py")}
    install_verified_code(str(folder.path / name), sources)


def _loader_for(loader_module: str, model_dir: Path) -> Any:
    target = LOADER_MODULES.get(loader_module)
    if target is not None:
        return importlib.import_module(target)
    if loader_module.startswith("mlflow."):
        raise ModelFormatError(
            f"The model in '{model_dir}' is loaded by '{loader_module}', a flavor mlcask does not "
            f"support; supported loader modules: {sorted(LOADER_MODULES)}."
        )
    # A custom loader module saved with the model (save_model(loader_module=..., code_paths=...)).
    current_trust().require_code(f"its loader module '{loader_module}'")
    try:
        return importlib.import_module(loader_module)
    except ImportError as exc:
        raise ModelFormatError(
            f"The model in '{model_dir}' names loader module '{loader_module}', which cannot be "
            f"imported: {exc}."
        ) from None


def load_model(model_uri: str | os.PathLike, suppress_warnings: bool = False,
               dst_path: str | None = None, model_config: dict[str, Any] | None = None,
               allow_pickle: bool | None = None) -> PyFuncModel:
    """Load a model saved in the MLflow format as a :class:`PyFuncModel`.

    ``model_uri`` is a local path or ``file:`` URI (and, with tracking, ``runs:/`` and
    ``models:/`` URIs). Models saved by MLflow itself load too. The folder is verified
    against its integrity manifest first. Formats that can run code when read (pickle,
    cloudpickle, a custom ``PythonModel``, the model's ``code/``) load only from a model
    signed by a trusted key, or with ``allow_pickle=True`` (or ``MLCASK_ALLOW_PICKLE=1``).
    """
    model_dir = resolve_model_path(model_uri)
    with loading(open_model(model_dir, allow_pickle, entry_point=ENTRY_POINT)) as trust:
        return _load_verified(trust, model_config)


def _load_verified(trust: LoadTrust, model_config: dict[str, Any] | None) -> PyFuncModel:
    model_dir = trust.folder.path
    meta = read_mlmodel(trust)
    if (meta.metadata or {}).get(MLFLOW_MODEL_IS_EXTERNAL) is True:
        raise MlcaskException("This model's artifacts are external and are not stored in the model directory. "
                              f"This model cannot be loaded with MLflow (nor mlcask): '{model_dir}' holds its "
                              "MLmodel only. Log the model into it first (log_model(..., model_id=...)).",
                              error_code=BAD_REQUEST)
    conf = meta.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        others = sorted(meta.flavors)
        # The first sentence is MLflow's wording (and RESOURCE_DOES_NOT_EXIST its code).
        raise ModelFormatError(
            f'Model does not have the "{PYFUNC_FLAVOR}" flavor: the model in \'{model_dir}\' cannot be loaded '
            f"as a pyfunc model; its flavors are {others}. Load it with that flavor's load_model.",
            error_code=RESOURCE_DOES_NOT_EXIST,
        )
    loader_module = conf.get("loader_module")
    if not isinstance(loader_module, str):
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': the '{PYFUNC_FLAVOR}' flavor "
                               f"has no 'loader_module' (got {loader_module!r}).")
    add_code_path(trust, conf)
    loader = _loader_for(loader_module, model_dir)
    if hasattr(loader, "load_pyfunc_model"):
        impl = loader.load_pyfunc_model(model_dir, meta, model_config=model_config)
    else:  # a user's loader module follows MLflow's protocol: _load_pyfunc(data_path)
        data = conf.get("data")
        impl = loader._load_pyfunc(str(model_path(model_dir, data, "data")) if data else str(model_dir))
    stream = "predict_stream" if callable(getattr(impl, "predict_stream", None)) else None
    return PyFuncModel(meta, impl, predict_stream_fn=stream, loader_module=loader_module, model_path=model_dir,
                       serving_input_example=_serving_input_example(trust, meta))


def _serving_input_example(trust: LoadTrust, meta: Model) -> str | None:
    """The saved serving input example, from the verified bytes (the scoring server shows it)."""
    name = (meta.saved_input_example_info or {}).get("serving_input_path")
    if not isinstance(name, str):
        return None
    try:
        relative = model_file_name(trust.folder.path, name, "serving input example")
    except ModelFormatError:
        return None
    if not trust.folder.pinned.is_file(relative):
        return None
    try:
        return trust.folder.read(relative, runs_code=False).decode("utf-8")
    except UnicodeDecodeError:
        return None


def get_model_dependencies(model_uri: str | os.PathLike, format: str = "pip") -> str:
    """Path of the model's ``requirements.txt`` (``format="pip"``) or ``conda.yaml`` (``"conda"``)."""
    from mlcask.exceptions import InvalidArgumentError

    model_dir = resolve_model_path(model_uri)
    meta = Model.load(model_dir)
    env = (meta.flavors.get(PYFUNC_FLAVOR) or {}).get("env") or {}
    if isinstance(env, str):  # MLflow < 2 wrote just the conda file name
        env = {"conda": env}
    if format == "pip":
        file = model_dir / "requirements.txt"
    elif format == "conda":
        file = model_dir / env.get("conda", "conda.yaml")
    else:
        raise InvalidArgumentError(f"format must be 'pip' or 'conda', got {format!r}.")
    if not file.is_file():
        raise ModelFormatError(f"The model in '{model_dir}' has no environment file '{file.name}'.")
    return str(file)
