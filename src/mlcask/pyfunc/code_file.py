"""Running a model code file (MLflow's "models from code") to get the model it sets.

The file runs as a fresh module (``code_model_<hex>``), compiled from the bytes given:
when loading, those are the verified bytes read through the pinned model folder, never
the file on disk by path (see :mod:`mlcask.pyfunc.code_import`). The file hands its model
over with :func:`mlcask.models.set_model`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import types
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.models.from_code import running_code

CODE_MODEL_LOADER = "mlflow.pyfunc.loaders.code_model"


def code_file_path(python_model: str | os.PathLike) -> Path:
    """The absolute path of the code file given as ``python_model``, with MLflow's error."""
    path = Path(python_model).resolve()
    if not path.is_file():
        hint = f" Perhaps you meant '{path}.py'?" if not path.suffix else ""
        raise InvalidArgumentError(f"The provided model path '{path}' does not exist. Ensure the file path is valid "
                                   f"and try again.{hint}")
    return path


class _MlflowAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``mlflow`` and ``mlflow.<x>`` as ``mlcask`` and ``mlcask.<x>``."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "mlflow" and not fullname.startswith("mlflow."):
            return None
        try:
            found = importlib.util.find_spec("mlcask" + fullname[len("mlflow"):])
        except ImportError:
            return None
        return importlib.util.spec_from_loader(fullname, self) if found is not None else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return importlib.import_module("mlcask" + spec.name[len("mlflow"):])

    def exec_module(self, module: types.ModuleType) -> None:
        """The mlcask module is imported already."""


@contextmanager
def mlflow_alias() -> Iterator[None]:
    """While a code file runs without MLflow installed, its ``import mlflow`` gets mlcask
    (the promise: code written for MLflow runs with mlcask), and nothing else is changed after."""
    if "mlflow" in sys.modules or importlib.util.find_spec("mlflow") is not None:
        yield
        return
    finder = _MlflowAlias()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "mlflow" or n.startswith("mlflow.")]:
            if getattr(sys.modules[name], "__name__", "").startswith("mlcask"):
                del sys.modules[name]


def run_code_file(source: bytes, filename: str, config: dict[str, Any] | None) -> Any:
    """Run the code ``source`` (shown as ``filename`` in tracebacks); return the model it set."""
    name = f"code_model_{uuid.uuid4().hex}"
    module = types.ModuleType(name)
    module.__file__ = filename
    with running_code(config) as found, mlflow_alias():
        sys.modules[name] = module
        try:
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)  # noqa: S102 (trusted: see callers)
        except ImportError as exc:
            raise MlcaskException(f"Failed to import code model from {filename}. Error: {exc!s}") from exc
        except Exception as exc:
            raise MlcaskException(f"Failed to run user code from {filename}. Error: {exc!s}. Review the stack trace "
                                  "for more information.") from exc
    if not found:
        raise MlcaskException("If the model is logged as code, ensure the model is set using "
                              "mlflow.models.set_model() within the code file code file.")
    return found[0]


def check_function_model(python_model: Any) -> None:
    """A callable ``python_model`` must take exactly one argument (MLflow's rule and message)."""
    from mlcask.pyfunc.custom_model import PythonModel

    if isinstance(python_model, PythonModel) or callable(getattr(python_model, "predict", None)):
        return
    if not callable(python_model):
        raise InvalidArgumentError("`python_model` must be a PythonModel instance, callable object, or path to a "
                                   "script that uses set_model() to set a PythonModel instance or callable object.")
    count = len(inspect.signature(python_model).parameters)
    if count != 1:
        raise InvalidArgumentError("When `python_model` is a callable object, it must accept exactly one argument. "
                                   f"Found {count} arguments.")
