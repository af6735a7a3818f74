"""The model ``evaluate`` scores: from a URI, a loaded pyfunc model, a function or nothing, and the
predict / predict_proba functions it is called through (MLflow's ``_extract_raw_model`` and
``_extract_predict_fn_and_predict_proba_fn``: the native model of a scikit-learn, XGBoost or
LightGBM model is called directly, with no schema enforcement, as MLflow does)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

__all__ = ["EvalModel", "FunctionModel", "resolve_model"]

# MLflow calls the native model of these flavors (mlcask adds LightGBM: its sklearn-API models give
# probabilities, so log_loss and roc_auc are computed for them too).
_NATIVE_LOADERS = ("mlflow.sklearn", "mlflow.xgboost", "mlflow.lightgbm", "mlflow.catboost")
_ENV_MANAGERS = ("local", "virtualenv", "conda", "uv")


class FunctionModel:
    """A plain function as the model (``evaluate(fn, ...)``): ``predict(frame)`` calls it."""

    metadata = None
    model_id = None
    loader_module = None

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self._fn = fn

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._fn(data)


@dataclass
class EvalModel:
    """The model and how it is called.

    ``pyfunc`` is what ``explain`` and custom code get (a PyFuncModel, a :class:`FunctionModel`
    or None); ``raw`` is the native model when one is called directly; ``predict`` and
    ``predict_proba`` are the functions the evaluation set goes through (``predict_proba`` is
    None when the model gives no probabilities).
    """

    pyfunc: Any
    uri: str | None
    model_id: str | None
    raw: Any = None
    loader_module: str | None = None
    predict: Callable[[Any], Any] | None = None
    predict_proba: Callable[[Any], Any] | None = None
    labels_from_proba: Callable[[Any], Any] | None = None

    @property
    def is_sklearn(self) -> bool:
        return self.loader_module == "mlflow.sklearn" and self.raw is not None

    @property
    def metadata(self) -> Any:
        return getattr(self.pyfunc, "metadata", None)

    def input_names(self) -> list[str] | None:
        """The columns the model takes: its signature's input names, else those its native model
        was fitted on (``feature_names_in_``); None when it says nothing."""
        metadata = self.metadata
        schema = metadata.get_input_schema() if metadata is not None else None
        if schema is not None and schema.has_input_names():
            names = [n for n in schema.input_names() if isinstance(n, str)]
            if names:
                return names
        try:
            fitted = getattr(self.raw, "feature_names_in_", None)
        except Exception:  # noqa: BLE001 - an unfitted attribute raises in some libraries
            fitted = None
        return [str(n) for n in fitted] if fitted is not None and len(fitted) else None

    @property
    def classes(self) -> Any:
        """The native model's ``classes_``, when it has them."""
        try:
            return getattr(self.raw, "classes_", None)
        except Exception:  # noqa: BLE001 - an unfitted attribute raises in some libraries
            return None


def _model_id_of_uri(uri: str) -> str | None:
    """MLflow's ``_parse_model_id_if_present``: the logged model id of a ``models:/`` URI."""
    from mlcask.models.uri import is_models_uri, parse_models_uri

    if not is_models_uri(uri):
        return None
    parsed = parse_models_uri(uri)
    if parsed.model_id is not None:
        return parsed.model_id
    if parsed.name is not None and parsed.version is not None:
        from mlcask.tracking.context import current_client

        return current_client().get_model_version(parsed.name, parsed.version).model_id
    return None


def _xgboost_functions(raw: Any) -> tuple[Callable | None, Callable | None] | None:
    import sys

    xgb = sys.modules.get("xgboost")
    if xgb is None:
        return None
    if isinstance(raw, xgb.Booster):
        def predict(data: Any) -> Any:
            return raw.predict(xgb.DMatrix(data), validate_features=False)
        return predict, None
    if isinstance(raw, xgb.XGBModel):
        proba = getattr(raw, "predict_proba", None)
        return (functools.partial(raw.predict, validate_features=False),
                functools.partial(proba, validate_features=False) if proba is not None else None)
    return None


def _xgboost_labels_from_proba(raw: Any) -> Callable[[Any], Any] | None:
    """For an XGBClassifier whose ``predict`` is its probabilities thresholded at 0.5 (binary) or their
    argmax (multiclass), that rule: the labels then cost no second pass over the trees."""
    import numpy as np
    import xgboost as xgb

    if not isinstance(raw, xgb.XGBClassifier) or hasattr(raw, "_le"):
        return None
    objective = raw.get_params().get("objective") or getattr(raw, "objective", None)
    if objective == "binary:logistic":
        return lambda proba: (np.asarray(proba)[:, 1] > 0.5).astype(np.int64)
    if objective == "multi:softprob":
        return lambda proba: np.argmax(np.asarray(proba), axis=1)
    return None


def _native(pyfunc: Any) -> tuple[str | None, Any]:
    loader = getattr(pyfunc, "loader_module", None)
    if loader not in _NATIVE_LOADERS or not hasattr(pyfunc, "get_raw_model"):
        return loader, None
    try:
        return loader, pyfunc.get_raw_model()
    except NotImplementedError:
        return loader, None


def _with_functions(model: EvalModel) -> EvalModel:
    if model.pyfunc is None:
        return model
    model.loader_module, model.raw = _native(model.pyfunc)
    if model.raw is None:
        model.predict = model.pyfunc.predict
        return model
    functions = _xgboost_functions(model.raw)
    if functions is not None:
        model.labels_from_proba = _xgboost_labels_from_proba(model.raw)
    else:
        functions = (model.raw.predict, getattr(model.raw, "predict_proba", None))
    model.predict, model.predict_proba = functions
    return model


def resolve_model(model: Any, *, env_manager: str = "local", model_config: dict | None = None,
                  model_id: str | None = None) -> EvalModel:
    """Load or wrap ``model`` (a URI, a PyFuncModel, a function or None) and find its model id: the
    given ``model_id``, else the one of a ``models:/`` URI or of the PyFuncModel, else the active model."""
    from mlcask.pyfunc.model import PyFuncModel

    if env_manager not in _ENV_MANAGERS:
        raise MlcaskException(f"Invalid value for `env_manager`: {env_manager}. Must be one of "
                              f"{list(_ENV_MANAGERS)}", error_code=INVALID_PARAMETER_VALUE)
    found_id, uri = None, None
    if isinstance(model, str):
        if env_manager != "local":
            raise MlcaskException(
                f"mlcask.evaluate runs the model in this Python environment only (env_manager='local'); got "
                f"env_manager={env_manager!r}. Serve the model in its environment (mlcask models serve) and "
                "evaluate its predictions with model=None and a predictions column.",
                error_code=INVALID_PARAMETER_VALUE)
        from mlcask.pyfunc.loading import load_model

        uri, found_id = model, _model_id_of_uri(model)
        wrapped: Any = load_model(model, model_config=model_config)
    elif env_manager != "local":
        raise MlcaskException("The model argument must be a string URI referring to an MLflow model when a "
                              "non-local env_manager is specified.", error_code=INVALID_PARAMETER_VALUE)
    elif isinstance(model, PyFuncModel):
        if model_config:
            raise MlcaskException(
                "Indicating ``model_config`` when passing a `PyFuncModel`` object as model argument is not "
                "allowed. If you need to change the model configuration for the evaluation model, use "
                "``mlflow.pyfunc.load_model(model_uri, model_config=<value>)`` and indicate the desired "
                "configuration there.", error_code=INVALID_PARAMETER_VALUE)
        wrapped, found_id = model, model.model_id
    elif callable(model):
        wrapped = FunctionModel(model)
    elif model is not None:
        raise MlcaskException(
            "The model argument must be a string URI referring to an MLflow model, an MLflow Deployments "
            "endpoint URI, an instance of `mlflow.pyfunc.PyFuncModel`, a function, or None.",
            error_code=INVALID_PARAMETER_VALUE)
    else:
        wrapped = None
    if model_id is not None and found_id is not None and model_id != found_id:
        raise MlcaskException(
            f"The specified value of the 'model_id' parameter '{model_id}' contradicts the model_id "
            f"'{found_id}' associated with the model. Please ensure they match or omit the 'model_id' parameter.",
            error_code=INVALID_PARAMETER_VALUE)
    if model_id is None:
        from mlcask.tracking.fluent_logged_models import get_active_model_id

        model_id = found_id or get_active_model_id()
    return _with_functions(EvalModel(pyfunc=wrapped, uri=uri, model_id=model_id))
