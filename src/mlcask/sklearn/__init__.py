"""The scikit-learn flavor: skops by default (as MLflow 3.x), cloudpickle when asked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlcask._lazy import lazy_attributes
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.environment import infer_pip_requirements
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.native import NativeModelWrapper, data_file, open_flavor
from mlcask.sklearn.serialization import (
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    dump_model,
    load_model_file,
)

FLAVOR_NAME = "sklearn"
_DATA_FILE = {SERIALIZATION_FORMAT_SKOPS: "model.skops", SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl",
              SERIALIZATION_FORMAT_PICKLE: "model.pkl"}

__all__ = [
    "FLAVOR_NAME", "SERIALIZATION_FORMAT_CLOUDPICKLE", "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS", "SUPPORTED_SERIALIZATION_FORMATS", "get_default_pip_requirements",
    "autolog", "load_model", "save_model",
]
__getattr__ = lazy_attributes(__name__, globals(), {"autolog": "mlcask.sklearn._autolog"})[0]  # autolog on first use


def get_default_pip_requirements(model: Any = None, serialization_format: str = SERIALIZATION_FORMAT_SKOPS) -> list[str]:
    """Pinned requirements: scikit-learn, its stack, the serializer, and the model's own packages."""
    packages = ["numpy", "pandas", "scikit-learn", "scipy",
                "skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else "cloudpickle"]
    return infer_pip_requirements(sorted(packages), [model] if model is not None else [])


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
) -> ModelInfo:
    """Save a scikit-learn estimator or pipeline to ``path``.

    ``serialization_format`` is ``"skops"`` (default; no code runs at load time) or
    ``"cloudpickle"``/``"pickle"``. Types skops does not trust by default (for instance
    ``sklearn.tree._tree.Tree`` in tree ensembles) are recorded in MLmodel's
    ``skops_trusted_types`` so that MLflow loads the model too; ``skops_trusted_types``
    adds to that list. ``pyfunc_predict_fn`` picks the method pyfunc ``predict`` calls
    (``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``, ...).
    """
    from mlcask.models.packaging import save_model_folder

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidArgumentError(f"serialization_format must be one of {list(SUPPORTED_SERIALIZATION_FORMATS)}, "
                                   f"got {serialization_format!r}.")
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise InvalidArgumentError(f"pyfunc_predict_fn={pyfunc_predict_fn!r}: {type(sk_model).__name__} has no "
                                   "such method.")
    data_name = _DATA_FILE[serialization_format]

    def write_data(folder: Path) -> dict[str, Any]:
        import sklearn

        trusted = dump_model(sk_model, folder / data_name, serialization_format, skops_trusted_types)
        conf: dict[str, Any] = {"pickled_model": data_name, "serialization_format": serialization_format,
                                "sklearn_version": sklearn.__version__}
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            conf["skops_trusted_types"] = trusted
        return conf

    model = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"loader_module": "mlflow.sklearn", "model_path": conf["pickled_model"],
                                  "predict_fn": pyfunc_predict_fn},
        default_requirements=lambda _: get_default_pip_requirements(sk_model, serialization_format),
        predict_for_signature=NativeModelWrapper(sk_model, pyfunc_predict_fn).predict,
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
                               f"{serialization_format!r} (expected one of {list(SUPPORTED_SERIALIZATION_FORMATS)}).")
    return load_model_file(file, serialization_format, conf.get("skops_trusted_types"))


def load_model(model_uri: str | os.PathLike, dst_path: str | None = None,
               skops_trusted_types: list[str] | None = None, allow_pickle: bool | None = None) -> Any:
    """Load the scikit-learn estimator saved at ``model_uri``.

    A skops file builds skops' default types plus ``skops_trusted_types`` (and, when
    the model is signed by a trusted key, the types its MLmodel records). A pickle or
    cloudpickle file loads only from a model signed by a trusted key, or with
    ``allow_pickle=True`` (or ``MLCASK_ALLOW_PICKLE=1``).
    """
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle, skops_trusted_types,
                     takes_skops_types=True) as (model_dir, _, conf):
        return _load(model_dir, conf)


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> NativeModelWrapper:
    model = _load(model_dir, meta.flavor(FLAVOR_NAME))
    predict_fn = (meta.flavors.get("python_function") or {}).get("predict_fn", "predict")
    return NativeModelWrapper(model, predict_fn)


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
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
    """Log a scikit-learn model into the active run (arguments as ``save_model``).

    Returns a :class:`~mlcask.models.ModelInfo` whose ``model_uri`` is ``models:/<model_id>``;
    ``registered_model_name`` also registers it as a new version of that name.
    """
    from mlcask.tracking.model_logging import log_model as log_into_run

    return log_into_run(
        lambda path, mlflow_model: save_model(
            sk_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            serialization_format=serialization_format, signature=signature, input_example=input_example,
            pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn, metadata=metadata, skops_trusted_types=skops_trusted_types),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name,
        params=params, tags=tags, model_type=model_type, flavor=FLAVOR_NAME,
    )
