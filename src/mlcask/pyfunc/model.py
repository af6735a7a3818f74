"""PyFuncModel: the generic, schema-enforcing predict interface over any flavor."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidInputError, MlcaskException
from mlcask.models.model import Model
from mlcask.pyfunc.custom_model import PythonModel, PythonModelContext

# MLflow's mlflow.pyfunc.model module holds these names too.
CONFIG_KEY_ARTIFACTS = "artifacts"
CONFIG_KEY_ARTIFACT_RELATIVE_PATH = "path"
CONFIG_KEY_ARTIFACT_URI = "uri"
CONFIG_KEY_PYTHON_MODEL = "python_model"
CONFIG_KEY_CLOUDPICKLE_VERSION = "cloudpickle_version"
__all__ = ["CONFIG_KEY_ARTIFACTS", "CONFIG_KEY_ARTIFACT_RELATIVE_PATH", "CONFIG_KEY_ARTIFACT_URI",
           "CONFIG_KEY_CLOUDPICKLE_VERSION", "CONFIG_KEY_PYTHON_MODEL", "PyFuncModel", "PythonModel",
           "PythonModelContext"]
_logger = logging.getLogger(__name__)


def _takes_params(func: Any) -> bool:
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature: assume MLflow's protocol
        return True
    return "params" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _shown(data: Any, limit: int = 1000) -> str:
    text = str(data)
    return text if len(text) <= limit else text[:limit] + "..."


class PyFuncModel:
    """A loaded model with one ``predict(data, params=None)``, whatever its flavor.

    Input is checked against the model's signature before the model sees it: columns
    by name (extra ones dropped), types converted only where no data is lost, params
    checked and their defaults filled in. Models without a signature get the data as is.
    """

    def __init__(self, model_meta: Model, model_impl: Any, predict_fn: str = "predict",
                 predict_stream_fn: str | None = None, model_id: str | None = None, *,
                 loader_module: str | None = None, model_path: str | Path | None = None,
                 serving_input_example: str | None = None) -> None:
        """``PyFuncModel(model_meta, model_impl)`` as in MLflow: ``model_impl`` is the flavor's
        wrapper and ``predict_fn`` names its predict method. The keyword-only arguments are
        what :func:`mlcask.pyfunc.load_model` knows about the folder it loaded."""
        if not hasattr(model_impl, predict_fn):
            raise MlcaskException(f"Model implementation is missing required {predict_fn} method.")
        if not model_meta:
            raise MlcaskException("Model is missing metadata.")
        conf = (model_meta.flavors or {}).get("python_function") or {}
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._loader_module = loader_module if loader_module is not None else conf.get("loader_module")
        self._model_path = Path(model_path) if model_path is not None else None
        self._predict_impl = getattr(model_impl, predict_fn)
        self._predict_takes_params = _takes_params(self._predict_impl)
        self._predict_stream_impl = getattr(model_impl, predict_stream_fn) if predict_stream_fn else None
        self._model_id = model_id if model_id is not None else model_meta.model_id
        self._serving_input_example = serving_input_example
        # A signature read from predict's type hints is checked by the model's wrapper, as in MLflow.
        self._enforce_inputs = not getattr(model_meta, "is_signature_from_type_hint", False)

    # Read from the metadata at each call, as MLflow does: a signature set on ``metadata`` applies.
    @property
    def _input_schema(self) -> Any:
        return self._model_meta.get_input_schema()

    @property
    def _params_schema(self) -> Any:
        return self._model_meta.get_params_schema()

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on ``data`` (DataFrame, array, dict, list, ...) with optional ``params``."""
        if self._input_schema is not None and self._enforce_inputs:
            from mlcask.models.enforcement import enforce_schema, schema_details_disabled

            try:
                data = enforce_schema(data, self._input_schema)
            except InvalidInputError as exc:  # MLflow's wrapping; the reason stays last
                message = ("Failed to enforce model input schema. Please check your input data."
                           if schema_details_disabled() else
                           f"Failed to enforce schema of data '{_shown(data)}' with schema '{self._input_schema}'. "
                           f"Error: {exc.message}")
                raise InvalidInputError(message, error_code=INVALID_PARAMETER_VALUE) from None
        return self.predict_enforced(data, params, strict_params=False)

    def predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Stream predictions, for models that define ``predict_stream``."""
        if self._predict_stream_impl is None:
            raise MlcaskException("This model does not support predict_stream method.")
        if params is not None or self._params_schema is not None:
            from mlcask.models.enforcement import enforce_params

            params = enforce_params(params, self._params_schema, strict=False)
        return self._predict_stream_impl(data, params)

    @property
    def model_id(self) -> str | None:
        """The logged model id this model was loaded from, if any."""
        return self._model_id

    def predict_enforced(self, data: Any, params: dict[str, Any] | None = None, *, strict_params: bool = True) -> Any:
        """``predict`` for ``data`` already passed through ``enforce_schema`` (params are still checked).

        For callers that enforce the input schema themselves, e.g. the scoring server, which
        checks each request on its own and may then merge several into one call. With
        ``strict_params`` (the default here; README, differences from MLflow) params the signature
        does not declare are refused, so that an endpoint drops none silently; :meth:`predict`
        drops them with MLflow's warning, as MLflow does.
        """
        if params is not None or self._params_schema is not None:
            from mlcask.models.enforcement import enforce_params

            params = enforce_params(params, self._params_schema, strict=strict_params)
        if self._predict_takes_params:
            return self._predict_impl(data, params=params)
        if params:  # as MLflow: a predict without params gets none
            _logger.warning("The underlying model does not support passing additional parameters to the predict "
                            "function. `params` %s will be ignored.", params)
        return self._predict_impl(data)

    @property
    def metadata(self) -> Model:
        """The model's MLmodel metadata."""
        return self._model_meta

    @property
    def loader_module(self) -> str | None:
        """The module that loaded the model (MLflow's name, e.g. ``mlflow.sklearn``)."""
        return self._loader_module

    @property
    def model_path(self) -> Path | None:
        return self._model_path

    @property
    def serving_input_example(self) -> str | None:
        """The saved ``serving_input_example.json``, as read and verified when the model loaded."""
        return self._serving_input_example

    @property
    def model_config(self) -> dict[str, Any]:
        """The model's configuration (MLmodel ``config``, overridden by the load's ``model_config``)."""
        config = getattr(getattr(self._model_impl, "context", None), "model_config", None)
        if config is None:
            config = ((self._model_meta.flavors or {}).get("python_function") or {}).get("config")
        return config or {}

    def unwrap_python_model(self) -> Any:
        """The user's :class:`PythonModel` instance behind a custom pyfunc model."""
        unwrap = getattr(self._model_impl, "unwrap_python_model", None)
        if unwrap is None:  # MLflow's message
            raise MlcaskException("Unable to retrieve base model object from pyfunc.")
        return unwrap()

    def get_raw_model(self) -> Any:
        """The flavor's native model object (an XGBClassifier, a Booster, a Pipeline, ...)."""
        get_raw = getattr(self._model_impl, "get_raw_model", None)
        if get_raw is None:  # MLflow's exception and message
            raise NotImplementedError("`get_raw_model` is not implemented by the underlying model")
        return get_raw()

    def __repr__(self) -> str:
        import yaml

        info: dict[str, Any] = {}
        if self._model_meta.run_id is not None:
            info["run_id"] = self._model_meta.run_id
        if self._model_meta.artifact_path is not None:
            info["artifact_path"] = self._model_meta.artifact_path
        info["flavor"] = self._loader_module
        return yaml.safe_dump({"mlflow.pyfunc.loaded_model": info}, default_flow_style=False)
