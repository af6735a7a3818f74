"""The XGBoost flavor: native ``ubj``/``json`` model files, scikit-learn API and ``Booster``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlcask._lazy import lazy_attributes
from mlcask.exceptions import InvalidArgumentError
from mlcask.models.environment import _mlflow_conda_env, infer_pip_requirements, package_version, pinned
from mlcask.models.flavor_docs import shared_parameter_docs
from mlcask.models.flavor_files import copy_extra_files, copy_model_to
from mlcask.models.model import Model, ModelInfo
from mlcask.pyfunc.native import NativeModelWrapper, data_file, import_class, open_flavor, read_data_file
from mlcask.tracking.model_logging import flavor_log_model

FLAVOR_NAME = "xgboost"
MODEL_FORMATS = ("ubj", "json", "xgb", "deprecated")  # what MLmodel files may name (mlcask writes ubj or json)
_DEFAULT_CLASS = "xgboost.core.Booster"


def get_default_pip_requirements() -> list[str]:
    """The pinned requirements MLflow lists for an XGBoost model: ``["xgboost==<installed version>"]``."""
    return [pinned("xgboost")]


def get_default_conda_env() -> dict[str, Any]:
    """The conda environment of :func:`get_default_pip_requirements`, in MLflow's layout."""
    return _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements())


def _model_requirements(model: Any) -> list[str]:
    """What a saved model lists: xgboost and its stack, and scikit-learn when installed, as MLflow
    lists it (xgboost imports it when present, and the scikit-learn-API classes need it)."""
    packages = ["numpy", "pandas", "scipy", "xgboost"]
    if package_version("scikit-learn") is not None:
        packages.append("scikit-learn")
    return infer_pip_requirements(sorted(packages), [model])


@shared_parameter_docs
def save_model(
    xgb_model: Any,
    path: str | os.PathLike,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    extra_files: list[str] | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save an XGBoost ``Booster`` or scikit-learn-API model (XGBClassifier, ...) to ``path``.

    Parameters
    ----------
    xgb_model : xgboost.Booster or xgboost.XGBModel
        The trained model.
    {path, conda_env, code_paths, mlflow_model}
    {signature, input_example, pip_requirements, extra_pip_requirements}
    model_format : {"ubj", "json"}, default "ubj"
        XGBoost's own file format. ``"xgb"`` (the legacy binary format, which XGBoost 3 no
        longer writes) is refused.
    {metadata}
    {extra_files}
    **kwargs
        Passed to the model's own ``save_model``.

    Returns
    -------
    ModelInfo
        The saved model's metadata; ``model_uri`` is the folder's absolute path.
    """
    import xgboost

    from mlcask.models.packaging import save_model_folder

    if not isinstance(xgb_model, (xgboost.Booster, xgboost.XGBModel)):
        raise InvalidArgumentError(
            f"xgb_model must be an xgboost.Booster or an XGBoost scikit-learn model, got "
            f"{type(xgb_model).__module__}.{type(xgb_model).__name__}."
        )
    if model_format not in ("ubj", "json"):
        raise InvalidArgumentError(f"model_format must be 'ubj' or 'json', got {model_format!r}.")
    data_name = f"model.{model_format}"
    model_class = f"{type(xgb_model).__module__}.{type(xgb_model).__name__}"

    def write_data(folder: Path) -> dict[str, Any]:
        xgb_model.save_model(str(folder / data_name), **kwargs)
        return {"data": data_name, "model_class": model_class, "model_format": model_format,
                "xgb_version": xgboost.__version__, **copy_extra_files(extra_files, folder)}

    wrapper = _XGBModelWrapper(xgb_model)
    model = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"data": conf["data"], "loader_module": "mlflow.xgboost"},
        default_requirements=lambda _: _model_requirements(xgb_model),
        predict_for_signature=wrapper.predict,
        mlflow_model=mlflow_model, signature=signature, input_example=input_example,
        conda_env=conda_env, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code_paths=code_paths, metadata=metadata,
    )
    return ModelInfo.from_model(model, model_uri=str(Path(path).absolute()))


def _load(model_dir: Path, conf: dict[str, Any]) -> Any:
    cls = import_class(conf.get("model_class", _DEFAULT_CLASS), ("xgboost",))
    file = data_file(model_dir, conf, "data")
    data = bytearray(read_data_file(file, runs_code=False))
    model = cls()
    try:
        model.load_model(data)
    except Exception as exc:  # xgboost raises its own XGBoostError for unreadable files
        from mlcask.exceptions import ModelFormatError

        raise ModelFormatError(f"XGBoost could not read the model file '{model_dir / file}': {exc}") from None
    return model


def load_model(model_uri: str | os.PathLike, dst_path: str | None = None, allow_pickle: bool | None = None) -> Any:
    """Load the native XGBoost model (``Booster`` or the saved scikit-learn-API class).

    The model file is XGBoost's own format and runs no code; ``allow_pickle`` matters
    only for a model that ships ``code_paths`` (see :func:`mlcask.pyfunc.load_model`). With
    ``dst_path``, the model folder (downloaded first if remote) is copied into ``dst_path`` and
    loaded from there, as in MLflow.
    """
    if dst_path is not None:
        model_uri = copy_model_to(model_uri, dst_path)
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle) as (model_dir, _, conf):
        return _load(model_dir, conf)


class _XGBModelWrapper(NativeModelWrapper):
    def __init__(self, model: Any) -> None:
        super().__init__(model)
        import xgboost

        self._is_booster = isinstance(model, xgboost.Booster)
        self._plain_features = None
        self._dense: _DensePredict | None = None
        # (gblinear predicts through a DMatrix, which checks an array's missing feature names)
        if (not self._is_booster and getattr(model, "enable_categorical", False) is not True
                and getattr(model, "booster", None) != "gblinear"):
            names = model.get_booster().feature_names
            types = model.get_booster().feature_types
            if names and (not types or all(t in ("float", "int", "q") for t in types)):
                self._plain_features = list(names)
                self._dense = _DensePredict.for_model(model)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._is_booster:
            import xgboost

            data = xgboost.DMatrix(data)
        elif self._plain_features is not None and _numeric_frame_with_columns(data, self._plain_features):
            # XGBoost's DataFrame path costs ~2 ms per call even for one row; a frame whose
            # columns are exactly the model's numeric features predicts the same as its array.
            data = data.to_numpy(dtype="float32")
            if self._dense is not None and not params and len(data):  # (no rows: XGBoost's own shapes)
                return self._dense(data)
        return super().predict(data, params)


class _DensePredict:
    """``XGBClassifier.predict`` / ``XGBRegressor.predict`` (XGBoost 3) of a float32 array, in one C call.

    The scikit-learn API spends ~200 us per call around a ~50 us prediction (a config context,
    the booster's Python ``inplace_predict``, its JSON arguments and output wrapping). This
    makes the same ``XGBoosterPredictFromDense`` call with the arguments XGBoost's own predict
    passes (iteration range, ``missing``, value output), built once, and turns probabilities
    into labels as ``XGBClassifier.predict`` does. Only for the exact classes and the XGBoost
    major version whose predict it follows, tree boosters on the CPU; anything else keeps
    XGBoost's own predict.
    """

    def __init__(self, booster: Any, args: bytes, classify: bool, n_classes: int, softmax: bool) -> None:
        import ctypes
        import threading

        from xgboost.core import _LIB, c_bst_ulong

        self._booster = booster
        self._args = args
        self._classify = classify
        self._n_classes = n_classes
        self._softmax = softmax
        self._call = _LIB.XGBoosterPredictFromDense
        self._ulong = c_bst_ulong
        self._ctypes = ctypes
        self._local = threading.local()  # a proxy DMatrix per thread (the call sets its data)

    @classmethod
    def for_model(cls, model: Any) -> _DensePredict | None:
        """The direct predict of ``model``, or None when XGBoost's own predict must run."""
        import json

        import xgboost

        kinds = {xgboost.XGBClassifier: True, xgboost.XGBRegressor: False}
        if type(model) not in kinds or not xgboost.__version__.startswith("3."):
            return None
        params = model.get_params()
        if params.get("booster") not in (None, "gbtree", "dart") or params.get("device") not in (None, "cpu"):
            return None
        start, end = model._get_iteration_range(None)
        missing = model.missing
        args = json.dumps({"type": 0, "training": False, "iteration_begin": int(start), "iteration_end": int(end),
                           "missing": float("nan") if missing is None else float(missing),
                           "strict_shape": False, "cache_id": 0}).encode()
        classify = kinds[type(model)]
        n_classes = int(model.n_classes_) if classify else 0
        return cls(model.get_booster(), args, classify, n_classes, model.objective == "multi:softmax")

    def __call__(self, data: Any) -> Any:
        import numpy as np

        ctypes = self._ctypes
        data = np.ascontiguousarray(data, dtype=np.float32)
        interface = b'{"data": [%d, true], "shape": [%d, %d], "strides": null, "typestr": "<f4", "version": 3}' % (
            data.ctypes.data, data.shape[0], data.shape[1])
        shape, dims = ctypes.POINTER(self._ulong)(), self._ulong()
        preds = ctypes.POINTER(ctypes.c_float)()
        from xgboost.core import _check_call

        proxy = getattr(self._local, "proxy", None)
        if proxy is None:  # without one, each call makes its own and reads the cgroup CPU quota files again
            from xgboost.core import _ProxyDMatrix

            proxy = self._local.proxy = _ProxyDMatrix()
        _check_call(self._call(self._booster.handle, interface, self._args, proxy.handle, ctypes.byref(shape),
                               ctypes.byref(dims), ctypes.byref(preds)))
        out = np.ctypeslib.as_array(preds, tuple(int(shape[i]) for i in range(dims.value))).copy()
        return self._labels(out) if self._classify else out

    def _labels(self, probs: Any) -> Any:
        """``XGBClassifier.predict``'s labels from its probabilities (XGBoost 3's rules)."""
        import numpy as np

        if len(probs.shape) > 1 and self._n_classes != 2:
            return np.argmax(probs, axis=1)
        if len(probs.shape) > 1 and probs.shape[1] != 1:  # multi-label
            labels = np.zeros(probs.shape)
            labels[probs > 0.5] = 1
            return labels
        if self._softmax:
            return probs.astype(np.int32)
        labels = np.repeat(0, probs.shape[0])
        labels[probs > 0.5] = 1
        return labels


def _numeric_frame_with_columns(data: Any, columns: list[str]) -> bool:
    import pandas as pd

    from mlcask.types._frames import frame_dtypes

    # frame_dtypes: DataFrame.dtypes builds a Series, a third of this check's cost on the hot path.
    return (isinstance(data, pd.DataFrame) and data.columns.tolist() == columns
            and all(dtype.kind in "biuf" for dtype in frame_dtypes(data)))


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> _XGBModelWrapper:
    return _XGBModelWrapper(_load(model_dir, meta.flavor(FLAVOR_NAME)))


log_model = flavor_log_model(
    save_model, FLAVOR_NAME,
    "xgb_model artifact_path conda_env code_paths registered_model_name signature input_example "
    "await_registration_for pip_requirements extra_pip_requirements model_format metadata extra_files name params "
    "tags model_type step model_id **kwargs",
    what="an XGBoost model",
)


# -- autolog (lazy: ``import mlcask.xgboost`` loads neither xgboost nor the autolog machinery) -----
__getattr__ = lazy_attributes(__name__, globals(), {"autolog": "mlcask.xgboost._autolog"})[0]
