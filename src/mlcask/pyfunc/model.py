"""PyFuncModel: the generic, schema-enforcing predict interface over any flavor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.models.model import Model


class PyFuncModel:
    """A loaded model with one ``predict(data, params=None)``, whatever its flavor.

    Input is checked against the model's signature before the model sees it: columns
    by name (extra ones dropped), types converted only where no data is lost, params
    checked and their defaults filled in. Models without a signature get the data as is.
    """

    def __init__(self, model_meta: Model, model_impl: Any, loader_module: str,
                 model_path: str | Path | None = None, serving_input_example: str | None = None) -> None:
        if not hasattr(model_impl, "predict"):
            raise MlcaskException(f"The {loader_module} loader returned an object without a "
                                  "'predict' method.")
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._loader_module = loader_module
        self._model_path = Path(model_path) if model_path is not None else None
        self._input_schema = model_meta.get_input_schema()
        self._params_schema = model_meta.get_params_schema()
        self._predict_impl = model_impl.predict
        self._serving_input_example = serving_input_example

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on ``data`` (DataFrame, array, dict, list, ...) with optional ``params``."""
        if self._input_schema is not None:
            from mlcask.models.enforcement import enforce_schema

            data = enforce_schema(data, self._input_schema)
        return self.predict_enforced(data, params)

    def predict_enforced(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """``predict`` for ``data`` already passed through ``enforce_schema`` (params are still checked).

        For callers that enforce the input schema themselves, e.g. the scoring server, which
        checks each request on its own and may then merge several into one call.
        """
        if params is not None or self._params_schema is not None:
            from mlcask.models.enforcement import enforce_params

            params = enforce_params(params, self._params_schema)
        return self._predict_impl(data, params)

    @property
    def metadata(self) -> Model:
        """The model's MLmodel metadata."""
        return self._model_meta

    @property
    def loader_module(self) -> str:
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
        return getattr(getattr(self._model_impl, "context", None), "model_config", None) or {}

    def unwrap_python_model(self) -> Any:
        """The user's :class:`PythonModel` instance behind a custom pyfunc model."""
        unwrap = getattr(self._model_impl, "unwrap_python_model", None)
        if unwrap is None:
            raise MlcaskException(
                f"unwrap_python_model() applies to custom PythonModel models; this model is "
                f"loaded by {self._loader_module}. Use get_raw_model() instead."
            )
        return unwrap()

    def get_raw_model(self) -> Any:
        """The flavor's native model object (an XGBClassifier, a Booster, a Pipeline, ...)."""
        get_raw = getattr(self._model_impl, "get_raw_model", None)
        if get_raw is None:
            raise MlcaskException(f"get_raw_model() is not available for models loaded by {self._loader_module}.")
        return get_raw()

    def __repr__(self) -> str:
        info = [f"flavor: {self._loader_module}"]
        if self._model_meta.run_id:
            info.append(f"run_id: {self._model_meta.run_id}")
        return "mlcask.pyfunc.loaded_model:\n  " + "\n  ".join(info)
