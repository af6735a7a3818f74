"""Models from code: ``set_model`` and ``ModelConfig``, the two names a model's code file uses.

A model saved with ``python_model="model.py"`` (MLflow's "models from code") is a Python
file that builds the model and hands it over with :func:`set_model`; it reads its settings
with :class:`ModelConfig`. The file is copied into the model folder and run again when the
model loads (by :mod:`mlcask.pyfunc.code_model`, under the trust rules of
:mod:`mlcask.models.trust`: it is code). The configuration in force while the file runs is
the ``model_config`` given when saving, or loading; ``development_config`` applies only when
the file runs on its own.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.models.model import SET_MODEL_ERROR

__all__ = ["ModelConfig", "set_model"]

_NO_CONFIG = ""  # the model was saved without model_config: ModelConfig() must fail

_state = threading.local()
# One code file runs at a time: set_model() hands its model to the run in progress.
running_lock = threading.RLock()


def _is_python_model(model: Any) -> bool:
    """An instance of mlcask's (or MLflow's) ``PythonModel``, known by name: pyfunc is a higher layer."""
    return any(c.__name__ == "PythonModel" and c.__module__.startswith(("mlcask.pyfunc", "mlflow.pyfunc"))
               for c in type(model).__mro__)


def set_model(model: Any) -> None:
    """Hand the model built by a model code file to the save or load running the file.

    ``model`` is a :class:`~mlcask.pyfunc.PythonModel` instance or a callable taking one
    argument (the model input).
    """
    from mlcask.models import model as model_module  # where MLflow keeps the model (__mlflow_model__)

    if isinstance(model, str) or not (callable(model) or _is_python_model(model)):
        raise MlcaskException(SET_MODEL_ERROR)
    _state.model = model
    model_module.__mlflow_model__ = model  # where MLflow keeps it


@contextmanager
def running_code(config: dict[str, Any] | str | None) -> Iterator[list[Any]]:
    """Run a model code file inside this block; the list it yields then holds what it set.

    ``config`` is the configuration :class:`ModelConfig` reads while the file runs. None
    means the model has none: ``ModelConfig()`` then fails while the file runs, even with a
    ``development_config``, as in MLflow (a model must not run on its development settings).
    """
    with running_lock:
        previous = getattr(_state, "model", None), getattr(_state, "config", None)
        _state.model = None
        _state.config = _NO_CONFIG if config is None else config
        found: list[Any] = []
        try:
            yield found
            if _state.model is not None:
                found.append(_state.model)
        finally:
            _state.model, _state.config = previous


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping in a ``model_config`` YAML file, with MLflow's errors."""
    file = os.path.abspath(path)
    if not os.path.exists(file):
        raise InvalidArgumentError(f"An invalid `model_config` file was passed. The provided `model_config` file "
                                   f"'{file}'is not a valid file path.")
    try:
        content = yaml.safe_load(Path(file).read_text())
    except yaml.YAMLError as exc:
        raise InvalidArgumentError(f"The provided `model_config` file '{file}' is not a valid YAML file: {exc}") \
            from None
    return content if content is not None else {}


def check_model_config(model_config: Any) -> dict[str, Any] | None:
    """``model_config`` as the mapping to record in MLmodel: a dict with string keys and
    JSON values, or the path of a YAML file holding one; None or empty: no configuration."""
    if not model_config:
        return None
    if isinstance(model_config, (str, os.PathLike)):
        return read_config_file(model_config)
    if isinstance(model_config, dict) and all(isinstance(key, str) for key in model_config):
        try:
            json.dumps(model_config)
        except (TypeError, ValueError, OverflowError):
            raise InvalidArgumentError("Values in the provided ``model_config`` are of an unsupported type. Only "
                                       "JSON-serializable data types can be provided as values.") from None
        return model_config
    raise InvalidArgumentError("An invalid ``model_config`` structure was passed. ``model_config`` must be a valid "
                               "file path or of type ``dict`` with string keys.")


class ModelConfig:
    """The configuration of a model from code, read in its code file.

    Parameters
    ----------
    development_config : str, path-like or dict, optional
        A YAML file or a dict used when the file runs on its own (while developing);
        when the model is saved or loaded, the ``model_config`` given then applies instead.

    Raises
    ------
    FileNotFoundError
        When no configuration is given at all, or the YAML file does not exist.
    """

    def __init__(self, *, development_config: str | os.PathLike | dict[str, Any] | None = None) -> None:
        config = getattr(_state, "config", None)
        self.config = config if config is not None else development_config
        if isinstance(self.config, os.PathLike):
            self.config = os.fspath(self.config)
        if not self.config:
            raise FileNotFoundError("Config file is not provided which is needed to load the model. "
                                    "Please provide a valid path.")
        if not isinstance(self.config, dict) and not os.path.isfile(self.config):
            raise FileNotFoundError(f"Config file '{self.config}' not found.")

    def _read_config(self) -> dict[str, Any] | None:
        if isinstance(self.config, dict):
            return self.config
        try:
            return yaml.safe_load(Path(self.config).read_text())
        except yaml.YAMLError as exc:
            raise InvalidArgumentError(f"Error parsing YAML file: {exc}") from None

    def to_dict(self) -> dict[str, Any] | None:
        """The whole configuration."""
        return self._read_config()

    def get(self, key: str) -> Any:
        """The value of top-level ``key``; KeyError naming the configuration when it has none."""
        data = self._read_config()
        if data and key in data:
            return data[key]
        raise KeyError(f"Key '{key}' not found in configuration: {data}.")
