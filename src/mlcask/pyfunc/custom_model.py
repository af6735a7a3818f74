"""The base classes of custom models: ``PythonModel`` and the ``PythonModelContext`` it receives.

Kept apart from saving and loading (:mod:`mlcask.pyfunc.python_model`) so the unpickler
that reads MLflow's pickles (:mod:`mlcask.pyfunc.mlflow_compat`) can name them. That
unpickler reads ``mlflow.pyfunc.model`` as this module, so ``pyfunc`` here (imported from
:mod:`mlcask.pyfunc.utils`) is what a pickled type-hinted ``predict`` is re-wrapped with.
"""

from __future__ import annotations

import inspect
from typing import Any

from mlcask.pyfunc.utils import check_parameter_names, pyfunc

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


class PythonModel:
    """Base class of custom models: override ``predict`` (and optionally ``load_context``).

    ``predict`` takes ``(self, context, model_input, params=None)`` or, in the newer
    form, ``(self, model_input, params=None)``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """As in MLflow, a type-hinted ``predict`` is wrapped to check its input on every call,
        local calls included (:func:`mlcask.pyfunc.utils.pyfunc`); the function it wraps stays
        ``predict.__wrapped__``, which is what the model's pickle holds."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("mlcask."):
            return
        stream = cls.__dict__.get("predict_stream")
        if callable(stream):
            check_parameter_names(stream, "predict_stream")
        predict = cls.__dict__.get("predict")
        if inspect.isfunction(predict) and not getattr(predict, "_is_pyfunc", False):
            cls.predict = pyfunc(predict)  # type: ignore[method-assign]

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
