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


class PythonModel:
    """Base class of custom models: override ``predict`` (and optionally ``load_context``).

    ``predict`` takes ``(self, context, model_input, params=None)`` or, in the newer
    form, ``(self, model_input, params=None)``.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once at load time, with the model's artifacts; load heavy state here."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("A PythonModel subclass must implement predict().")
