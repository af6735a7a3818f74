"""The LightGBM flavor: ``Booster`` in LightGBM's native text format, scikit-learn API
models (LGBMClassifier, ...) in skops, as MLflow 3.x writes them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlcask._lazy import lazy_attributes
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.environment import infer_pip_requirements
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.native import NativeModelWrapper, data_file, open_flavor, read_data_file
from mlcask.sklearn.serialization import (
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    dump_model,
    load_model_file,
)

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


def get_default_pip_requirements(model: Any = None, serialization_format: str = SERIALIZATION_FORMAT_SKOPS) -> list[str]:
    """Pinned requirements for a LightGBM model."""
    import lightgbm

    packages = ["lightgbm", "numpy", "pandas", "scikit-learn", "scipy"]
    if model is not None and not isinstance(model, lightgbm.Booster):
        packages.append("skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "cloudpickle")
    return infer_pip_requirements(sorted(packages), [model] if model is not None else [])


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
) -> ModelInfo:
    """Save a LightGBM ``Booster`` (native text, ``model.lgb``) or scikit-learn-API model
    (``serialization_format``: skops by default, or cloudpickle/pickle) to ``path``."""
    import lightgbm

    from mlcask.models.packaging import save_model_folder

    if not isinstance(lgb_model, (lightgbm.Booster, lightgbm.LGBMModel)):
        raise InvalidArgumentError(
            f"lgb_model must be a lightgbm.Booster or a LightGBM scikit-learn model, got "
            f"{type(lgb_model).__module__}.{type(lgb_model).__name__}."
        )
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidArgumentError(f"serialization_format must be one of {list(SUPPORTED_SERIALIZATION_FORMATS)}, "
                                   f"got {serialization_format!r}.")
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
        return conf

    model = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"data": conf["data"], "loader_module": "mlflow.lightgbm"},
        default_requirements=lambda _: get_default_pip_requirements(lgb_model, serialization_format),
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
    ``skops_trusted_types`` work as in :func:`mlcask.sklearn.load_model`.
    """
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle, skops_trusted_types,
                     takes_skops_types=True) as (model_dir, _, conf):
        return _load(model_dir, conf)


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> NativeModelWrapper:
    return NativeModelWrapper(_load(model_dir, meta.flavor(FLAVOR_NAME)))


def log_model(
    lgb_model: Any,
    artifact_path: str | None = None,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log a LightGBM model into the active run (arguments as ``save_model``).

    Returns a :class:`~mlcask.models.ModelInfo` whose ``model_uri`` is ``models:/<model_id>``;
    ``registered_model_name`` also registers it as a new version of that name.
    """
    from mlcask.tracking.model_logging import log_model as log_into_run

    return log_into_run(
        lambda path, mlflow_model: save_model(
            lgb_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            signature=signature, input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, metadata=metadata,
            serialization_format=serialization_format, skops_trusted_types=skops_trusted_types),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name,
        params=params, tags=tags, model_type=model_type, flavor=FLAVOR_NAME,
    )


# -- autolog (lazy: ``import mlcask.lightgbm`` loads neither lightgbm nor the autolog machinery) -----
__getattr__ = lazy_attributes(__name__, globals(), {"autolog": "mlcask.lightgbm._autolog"})[0]
