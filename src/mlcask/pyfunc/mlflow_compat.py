"""Reading custom-model pickles written by MLflow, without MLflow installed.

An MLflow 3.x ``python_model.pkl`` refers by name to a few MLflow objects: the
``PythonModel`` base class, the ``_TypeHints`` record it keeps on the instance, and
the pieces of the wrapper MLflow puts around every ``predict`` (``FuncInfo``,
``_validate_model_input``, ``MlflowException``). The unpickler here maps those
names to small mlcask stand-ins. Any other ``mlflow.*`` name is imported from a real
MLflow if one is installed, and otherwise refused with an error naming it.
"""

from __future__ import annotations

import importlib
import pickle
from typing import Any, NamedTuple

from mlcask.exceptions import MlcaskException, ModelFormatError
from mlcask.pyfunc import custom_model
from mlcask.pyfunc.custom_model import FunctionPythonModel, PythonModel, PythonModelContext


class TypeHints:
    """Stand-in for ``mlflow.models.signature._TypeHints`` (what MLflow stores on a model)."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output


class FuncInfo(NamedTuple):
    """Stand-in for MLflow's record of a type-hinted ``predict``'s input."""

    input_type_hint: Any
    input_param_name: str


def _convert_to_type_hint(data: Any, type_hint: Any) -> Any:
    """The common conversions MLflow's wrapper makes: a one-column table to ``list[...]``,
    a table to ``list[dict]``."""
    import typing

    import pandas as pd

    if typing.get_origin(type_hint) is list and isinstance(data, pd.DataFrame):
        if data.shape[1] == 1:
            return data.iloc[:, 0].tolist()
        (item,) = typing.get_args(type_hint) or (Any,)
        if typing.get_origin(item) is dict or item is dict:
            return data.to_dict(orient="records")
    if typing.get_origin(type_hint) is list and isinstance(data, pd.Series):
        return data.tolist()
    return data


def validate_model_input(args: tuple, kwargs: dict, model_input_index: int, type_hint: Any,
                         model_input_param_name: str) -> tuple[tuple, dict]:
    """Stand-in for MLflow's ``_validate_model_input``: convert the model input to its type hint."""
    if model_input_param_name in kwargs:
        kwargs[model_input_param_name] = _convert_to_type_hint(kwargs[model_input_param_name], type_hint)
    elif len(args) > model_input_index:
        converted = _convert_to_type_hint(args[model_input_index], type_hint)
        args = (*args[:model_input_index], converted, *args[model_input_index + 1:])
    return args, kwargs


def _mlcask_module_for(name: str) -> Any:
    return custom_model if name == "mlflow.pyfunc.model" else importlib.import_module(name)


def stand_ins() -> dict[tuple[str, str], Any]:
    return {
        ("mlflow.pyfunc.model", "PythonModel"): PythonModel,
        ("mlflow.pyfunc", "PythonModel"): PythonModel,
        ("mlflow.pyfunc.model", "PythonModelContext"): PythonModelContext,
        ("mlflow.pyfunc", "PythonModelContext"): PythonModelContext,
        ("mlflow.pyfunc.model", "_FunctionPythonModel"): FunctionPythonModel,
        ("mlflow.models.signature", "_TypeHints"): TypeHints,
        ("mlflow.pyfunc.utils.data_validation", "FuncInfo"): FuncInfo,
        ("mlflow.pyfunc.utils.data_validation", "_validate_model_input"): validate_model_input,
        ("mlflow.exceptions", "MlflowException"): MlcaskException,
        # mlcask's own pickles name MLflow's module through importlib (see python_model.py).
        ("importlib", "import_module"): _mlcask_module_for,
    }


class MlflowCompatibleUnpickler(pickle.Unpickler):
    """An unpickler that reads MLflow's and mlcask's custom-model pickles alike."""

    _table: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if MlflowCompatibleUnpickler._table is None:
            MlflowCompatibleUnpickler._table = stand_ins()
        found = MlflowCompatibleUnpickler._table.get((module, name))
        if found is not None:
            return found
        if module == "mlflow" or module.startswith("mlflow."):
            try:
                return super().find_class(module, name)
            except ImportError:
                raise ModelFormatError(
                    f"This model's pickle needs MLflow's '{module}.{name}', which mlcask does not "
                    "provide; install mlflow to load it."
                ) from None
        return super().find_class(module, name)
