"""The base classes of custom models: ``PythonModel`` and the ``PythonModelContext`` it receives.

Kept apart from saving and loading (:mod:`mlcask.pyfunc.python_model`) so the unpickler
that reads MLflow's pickles (:mod:`mlcask.pyfunc.mlflow_compat`) can name them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: artifact paths and the model config."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None) -> None:
        self._artifacts = artifacts
        self._model_config = model_config

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name -> absolute local path of the copy saved inside the model folder."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any] | None:
        return self._model_config


_INVALID_SIGNATURE_MESSAGE = (
    "Model's `{name}` method contains invalid parameters: {invalid}. Only the following parameter names are "
    "allowed: context, model_input, and params. Note that invalid parameters will no longer be permitted in "
    "future versions."
)


def check_parameter_names(func: Any, name: str) -> None:
    """MLflow's FutureWarning for ``predict``/``predict_stream`` parameters it will refuse."""
    import inspect
    import warnings

    try:
        names = set(inspect.signature(func).parameters) - {"self"}
    except (TypeError, ValueError):
        return
    invalid = names - {"context", "model_input", "params"}
    if invalid:
        warnings.warn(_INVALID_SIGNATURE_MESSAGE.format(name=name, invalid=invalid), FutureWarning, stacklevel=3)


NO_TYPE_HINT_MESSAGE = (
    "Add type hints to the `predict` method to enable data validation and automatic signature inference during "
    "model logging. Check https://mlflow.org/docs/latest/model/python_model.html#type-hint-usage-in-pythonmodel "
    "for more details."
)


def warn_without_input_hint(func: Any, stacklevel: int = 3) -> None:
    """MLflow's UserWarning for a predict function whose model input has no type hint."""
    import warnings

    from mlcask.pyfunc.type_hints import predict_type_hints

    if predict_type_hints(func).input is None:
        warnings.warn(NO_TYPE_HINT_MESSAGE, UserWarning, stacklevel=stacklevel)


class PythonModel:
    """Base class of custom models: override ``predict`` (and optionally ``load_context``).

    ``predict`` takes ``(self, context, model_input, params=None)`` or, in the newer
    form, ``(self, model_input, params=None)``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("mlcask."):
            return
        for name in ("predict", "predict_stream"):
            func = cls.__dict__.get(name)
            if callable(func):
                check_parameter_names(func, name)
        predict = cls.__dict__.get("predict")
        if callable(predict) and not getattr(predict, "_is_pyfunc", False):
            warn_without_input_hint(predict, stacklevel=3)

    def load_context(self, context: PythonModelContext) -> None:
        """Called once at load time, with the model's artifacts; load heavy state here."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("A PythonModel subclass must implement predict().")

    @property
    def predict_type_hints(self) -> Any:
        """The type hints of ``predict``'s model input and return value (MLflow's ``_TypeHints``)."""
        from mlcask.pyfunc.type_hints import predict_type_hints

        return predict_type_hints(type(self).predict)


class FunctionPythonModel(PythonModel):
    """A plain function given as ``python_model``: ``predict(model_input)`` calls it.

    It pickles under MLflow's name for the same wrapper (``mlflow.pyfunc.model._FunctionPythonModel``)
    so that real MLflow loads it; its state is ``func`` (and ``signature``, always None here).
    """

    def __init__(self, func: Any, signature: Any = None) -> None:
        self.func = func
        self.signature = signature

    @property
    def predict_type_hints(self) -> Any:
        from mlcask.pyfunc.type_hints import predict_type_hints

        return predict_type_hints(getattr(self.func, "__wrapped__", self.func))

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.func(model_input)


# The name MLflow pickles function models under (see mlcask.pyfunc.mlflow_compat).
_FunctionPythonModel = FunctionPythonModel
