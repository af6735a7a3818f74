"""The scikit-learn flavor: skops by default (as MLflow 3.x), cloudpickle when asked."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from mlcask._lazy import lazy_attributes
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.environment import _mlflow_conda_env, infer_pip_requirements, pinned
from mlcask.models.flavor_docs import shared_parameter_docs
from mlcask.models.flavor_files import copy_extra_files, copy_model_to
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.native import NativeModelWrapper, data_file, open_flavor
from mlcask.sklearn.serialization import (
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    check_serialization_format,
    dump_model,
    load_model_file,
)
from mlcask.tracking.model_logging import flavor_log_model

FLAVOR_NAME = "sklearn"
_DATA_FILE = {SERIALIZATION_FORMAT_SKOPS: "model.skops", SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl",
              SERIALIZATION_FORMAT_PICKLE: "model.pkl"}

__all__ = [
    "FLAVOR_NAME", "SERIALIZATION_FORMAT_CLOUDPICKLE", "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS", "SUPPORTED_SERIALIZATION_FORMATS", "autolog", "get_default_conda_env",
    "get_default_pip_requirements", "load_model", "log_model", "save_model",
]
__getattr__ = lazy_attributes(__name__, globals(), {"autolog": "mlcask.sklearn._autolog"})[0]  # autolog on first use


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    """The pinned requirements MLflow lists for a scikit-learn model.

    Parameters
    ----------
    include_cloudpickle : bool, default False
        Add ``cloudpickle`` (the model is saved in the cloudpickle format).
    include_skops : bool, default False
        Add ``skops`` (the model is saved in the skops format).

    Returns
    -------
    list of str
        ``scikit-learn==<installed version>``, then the serializers asked for.
    """
    names = ["scikit-learn", *(["cloudpickle"] if include_cloudpickle else []), *(["skops"] if include_skops else [])]
    return [pinned(name) for name in names]


def get_default_conda_env(include_cloudpickle: bool = False, include_skops: bool = False) -> dict[str, Any]:
    """The conda environment of :func:`get_default_pip_requirements` (MLflow's layout: the Python
    version and pip, then ``{"pip": [mlflow, scikit-learn, ...]}``)."""
    return _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements(include_cloudpickle, include_skops))


def _model_requirements(model: Any, serialization_format: str) -> list[str]:
    """What a saved model lists: scikit-learn, its stack, the serializer, and the model's own packages."""
    packages = ["numpy", "pandas", "scikit-learn", "scipy",
                "skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "cloudpickle"]
    return infer_pip_requirements(sorted(packages), [model])


@shared_parameter_docs
def save_model(
    sk_model: Any,
    path: str | os.PathLike,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
) -> ModelInfo:
    """Save a scikit-learn estimator or pipeline to ``path`` in the MLflow format.

    Parameters
    ----------
    sk_model : estimator
        The scikit-learn model (any object skops or cloudpickle can write).
    {path, conda_env, code_paths, mlflow_model}
    serialization_format : {"skops", "cloudpickle", "pickle"}, default "skops"
        (None, as in MLflow, is the default.)
        How the estimator is written. skops builds only trusted types at load; the pickle
        formats run code and load only from a trusted (signed) model or with ``allow_pickle``.
    {signature, input_example, pip_requirements, extra_pip_requirements}
    pyfunc_predict_fn : str, default "predict"
        The method pyfunc ``predict`` calls (``predict_proba``, ``decision_function``, ...). A model
        without ``predict`` (a transformer) is saved with the scikit-learn flavor only, with a
        warning; another method the model lacks is refused.
    {metadata}
    skops_trusted_types : list of str, optional
        Types added to those recorded for skops (the types skops does not trust by default,
        such as ``sklearn.tree._tree.Tree``, are recorded at save so that MLflow loads the model).
    {extra_files}

    Returns
    -------
    ModelInfo
        The saved model's metadata; ``model_uri`` is the folder's absolute path.
    """
    from mlcask.models.packaging import save_model_folder

    serialization_format = check_serialization_format(serialization_format or SERIALIZATION_FORMAT_SKOPS)
    has_predict_fn = callable(getattr(sk_model, pyfunc_predict_fn, None))
    if not has_predict_fn and pyfunc_predict_fn != "predict":
        raise InvalidArgumentError(f"pyfunc_predict_fn={pyfunc_predict_fn!r}: {type(sk_model).__name__} has no "
                                   "such method.")
    if not has_predict_fn:
        warnings.warn(f"sklearn.save_model: {type(sk_model).__name__} has no method 'predict', so the model is "
                      "saved without the python_function flavor (load it with mlcask.sklearn.load_model).",
                      UserWarning, stacklevel=2)
    data_name = _DATA_FILE[serialization_format]

    def write_data(folder: Path) -> dict[str, Any]:
        import sklearn

        trusted = dump_model(sk_model, folder / data_name, serialization_format, skops_trusted_types)
        conf: dict[str, Any] = {"pickled_model": data_name, "serialization_format": serialization_format,
                                "sklearn_version": sklearn.__version__}
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            conf["skops_trusted_types"] = trusted
        return {**conf, **copy_extra_files(extra_files, folder)}

    model = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"loader_module": "mlflow.sklearn", "model_path": conf["pickled_model"],
                                  "predict_fn": pyfunc_predict_fn} if has_predict_fn else None,
        default_requirements=lambda _: _model_requirements(sk_model, serialization_format),
        predict_for_signature=NativeModelWrapper(sk_model, pyfunc_predict_fn).predict if has_predict_fn else None,
        mlflow_model=mlflow_model, signature=signature, input_example=input_example,
        conda_env=conda_env, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code_paths=code_paths, metadata=metadata,
    )
    return ModelInfo.from_model(model, model_uri=str(Path(path).absolute()))


def _load(model_dir: Path, conf: dict[str, Any]) -> Any:
    file = data_file(model_dir, conf, "pickled_model")
    serialization_format = conf.get("serialization_format", SERIALIZATION_FORMAT_CLOUDPICKLE)
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': unknown serialization_format "
                               f"{serialization_format!r} (expected one of {SUPPORTED_SERIALIZATION_FORMATS}).")
    return load_model_file(file, serialization_format, conf.get("skops_trusted_types"))


def load_model(model_uri: str | os.PathLike, dst_path: str | None = None,
               skops_trusted_types: list[str] | None = None, allow_pickle: bool | None = None) -> Any:
    """Load the scikit-learn estimator saved at ``model_uri``.

    A skops file builds skops' default types plus ``skops_trusted_types`` (and, when
    the model is signed by a trusted key, the types its MLmodel records). A pickle or
    cloudpickle file loads only from a model signed by a trusted key, or with
    ``allow_pickle=True`` (or ``MLCASK_ALLOW_PICKLE=1``). With ``dst_path``, the model folder
    (downloaded first if remote) is copied into ``dst_path`` and loaded from there, as in MLflow.
    """
    if dst_path is not None:
        model_uri = copy_model_to(model_uri, dst_path)
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle, skops_trusted_types,
                     takes_skops_types=True) as (model_dir, _, conf):
        return _load(model_dir, conf)


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> NativeModelWrapper:
    model = _load(model_dir, meta.flavor(FLAVOR_NAME))
    predict_fn = (meta.flavors.get("python_function") or {}).get("predict_fn", "predict")
    return NativeModelWrapper(model, predict_fn)


log_model = flavor_log_model(
    save_model, FLAVOR_NAME,
    "sk_model artifact_path conda_env code_paths serialization_format registered_model_name signature input_example "
    "await_registration_for pip_requirements extra_pip_requirements pyfunc_predict_fn metadata extra_files params "
    "tags model_type step model_id name skops_trusted_types **kwargs",
    what="a scikit-learn model",
)
