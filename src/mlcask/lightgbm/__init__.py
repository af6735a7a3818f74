"""The LightGBM flavor: ``Booster`` in LightGBM's native text format, scikit-learn API
models (LGBMClassifier, ...) in skops, as MLflow 3.x writes them."""

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
from mlcask.pyfunc.native import NativeModelWrapper, data_file, open_flavor, read_data_file
from mlcask.sklearn.serialization import (
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    check_serialization_format,
    dump_model,
    load_model_file,
)
from mlcask.tracking.model_logging import flavor_log_model

FLAVOR_NAME = "lightgbm"
_BOOSTER_CLASS = "lightgbm.basic.Booster"
# The types a LightGBM scikit-learn model needs beyond skops' defaults (MLflow records the same).
SKLEARN_API_TRUSTED_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRanker",
    "lightgbm.sklearn.LGBMRegressor",
)


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    """The pinned requirements MLflow lists for a LightGBM model.

    Parameters
    ----------
    include_cloudpickle : bool, default False
        Add ``cloudpickle`` (a scikit-learn-API model saved in the cloudpickle format).
    include_skops : bool, default False
        Add ``skops`` (a scikit-learn-API model saved in the skops format).

    Returns
    -------
    list of str
        ``lightgbm==<installed version>``, then the serializers asked for.
    """
    names = ["lightgbm", *(["cloudpickle"] if include_cloudpickle else []), *(["skops"] if include_skops else [])]
    return [pinned(name) for name in names]


def get_default_conda_env(include_cloudpickle: bool = False, include_skops: bool = False) -> dict[str, Any]:
    """The conda environment of :func:`get_default_pip_requirements`, in MLflow's layout."""
    return _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements(include_cloudpickle, include_skops))


def _model_requirements(model: Any, serialization_format: str) -> list[str]:
    """What a saved model lists: lightgbm and its stack, the serializer of a scikit-learn-API
    model, and the model's own packages."""
    import lightgbm

    packages = ["lightgbm", "numpy", "pandas", "scikit-learn", "scipy"]
    if not isinstance(model, lightgbm.Booster):
        packages.append("skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "cloudpickle")
    return infer_pip_requirements(sorted(packages), [model])


@shared_parameter_docs
def save_model(
    lgb_model: Any,
    path: str | os.PathLike,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str] | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save a LightGBM ``Booster`` (native text, ``model.lgb``) or scikit-learn-API model to ``path``.

    Parameters
    ----------
    lgb_model : lightgbm.Booster or lightgbm.LGBMModel
        The trained model.
    {path, conda_env, code_paths, mlflow_model}
    {signature, input_example, pip_requirements, extra_pip_requirements, metadata}
    serialization_format : {"skops", "cloudpickle", "pickle"}, default "skops"
        (None, as in MLflow, is the default.)
        How a scikit-learn-API model is written (a ``Booster`` is always LightGBM's own text).
    skops_trusted_types : list of str, optional
        Types added to those recorded for skops (LightGBM's own classes always are).
    {extra_files}
    **kwargs
        Accepted as by MLflow, which uses none of them; any given is warned about.

    Returns
    -------
    ModelInfo
        The saved model's metadata; ``model_uri`` is the folder's absolute path.
    """
    import lightgbm

    from mlcask.models.packaging import save_model_folder

    if not isinstance(lgb_model, (lightgbm.Booster, lightgbm.LGBMModel)):
        raise InvalidArgumentError(
            f"lgb_model must be a lightgbm.Booster or a LightGBM scikit-learn model, got "
            f"{type(lgb_model).__module__}.{type(lgb_model).__name__}."
        )
    serialization_format = check_serialization_format(serialization_format or SERIALIZATION_FORMAT_SKOPS)
    if kwargs:
        warnings.warn(f"lightgbm.save_model: {sorted(kwargs)} are not used (MLflow's lightgbm flavor uses no "
                      "extra keyword arguments either).", UserWarning, stacklevel=2)
    is_booster = isinstance(lgb_model, lightgbm.Booster)
    model_class = f"{type(lgb_model).__module__}.{type(lgb_model).__name__}"
    trusted = sorted(set(SKLEARN_API_TRUSTED_TYPES) | set(skops_trusted_types or []))

    def write_data(folder: Path) -> dict[str, Any]:
        if is_booster:
            data_name = "model.lgb"
            lgb_model.save_model(str(folder / data_name))
        else:
            data_name = "model.skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "model.pkl"
            dump_model(lgb_model, folder / data_name, serialization_format, trusted)
        conf: dict[str, Any] = {"data": data_name, "lgb_version": lightgbm.__version__,
                                "model_class": model_class, "serialization_format": serialization_format}
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            conf["skops_trusted_types"] = trusted
        return {**conf, **copy_extra_files(extra_files, folder)}

    model = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"data": conf["data"], "loader_module": "mlflow.lightgbm"},
        default_requirements=lambda _: _model_requirements(lgb_model, serialization_format),
        predict_for_signature=NativeModelWrapper(lgb_model).predict,
        mlflow_model=mlflow_model, signature=signature, input_example=input_example,
        conda_env=conda_env, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code_paths=code_paths, metadata=metadata,
    )
    return ModelInfo.from_model(model, model_uri=str(Path(path).absolute()))


def _load(model_dir: Path, conf: dict[str, Any]) -> Any:
    file = data_file(model_dir, conf, "data")
    if conf.get("model_class", _BOOSTER_CLASS) == _BOOSTER_CLASS:
        import lightgbm

        try:
            return lightgbm.Booster(model_str=read_data_file(file, runs_code=False).decode())
        except Exception as exc:  # LightGBM raises LightGBMError for unreadable files
            raise ModelFormatError(f"LightGBM could not read the model file '{model_dir / file}': {exc}") from None
    serialization_format = conf.get("serialization_format", "cloudpickle")
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': unknown serialization_format "
                               f"{serialization_format!r}.")
    return load_model_file(file, serialization_format, conf.get("skops_trusted_types"), SKLEARN_API_TRUSTED_TYPES)


def load_model(model_uri: str | os.PathLike, dst_path: str | None = None,
               skops_trusted_types: list[str] | None = None, allow_pickle: bool | None = None) -> Any:
    """Load the native LightGBM model: a ``Booster``, or the saved scikit-learn-API class.

    The scikit-learn-API classes in skops files load as trusted; ``allow_pickle`` and
    ``skops_trusted_types`` work as in :func:`mlcask.sklearn.load_model`. With ``dst_path``, the
    model folder (downloaded first if remote) is copied into ``dst_path`` and loaded from there.
    """
    if dst_path is not None:
        model_uri = copy_model_to(model_uri, dst_path)
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle, skops_trusted_types,
                     takes_skops_types=True) as (model_dir, _, conf):
        return _load(model_dir, conf)


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> NativeModelWrapper:
    return NativeModelWrapper(_load(model_dir, meta.flavor(FLAVOR_NAME)))


log_model = flavor_log_model(
    save_model, FLAVOR_NAME,
    "lgb_model artifact_path conda_env code_paths registered_model_name signature input_example "
    "await_registration_for pip_requirements extra_pip_requirements metadata extra_files name params tags "
    "model_type step model_id serialization_format skops_trusted_types **kwargs",
    what="a LightGBM model",
)


# -- autolog (lazy: ``import mlcask.lightgbm`` loads neither lightgbm nor the autolog machinery) -----
__getattr__ = lazy_attributes(__name__, globals(), {"autolog": "mlcask.lightgbm._autolog"})[0]
