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
import logging
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from mlcask.environment_variables import MLFLOW_LOG_MODEL_COMPRESSION
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.model import PYFUNC_FLAVOR, Model
from mlcask.models.trust import current_trust, model_file_name
from mlcask.pyfunc.code_file import CODE_MODEL_LOADER
from mlcask.pyfunc.custom_model import FunctionPythonModel, PythonModel, PythonModelContext
from mlcask.pyfunc.loading import model_path
from mlcask.pyfunc.mlflow_compat import MlflowCompatibleUnpickler

PYTHON_MODEL_FILE_NAME = "python_model.pkl"
ARTIFACTS_FOLDER = "artifacts"
MLFLOW_LOADER_MODULE = "mlflow.pyfunc.model"
_logger = logging.getLogger(__name__)


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
        hints = getattr(python_model, "predict_type_hints", None)
        self._input_hint = getattr(hints, "input", None)
        stream = getattr(type(python_model), "predict_stream", None)
        if callable(stream):  # only models that stream get the method (PyFuncModel looks for it)
            self.predict_stream = self._predict_stream

    def _predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        stream = self.python_model.predict_stream
        parameters = [p for p in inspect.signature(stream).parameters if p not in ("self", "params")]
        args = (self.context, data) if "context" in parameters or len(parameters) == 2 else (data,)
        if "params" in inspect.signature(stream).parameters:
            return stream(*args, params=params)
        return stream(*args)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._input_hint is not None:  # checked against predict's type hint, as in MLflow
            from mlcask.pyfunc.type_hints import convert_and_validate

            data = convert_and_validate(data, self._input_hint)
        args = (self.context, data) if self._with_context else (data,)
        if self._with_params:
            return self.python_model.predict(*args, params=params)
        return self.python_model.predict(*args)

    def unwrap_python_model(self) -> PythonModel:
        return self.python_model

    def get_raw_model(self) -> PythonModel:
        return self.python_model


# -- pickling across mlcask and MLflow ------------------------------------------------
# MLflow's MLFLOW_LOG_MODEL_COMPRESSION methods: file suffix and module (each has open/decompress).
_COMPRESSIONS = {"lzma": (".xz", "lzma"), "bzip2": (".bz2", "bz2"), "gzip": (".gz", "gzip")}
_COMPRESSION_KEY = "python_model_compression"


def _compression(name: str | None, when: str) -> str | None:
    """``name`` if it is a compression MLflow knows; None (uncompressed, with MLflow's warning) otherwise."""
    if not name or name in _COMPRESSIONS:
        return name or None
    logging.getLogger("mlcask.pyfunc").warning(
        "Unrecognized compression method '%s' (%s). Please select one of: %s. Falling back to uncompressed "
        "storage/loading.", name, when, ", ".join(sorted(_COMPRESSIONS)))
    return None


def _dump_python_model(python_model: PythonModel, file: Path, compression: str | None = None) -> None:
    import cloudpickle

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if obj is PythonModel:  # reference MLflow's base class by name, see module docstring
                return getattr, (_ModuleRef(), "PythonModel")
            if obj is FunctionPythonModel:  # and MLflow's wrapper of plain functions
                return getattr, (_ModuleRef(), "_FunctionPythonModel")
            if _is_checked_predict(obj):  # see _checked_predict_reduction
                return _checked_predict_reduction(obj, super().reducer_override)
            return super().reducer_override(obj)

    opener = importlib.import_module(_COMPRESSIONS[compression][1]).open if compression else open
    with opener(file, "wb") as f:
        Pickler(f, protocol=pickle.DEFAULT_PROTOCOL).dump(python_model)


class _ModuleRef:
    """Pickles as ``importlib.import_module("mlflow.pyfunc.model")``."""

    def __reduce__(self) -> Any:
        return importlib.import_module, (MLFLOW_LOADER_MODULE,)


class _MlflowPyfunc:
    """Pickles as ``mlflow.pyfunc.model.pyfunc``: MLflow's ``@pyfunc`` decorator (mlcask's, when
    mlcask loads the pickle: the unpickler maps that module to :mod:`mlcask.pyfunc.custom_model`)."""

    def __call__(self, func: Any) -> Any:  # never called here: pickle needs a callable
        from mlcask.pyfunc.utils import pyfunc

        return pyfunc(func)

    def __reduce__(self) -> Any:
        return getattr, (_ModuleRef(), "pyfunc")


def _is_checked_predict(obj: Any) -> bool:
    return (inspect.isfunction(obj) and getattr(obj, "_is_pyfunc", False) and hasattr(obj, "__wrapped__")
            and hasattr(obj, "input_type_hint"))


def _checked_predict_reduction(checked: Any, reduce_function: Any) -> Any:
    """A ``predict`` mlcask wrapped to check its input (:func:`mlcask.pyfunc.utils.checked_predict`)
    pickles as ``pyfunc(<the function it wraps>)``, so that loading runs MLflow's own
    ``@pyfunc`` on the user's function: MLflow gets its own checking wrapper, with no mlcask
    code in the pickle. A function whose parameter names MLflow warns about is pickled bare
    (MLflow's ``@pyfunc`` would warn at every load), and checks no input once loaded by MLflow."""
    from mlcask.pyfunc.utils import invalid_parameter_names

    original = checked.__wrapped__
    if invalid_parameter_names(original):
        reduced = reduce_function(original)
        return reduce_function(checked) if reduced is NotImplemented else reduced
    return _MlflowPyfunc(), (original,)


def _load_python_model(model_dir: Path, name: str, compression: str | None = None) -> PythonModel:
    trust = current_trust()
    trust.require_code(f"the pickled python model '{name}'")
    file = model_dir / name
    if not trust.folder.pinned.is_file(name):
        raise ModelFormatError(f"The model's python model file '{file}' is missing.")
    data = trust.folder.read(name, runs_code=True)  # the verified bytes, decompressed in memory
    try:
        if compression:
            data = importlib.import_module(_COMPRESSIONS[compression][1]).decompress(data)
        return MlflowCompatibleUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise ModelFormatError(f"The python model file '{file}' is corrupt: {exc}") from None
    except (ImportError, AttributeError) as exc:
        raise ModelFormatError(
            f"The python model in '{file}' refers to code that cannot be found: {exc}. "
            "Save the model with code_paths=[...] holding the modules it needs."
        ) from None


# -- save and load --------------------------------------------------------------------
def local_artifact(name: str, uri: str | os.PathLike) -> Path:
    """The local file or folder of artifact ``name``: a path or ``file:`` URI as is; a ``runs:/``,
    ``models:/`` or remote URI resolved (downloaded) as a model URI is, as MLflow downloads it."""
    import urllib.parse

    from mlcask.models.uri import resolve_model_path

    text = os.fspath(uri)
    if len(urllib.parse.urlparse(text).scheme) > 1 and not text.startswith("file:"):
        return resolve_model_path(text)
    source = Path(text[len("file://"):] if text.startswith("file://") else text)
    if not source.exists():
        raise InvalidArgumentError(f"Artifact '{name}': '{uri}' does not exist.")
    return source


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
        source = local_artifact(name, uri)
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
    objects = [python_model, getattr(python_model, "func", None) if isinstance(python_model, FunctionPythonModel)
               else None, data]
    objects = [o for o in objects if o is not None]
    requirements = infer_pip_requirements(["cloudpickle"], objects, include_code=True)
    # numpy beside pandas when the model takes tabular data (predicting on it uses numpy, which MLflow's
    # import capture records) or when pandas is older than 2.1.2 (it does not pin numpy < 2 itself, MLflow's
    # rule); pandas imported by the model's code alone brings no numpy, as in MLflow.
    pandas = next((r.split("==", 1)[1] for r in requirements if r.startswith("pandas==")), None)
    tabular = type(data).__module__.split(".")[0] in ("pandas", "numpy")
    if pandas is not None and not any(r.startswith("numpy==") for r in requirements) \
            and (tabular or _older_than(pandas, "2.1.2")):
        requirements = infer_pip_requirements(["cloudpickle", "numpy"], objects, include_code=True)
    return requirements


def _older_than(version: str, than: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) < Version(than)
    except InvalidVersion:
        return False


def _signature_and_model(python_model: Any, common: dict[str, Any], checked: bool) -> None:
    """MLflow's rule: a signature implied by ``predict``'s type hints wins over one given
    (with a warning when they differ); ``signature=False`` saves none. ``checked``: whether
    the model given checks its input itself (MLflow's advice to decorate it otherwise)."""
    import warnings

    from mlcask.models.model import Model
    from mlcask.pyfunc.type_hints import signature_from_type_hints

    if common.get("signature") is False:
        return
    hinted = signature_from_type_hints(python_model.predict_type_hints)
    if hinted is None:
        return
    if not checked:
        warnings.warn("Decorate your function with `@mlflow.pyfunc.utils.pyfunc` to enable auto data validation "
                      "against model input type hints.", UserWarning, stacklevel=4)
    given = common.get("signature")
    if given is not None and given != hinted:
        _logger.warning("Provided signature does not match the signature inferred from the Python model's `predict` "
                        "function type hint. Signature inferred from type hint will be used:\n%s", hinted)
    model = common.get("mlflow_model") or Model()
    model.is_signature_from_type_hint = True
    common.update(mlflow_model=model, signature=hinted)


def _check_example_against_signature(common: dict[str, Any]) -> None:
    """A signature given by the caller: MLflow warns without an example, and refuses one that does not fit."""
    import warnings

    from mlcask.models.enforcement import enforce_params, enforce_schema
    from mlcask.models.input_example import split_example_and_params
    from mlcask.models.signature import ModelSignature

    signature, example = common.get("signature"), common.get("input_example")
    if not isinstance(signature, ModelSignature) or getattr(signature, "_is_signature_from_type_hint", False):
        return
    if example is None:
        warnings.warn("An input example was not provided when logging the model. To ensure the model signature "
                      "functions correctly, specify the `input_example` parameter. See "
                      "https://mlflow.org/docs/latest/model/signatures.html#model-input-example for more details "
                      "about the benefits of using input_example.", UserWarning, stacklevel=4)
        return
    data, params = split_example_and_params(example)
    try:
        enforce_schema(data, signature.inputs)
        enforce_params(params, signature.params, strict=False)
    except Exception as exc:
        raise InvalidArgumentError(f"Input example does not match the model signature. {exc}") from None


def as_python_model(python_model: Any, common: dict[str, Any]) -> PythonModel:
    """``python_model`` as a :class:`PythonModel`: a plain function is wrapped (it then needs
    an input example or requirements, as in MLflow, to know its environment)."""
    from mlcask.pyfunc.code_file import check_function_model

    check_function_model(python_model)
    if isinstance(python_model, PythonModel) or callable(getattr(python_model, "predict", None)):
        return python_model
    if not getattr(python_model, "_is_pyfunc", False):
        from mlcask.pyfunc.utils import pyfunc

        pyfunc(python_model)  # MLflow applies @pyfunc: its warnings, and its error for a malformed hint
    if all(common.get(k) is None for k in ("input_example", "pip_requirements", "extra_pip_requirements")):
        raise InvalidArgumentError("If `python_model` is a callable object, at least one of `input_example`, "
                                   "`pip_requirements`, or `extra_pip_requirements` must be specified.")
    # A @pyfunc-decorated function is saved undecorated (so MLflow can load it); predict checks its hint anyway.
    return FunctionPythonModel(python_model.__wrapped__ if getattr(python_model, "_is_pyfunc", False) else python_model)


def save_python_model(path: str | os.PathLike, python_model: Any, *, artifacts: dict[str, str] | None,
                      model_config: dict[str, Any] | None, model_code_path: Path | None = None,
                      streamable: bool | None = None, **common: Any) -> Model:
    """Save a custom model: a :class:`PythonModel` (pickled with cloudpickle), a plain function
    (wrapped, then pickled), or the model a code file sets (``model_code_path``: the file is
    copied into the folder instead, and run again at load)."""
    import cloudpickle

    from mlcask.models.packaging import save_model_folder

    given = python_model if callable(python_model) else getattr(python_model, "predict", None)  # MLflow's rule
    python_model = as_python_model(python_model, common)
    _signature_and_model(python_model, common, checked=getattr(given, "_is_pyfunc", False))
    _check_example_against_signature(common)
    compression = _compression(MLFLOW_LOG_MODEL_COMPRESSION.get(), "MLFLOW_LOG_MODEL_COMPRESSION")
    pickle_name = PYTHON_MODEL_FILE_NAME + (_COMPRESSIONS[compression][0] if compression else "")

    def write_data(folder: Path) -> dict[str, Any]:
        conf: dict[str, Any] = {}
        if model_code_path is not None:
            shutil.copy2(model_code_path, folder / model_code_path.name)
        else:
            _dump_python_model(python_model, folder / pickle_name, compression)
        if artifacts:
            conf["artifacts"] = _copy_artifacts(artifacts, folder)
        return conf

    def predict_for_signature(data: Any, params: dict | None) -> Any:
        staged = {name: str(local_artifact(name, uri)) for name, uri in (artifacts or {}).items()}
        wrapper = _PythonModelWrapper(python_model, PythonModelContext(staged, model_config))
        python_model.load_context(wrapper.context)
        return wrapper.predict(data, params)

    def pyfunc_conf(conf: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {"cloudpickle_version": cloudpickle.__version__}
        if model_code_path is not None:
            extra.update(loader_module=CODE_MODEL_LOADER, model_code_path=str(model_code_path))
        else:
            extra.update(loader_module=MLFLOW_LOADER_MODULE, python_model=pickle_name)
            if compression:
                extra[_COMPRESSION_KEY] = compression
        if streamable is None:
            streams = callable(getattr(type(python_model), "predict_stream", None))
        else:
            streams = bool(streamable)
        extra.update(streamable=streams, **conf)
        if model_config:
            extra["config"] = model_config
        return extra

    return save_model_folder(
        path,
        flavor_name=None,
        write_data=write_data,
        pyfunc_conf=pyfunc_conf,
        default_requirements=lambda _: _default_requirements(python_model, common.get("input_example")),
        predict_for_signature=predict_for_signature,
        **common,
    )


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    conf = meta.flavor(PYFUNC_FLAVOR)
    subpath = conf.get("python_model")
    if not subpath:
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': the python_function flavor "
                               "names no 'python_model' file.")
    _warn_of_cloudpickle_version(conf.get("cloudpickle_version"))
    compression = _compression(conf.get(_COMPRESSION_KEY), f"'{_COMPRESSION_KEY}' in the MLmodel")
    python_model = _load_python_model(model_dir, model_file_name(model_dir, subpath, "python model file"),
                                      compression)
    return wrap_loaded_model(python_model, model_dir, conf, model_config)


def _warn_of_cloudpickle_version(saved_with: Any) -> None:
    """MLflow's warnings (through ``mlcask.pyfunc``'s logger) when the pickle's cloudpickle differs."""
    import cloudpickle

    logger = logging.getLogger("mlcask.pyfunc")
    if saved_with is None:
        logger.warning("The version of CloudPickle used to save the model could not be found in the MLmodel "
                       "configuration")
    elif saved_with != cloudpickle.__version__:
        logger.warning("The version of CloudPickle that was used to save the model, `CloudPickle %s`, differs from "
                       "the version of CloudPickle that is currently running, `CloudPickle %s`, and may be "
                       "incompatible", saved_with, cloudpickle.__version__)


def wrap_loaded_model(python_model: Any, model_dir: Path, conf: dict[str, Any],
                      model_config: dict[str, Any] | None) -> _PythonModelWrapper:
    """The loaded ``python_model`` with its context (artifacts, config), ``load_context`` called."""
    if callable(python_model) and not callable(getattr(python_model, "predict", None)):
        python_model = FunctionPythonModel(python_model)
    artifacts = {}
    for name, info in (conf.get("artifacts") or {}).items():
        artifact = model_path(model_dir, info.get("path") if isinstance(info, dict) else None, f"artifact '{name}'")
        artifacts[name] = str(artifact)
    config = {**(conf.get("config") or {}), **(model_config or {})}
    context = PythonModelContext(artifacts, config or None)
    python_model.load_context(context)
    return _PythonModelWrapper(python_model, context)
